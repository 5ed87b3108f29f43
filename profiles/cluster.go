package profiles

import (
	"errors"
	"fmt"
	"maps"

	"github.com/iotstack/iotstack/provision"
	"github.com/iotstack/iotstack/stack"
	"github.com/iotstack/iotstack/values"
)

// ClusterDir is the directory of dist/<profile>/ that holds the cluster's
// provisioning configuration (package provision).
const ClusterDir = "cluster"

// Cluster is the cluster beneath the stack, rendered from the topology
// into dist/<profile>/cluster/: an eksctl ClusterConfig for
// topology.loadBalancer aws (minimal-3az), kubeadm configuration and a
// node preparation script for dojot's bare-metal cluster (small, 100k).
type Cluster struct {
	// Name is the cluster's name: the EKS cluster's (a letter, then
	// letters, digits and hyphens) or kubeadm's clusterName.
	Name string `json:"name"`
	// Region is the AWS region of an EKS cluster; empty derives it from
	// topology.zones, which an EKS cluster needs as AWS zone names
	// (eu-west-1a → eu-west-1); a region other than the zones' is
	// refused.
	Region string `json:"region"`
	// KubernetesVersion is the cluster's Kubernetes version: a minor
	// version eksctl creates for EKS ("1.33"), a release at least 1.31 for
	// kubeadm ("1.34.2").
	KubernetesVersion string `json:"kubernetesVersion"`
	// ControlPlaneEndpoint is the kubeadm API server's host:port, where
	// the nodes join (the default is a documentation address to replace).
	ControlPlaneEndpoint string `json:"controlPlaneEndpoint"`
	// MaxPodsPerNode caps the pods per EKS node; 0 leaves eksctl's
	// default.
	MaxPodsPerNode int `json:"maxPodsPerNode" min:"0" max:"1000"`
	// VolumeSize is every EKS node's gp3 root volume in GiB; 0 leaves
	// eksctl's default (80).
	VolumeSize int `json:"volumeSize" min:"0" max:"16384"`
	// Sysctls are the nodes' kernel settings, written to
	// /etc/sysctl.d/90-iotstack.conf before a node joins (EKS) or by the
	// node script (kubeadm). The ThingsBoard article's tuned node group
	// adds vm.max_map_count 4194304, net.core.netdev_max_backlog 5000 and
	// net.ipv4.tcp_rmem / tcp_wmem "32768 1048576 18874368".
	Sysctls map[string]string `json:"sysctls"`
	// FileLimit is the nofile and nproc limit of every user and root on
	// the EKS nodes (/etc/security/limits.d); 0 sets none.
	FileLimit int64 `json:"fileLimit" min:"0"`
	// ConntrackMin is kube-proxy's conntrack.min, which the eksctl file
	// tells to set after creation (EKS's kube-proxy add-on cannot take
	// it); 0 leaves kube-proxy's default.
	ConntrackMin int `json:"conntrackMin" min:"0"`
}

// clusterKind is how a profile provisions its cluster.
type clusterKind int

const (
	clusterNone clusterKind = iota
	clusterEKS
	clusterKubeadm
)

// clusterSpec is what the profile's build hands SynthBuilt for the
// cluster files, which need the rendered objects.
type clusterSpec struct {
	kind    clusterKind
	profile string
	common  Common
	// lbSysctls is the load balancer host's sysctl file (100k's HAProxy).
	lbSysctls, lbSysctlsFile string
}

// kindOf says how a profile with these values provisions its cluster:
// EKS for loadBalancer aws, kubeadm for dojot's profiles, else none (a
// generic minimal-3az runs on a cluster the user has, kind in mage e2e).
func kindOf(profile string, c *Common) clusterKind {
	switch {
	case profile == Small || profile == Hundred:
		return clusterKubeadm
	case c.Topology.LoadBalancer == "aws":
		return clusterEKS
	}
	return clusterNone
}

func (c Common) eks() provision.EKS {
	return provision.EKS{Name: c.Cluster.Name, Region: c.Cluster.Region, Version: c.Cluster.KubernetesVersion,
		Topology: c.Topology.Stack(), MaxPodsPerNode: c.Cluster.MaxPodsPerNode, VolumeSize: c.Cluster.VolumeSize,
		Sysctls: maps.Clone(c.Cluster.Sysctls), FileLimit: c.Cluster.FileLimit, ConntrackMin: c.Cluster.ConntrackMin}
}

