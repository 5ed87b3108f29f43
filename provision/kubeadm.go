package provision

import (
	"fmt"
	"maps"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/iotstack/iotstack/stack"
)

// Kubeadm is what a kubeadm cluster configuration is made from.
type Kubeadm struct {
	// Name is the cluster's name (ClusterConfiguration.clusterName).
	Name string
	// Version is the Kubernetes version ("1.34.2"), at least 1.31: the
	// first kubeadm that reads v1beta4 (v1beta4/doc.go, Kubernetes
	// v1.34.2).
	Version string
	// ControlPlaneEndpoint is the API server's address, host:port, the
	// control plane's and the joining nodes'.
	ControlPlaneEndpoint string
	// Topology gives the node groups: one JoinConfiguration per pool
	// and zone.
	Topology stack.Topology
}

// KubeadmAPIVersion is kubeadm's configuration API the files use
// (cmd/kubeadm/app/apis/kubeadm/v1beta4/register.go, Kubernetes v1.34.2).
const KubeadmAPIVersion = "kubeadm.k8s.io/v1beta4"

// The rendered types mirror the v1beta4 fields used here
// (cmd/kubeadm/app/apis/kubeadm/v1beta4/types.go, Kubernetes v1.34.2:
// InitConfiguration, ClusterConfiguration, JoinConfiguration,
// NodeRegistrationOptions, Arg, Discovery, BootstrapTokenDiscovery); the
// strict decode test in test/tools/kubernetes/kubeadmcheck reads the
// files with kubeadm's own types.
type kubeadmInit struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
}

type kubeadmCluster struct {
	APIVersion           string `json:"apiVersion"`
	Kind                 string `json:"kind"`
	ClusterName          string `json:"clusterName"`
	KubernetesVersion    string `json:"kubernetesVersion"`
	ControlPlaneEndpoint string `json:"controlPlaneEndpoint"`
}

type kubeadmJoin struct {
	APIVersion       string              `json:"apiVersion"`
	Kind             string              `json:"kind"`
	NodeRegistration kubeadmRegistration `json:"nodeRegistration"`
	Discovery        kubeadmDiscovery    `json:"discovery"`
}

type kubeadmRegistration struct {
	// Taints is nil (kubeadm's default: none on a worker) or the pool's.
	Taints           []kubeadmTaint `json:"taints,omitempty"`
	KubeletExtraArgs []kubeadmArg   `json:"kubeletExtraArgs"`
}

type kubeadmTaint struct {
	Key    string `json:"key"`
	Value  string `json:"value,omitempty"`
	Effect string `json:"effect"`
}

type kubeadmArg struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type kubeadmDiscovery struct {
	BootstrapToken kubeadmBootstrapToken `json:"bootstrapToken"`
}

type kubeadmBootstrapToken struct {
	Token             string   `json:"token"`
	APIServerEndpoint string   `json:"apiServerEndpoint"`
	CACertHashes      []string `json:"caCertHashes"`
}

// kubeVersion is a Kubernetes release, major.minor.patch.
var kubeVersion = regexp.MustCompile(`^1\.([0-9]+)\.[0-9]+$`)

// Check validates k, each error naming the values path, the value and
// what is allowed.
func (k Kubeadm) Check() error {
	if k.Name == "" || len(k.Name) > 63 || strings.ContainsAny(k.Name, " \t\n\"'$") {
		return fieldErrorf("cluster.name", k.Name, "allowed: 1 to 63 characters without spaces, quotes or '$'")
	}
	m := kubeVersion.FindStringSubmatch(k.Version)
	if m == nil {
		return fieldErrorf("cluster.kubernetesVersion", k.Version, "kubeadm needs a release, major.minor.patch (1.34.2)")
	}
	if minor, _ := strconv.Atoi(m[1]); minor < 31 {
		return fieldErrorf("cluster.kubernetesVersion", k.Version, "the kubeadm.k8s.io/v1beta4 configuration needs 1.31 or later")
	}
	host, port, err := net.SplitHostPort(k.ControlPlaneEndpoint)
	if err != nil || host == "" || port == "" || strings.ContainsAny(host, " \t\n\"'$") {
		return fieldErrorf("cluster.controlPlaneEndpoint", k.ControlPlaneEndpoint, "allowed: host:port (192.0.2.10:6443, k8s.example.org:6443)")
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return fieldErrorf("cluster.controlPlaneEndpoint", k.ControlPlaneEndpoint, "the port must be 1-65535")
	}
	if err := k.Topology.Validate(); err != nil {
		return err
	}
	for i, p := range k.Topology.Pools {
		for _, key := range slices.Sorted(maps.Keys(p.Labels)) {
			if !kubeletMaySet(key) {
				return fieldErrorf(fmt.Sprintf("topology.pools[%d].labels", i), key, "pool %s: a kubelet may not set labels in the kubernetes.io and k8s.io namespaces other than its well-known ones and node.kubernetes.io/, kubelet.kubernetes.io/ (k8s.io/kubelet v0.34.2 pkg/apis/well_known_labels.go), so kubeadm join could not register it; use another prefix", p.Name)
			}
		}
	}
	return nil
}

// kubeletLabels are the kubernetes.io labels a kubelet may set on its own
// node, and kubeletLabelNamespaces the namespaces (with their
// subdomains): k8s.io/kubelet v0.34.2 pkg/apis/well_known_labels.go. The
// zone label the join configurations set is one of them.
var (
	kubeletLabels = []string{"kubernetes.io/hostname", "topology.kubernetes.io/zone", "topology.kubernetes.io/region",
		"failure-domain.beta.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/region",
		"beta.kubernetes.io/instance-type", "node.kubernetes.io/instance-type", "kubernetes.io/os", "kubernetes.io/arch",
		"beta.kubernetes.io/os", "beta.kubernetes.io/arch"}
	kubeletLabelNamespaces = []string{"kubelet.kubernetes.io", "node.kubernetes.io"}
)

// kubeletMaySet reports whether a kubelet may register its node with the
// label key (--node-labels).
func kubeletMaySet(key string) bool {
	ns, _, ok := strings.Cut(key, "/")
	if !ok {
		return true
	}
	if slices.Contains(kubeletLabels, key) {
		return true
	}
	for _, allowed := range kubeletLabelNamespaces {
		if ns == allowed || strings.HasSuffix(ns, "."+allowed) {
			return true
		}
	}
	restricted := ns == "kubernetes.io" || strings.HasSuffix(ns, ".kubernetes.io") || ns == "k8s.io" || strings.HasSuffix(ns, ".k8s.io")
	return !restricted
}

// JoinFile names a node group's join configuration: join-<pool>.yaml,
// join-<pool>-<zone>.yaml with more than one zone.
func JoinFile(t stack.Topology, pool, zone string) string {
	if len(t.Zones) > 1 {
		return "join-" + pool + "-" + zone + ".yaml"
	}
	return "join-" + pool + ".yaml"
}

// KubeadmFiles renders the kubeadm configuration of k: kubeadm.yaml (the
// InitConfiguration and ClusterConfiguration of `kubeadm init --config`)
// and one JoinConfiguration per pool and zone (JoinFile) for `kubeadm join
// --config`, registering the nodes with the labels that place workloads
// on them (stack.Host.Labels, as kind's nodes and the simulated cluster's)
// and the pool's taints. Names are relative to the cluster directory.
func KubeadmFiles(k Kubeadm) ([]stack.File, error) {
	if err := k.Check(); err != nil {
		return nil, err
	}
	var files []stack.File
	initDoc, err := marshal(kubeadmInit{APIVersion: KubeadmAPIVersion, Kind: "InitConfiguration"})
	if err != nil {
		return nil, fmt.Errorf("kubeadm: %w", err)
	}
	clusterDoc, err := marshal(kubeadmCluster{APIVersion: KubeadmAPIVersion, Kind: "ClusterConfiguration",
		ClusterName: k.Name, KubernetesVersion: "v" + k.Version, ControlPlaneEndpoint: k.ControlPlaneEndpoint})
	if err != nil {
		return nil, fmt.Errorf("kubeadm: %w", err)
	}
	var b strings.Builder
	b.WriteString(kubeadmHeader)
	b.WriteString("#\n# On the control-plane node: kubeadm init --config kubeadm.yaml\n")
	b.WriteString("# then install a pod network, and join the node groups with their join-*.yaml.\n---\n")
	b.Write(initDoc)
	b.WriteString("---\n")
	b.Write(clusterDoc)
	files = append(files, stack.File{Name: "kubeadm.yaml", Data: []byte(b.String())})

	seen := map[string]bool{}
	for _, h := range k.Topology.Hosts() {
		name := JoinFile(k.Topology, h.Pool.Name, h.Zone)
		if seen[name] {
			continue
		}
		seen[name] = true
		labels := h.Labels()
		var pairs []string
		for _, key := range slices.Sorted(maps.Keys(labels)) {
			pairs = append(pairs, key+"="+labels[key])
		}
		join := kubeadmJoin{APIVersion: KubeadmAPIVersion, Kind: "JoinConfiguration",
			NodeRegistration: kubeadmRegistration{KubeletExtraArgs: []kubeadmArg{{Name: "node-labels", Value: strings.Join(pairs, ",")}}},
			Discovery: kubeadmDiscovery{BootstrapToken: kubeadmBootstrapToken{
				Token: "${KUBEADM_TOKEN}", APIServerEndpoint: k.ControlPlaneEndpoint, CACertHashes: []string{"${KUBEADM_CA_CERT_HASH}"}}},
		}
		for _, t := range h.Pool.Taints {
			join.NodeRegistration.Taints = append(join.NodeRegistration.Taints, kubeadmTaint{Key: t.Key, Value: t.Value, Effect: string(t.Effect)})
		}
		doc, err := marshal(join)
		if err != nil {
			return nil, fmt.Errorf("kubeadm: %w", err)
		}
		var jb strings.Builder
		jb.WriteString(kubeadmHeader)
		fmt.Fprintf(&jb, "#\n# On each node of pool %s in zone %s (%d node(s)), with the token and CA hash that\n", h.Pool.Name, h.Zone, h.Pool.NodesPerZone)
		jb.WriteString("# `kubeadm token create --print-join-command` prints on the control plane:\n")
		fmt.Fprintf(&jb, "#   KUBEADM_TOKEN=... KUBEADM_CA_CERT_HASH=sha256:... envsubst < %s > join.yaml\n", name)
		jb.WriteString("#   kubeadm join --config join.yaml\n---\n")
		jb.Write(doc)
		files = append(files, stack.File{Name: name, Data: []byte(jb.String())})
	}
	return files, nil
}

const kubeadmHeader = "# Generated by iotstack from the profile's topology and cluster values. DO NOT EDIT:\n" +
	"# change the values and synthesize again. kubeadm configuration (kubeadm.k8s.io/v1beta4) for the\n" +
	"# dojot v0.5.0 installation guide's kubeadm cluster, its node groups labelled as the guide labels them.\n"