func (c Common) kubeadm() provision.Kubeadm {
	return provision.Kubeadm{Name: c.Cluster.Name, Version: c.Cluster.KubernetesVersion,
		ControlPlaneEndpoint: c.Cluster.ControlPlaneEndpoint, Topology: c.Topology.Stack()}
}

// validateCluster checks the cluster values the profile renders with.
func validateCluster(kind clusterKind, c *Common) []values.FieldError {
	var err error
	switch kind {
	case clusterEKS:
		err = c.eks().Check()
	case clusterKubeadm:
		if err = c.kubeadm().Check(); err == nil {
			err = provision.CheckSysctls("cluster.sysctls", c.Cluster.Sysctls)
		}
	}
	// Other errors are the topology's own, which Common.Validate reports.
	if fe := (*provision.FieldError)(nil); errors.As(err, &fe) {
		return []values.FieldError{values.Errorf(fe.Path, fe.Value, "%s", fe.Message)}
	}
	return nil
}

// clusterFiles renders the cluster directory's files from the values
// and every rendered object of the profile.
func clusterFiles(spec *clusterSpec, objects []stack.Rendered) ([]stack.File, error) {
	var files []stack.File
	switch spec.kind {
	case clusterEKS:
		data, err := provision.EKSClusterConfig(spec.common.eks())
		if err != nil {
			return nil, err
		}
		files = append(files, stack.File{Name: "eksctl.yaml", Data: data})
	case clusterKubeadm:
		kf, err := provision.KubeadmFiles(spec.common.kubeadm())
		if err != nil {
			return nil, err
		}
		files = append(files, kf...)
		script, err := provision.PrepareNodeScript(provision.Prepare{
			Profile: spec.profile, Topology: spec.common.Topology.Stack(), Objects: objects,
			Sysctls: spec.common.Cluster.Sysctls, LoadBalancerSysctls: spec.lbSysctls, LoadBalancerSysctlsFile: spec.lbSysctlsFile,
		})
		if err != nil {
			return nil, err
		}
		files = append(files, stack.File{Name: "prepare-node.sh", Data: script})
	}
	for i := range files {
		files[i].Name = ClusterDir + "/" + files[i].Name
	}
	return files, nil
}

// haproxySysctlsFile is the name dojot's HAProxy sysctl file asks to be
// installed as (dojot.SysctlConfig).
const haproxySysctlsFile = "90-dojot-haproxy.conf"

// clusterError wraps a cluster rendering error with the profile's name.
func clusterError(name string, err error) error {
	return fmt.Errorf("profile %s: %s/: %w", name, ClusterDir, err)
}

// minimal3AZCluster is the EKS cluster of the ThingsBoard article: its
// cluster name, maxPodsPerNode 32 and 32 GiB gp3 root volumes, the
// preBootstrapCommands' fs.file-max and fs.nr_open and the nofile and
// nproc limits of 16777216, and kube-proxy's conntrack.min 16777216. The
// article ran Kubernetes 1.25; the default is 1.33, the newest eksctl
// v0.215.0 knows (1.25 is out of EKS's standard support).
func minimal3AZCluster() Cluster {
	return Cluster{Name: "tb-basic", KubernetesVersion: "1.33", MaxPodsPerNode: 32, VolumeSize: 32,
		Sysctls:   map[string]string{"fs.file-max": "16777216", "fs.nr_open": "16777216"},
		FileLimit: 16777216, ConntrackMin: 16777216}
}

// dojotCluster is the guide's kubeadm cluster. The guide installs
// Kubernetes 1.17 with kubeadm, whose configuration API (v1beta2) kubeadm
// no longer reads; the default is the release the simulated cluster runs
// (test/tools/kubernetes: k8s.io/kubernetes v1.34.2), with kubeadm's
// v1beta4 configuration. The control-plane endpoint is a documentation
// address (RFC 5737) to replace, as the load balancers' backends are.
func dojotCluster() Cluster {
	return Cluster{Name: "dojot", KubernetesVersion: "1.34.2", ControlPlaneEndpoint: "192.0.2.2:6443"}
}
