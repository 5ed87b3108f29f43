package provision

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/iotstack/iotstack/stack"
)

// EKS is what an eksctl ClusterConfig is made from.
type EKS struct {
	// Name is the EKS cluster's name (eksctl: a letter, then letters,
	// digits and hyphens, at most 100 characters).
	Name string
	// Region is the AWS region; empty derives it from the zones.
	Region string
	// Version is the Kubernetes minor version ("1.33").
	Version string
	// Topology gives the zones and the pools, one managed node group each.
	Topology stack.Topology
	// MaxPodsPerNode caps the pods of every node (0: eksctl's default).
	MaxPodsPerNode int
	// VolumeSize is every node's gp3 root volume in GiB (0: eksctl's
	// default).
	VolumeSize int
	// Sysctls are written to the nodes' /etc/sysctl.d before they join.
	Sysctls map[string]string
	// FileLimit is the nofile and nproc limit written to the nodes'
	// /etc/security/limits.d (0: none).
	FileLimit int64
	// ConntrackMin is the kube-proxy conntrack.min the rendered file tells
	// to set after creation (0: none); see the package doc.
	ConntrackMin int
}

// EKSAPIVersion and EKSKind identify eksctl's ClusterConfig
// (pkg/apis/eksctl.io/v1alpha5/register.go, eksctl v0.215.0).
const (
	EKSAPIVersion = "eksctl.io/v1alpha5"
	EKSKind       = "ClusterConfig"
)

// EKSVersions are the Kubernetes versions eksctl v0.215.0 creates EKS
// clusters with (pkg/apis/eksctl.io/v1alpha5/types.go: Version1_23 ...
// Version1_33; EKS itself supports a window of these).
var EKSVersions = []string{"1.23", "1.24", "1.25", "1.26", "1.27", "1.28", "1.29", "1.30", "1.31", "1.32", "1.33"}

// The rendered types mirror the fields of eksctl v0.215.0's v1alpha5 types
// (pkg/apis/eksctl.io/v1alpha5: types.go ClusterConfig, ClusterMeta,
// NodeGroupBase, ManagedNodeGroup, NodeGroupTaint; iam.go ClusterIAM,
// ClusterIAMServiceAccount, ClusterIAMMeta; addon.go Addon;
// well_known_iam_policy.go WellKnownPolicies), json names and all, and
// only the fields rendered here.
type eksConfig struct {
	APIVersion        string         `json:"apiVersion"`
	Kind              string         `json:"kind"`
	Metadata          eksMeta        `json:"metadata"`
	AvailabilityZones []string       `json:"availabilityZones"`
	IAM               eksIAM         `json:"iam"`
	Addons            []eksAddon     `json:"addons"`
	ManagedNodeGroups []eksNodeGroup `json:"managedNodeGroups"`
}

type eksMeta struct {
	Name    string `json:"name"`
	Region  string `json:"region"`
	Version string `json:"version"`
}

type eksIAM struct {
	WithOIDC        bool                `json:"withOIDC"`
	ServiceAccounts []eksServiceAccount `json:"serviceAccounts"`
}

type eksServiceAccount struct {
	Metadata          eksIAMMeta           `json:"metadata"`
	WellKnownPolicies eksWellKnownPolicies `json:"wellKnownPolicies"`
}

type eksIAMMeta struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
}

type eksWellKnownPolicies struct {
	AWSLoadBalancerController bool `json:"awsLoadBalancerController,omitempty"`
	EBSCSIController          bool `json:"ebsCSIController,omitempty"`
}

type eksAddon struct {
	Name              string               `json:"name"`
	WellKnownPolicies eksWellKnownPolicies `json:"wellKnownPolicies"`
}

type eksNodeGroup struct {
	Name                 string            `json:"name"`
	AMIFamily            string            `json:"amiFamily"`
	InstanceType         string            `json:"instanceType"`
	AvailabilityZones    []string          `json:"availabilityZones"`
	DesiredCapacity      int               `json:"desiredCapacity"`
	MinSize              int               `json:"minSize"`
	MaxSize              int               `json:"maxSize"`
	VolumeSize           *int              `json:"volumeSize,omitempty"`
	VolumeType           string            `json:"volumeType"`
	MaxPodsPerNode       int               `json:"maxPodsPerNode,omitempty"`
	Labels               map[string]string `json:"labels,omitempty"`
	Taints               []eksTaint        `json:"taints,omitempty"`
	PreBootstrapCommands []string          `json:"preBootstrapCommands,omitempty"`
}

type eksTaint struct {
	Key    string `json:"key"`
	Value  string `json:"value,omitempty"`
	Effect string `json:"effect"`
}

// awsZone is an AWS availability zone name: its region and a letter
// (eu-west-1a; us-gov-west-1b).
var awsZone = regexp.MustCompile(`^([a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-[0-9]+)[a-z]$`)

// eksName is eksctl's name rule (pkg/apis/eksctl.io/v1alpha5
// validation.go ErrInvalidName, v0.215.0: "[a-zA-Z][-a-zA-Z0-9]*"); the
// 100-character bound is EKS's cluster name limit, not checked here
// against AWS.
var eksName = regexp.MustCompile(`^[a-zA-Z][-a-zA-Z0-9]*$`)

// sysctlKey and sysctlValue keep the sysctls safe to write from a shell
// command line: dotted names, plain values.
var (
	sysctlKey   = regexp.MustCompile(`^[a-z0-9_]+(\.[a-z0-9_-]+)+$`)
	sysctlValue = regexp.MustCompile(`^[0-9A-Za-z_.-]+( [0-9A-Za-z_.-]+)*$`)
)

// AWSRegion returns the AWS region of zones named as AWS names them
// (eu-west-1a → eu-west-1). The error names the first zone that is no AWS
// zone name or that lies in another region than the first.
func AWSRegion(zones []string) (string, error) {
	region := ""
	for i, z := range zones {
		m := awsZone.FindStringSubmatch(z)
		if m == nil {
			return "", fieldErrorf(fmt.Sprintf("topology.zones[%d]", i), z, "not an AWS availability zone name (region and letter, as eu-west-1a)")
		}
		if region == "" {
			region = m[1]
		} else if m[1] != region {
			return "", fieldErrorf(fmt.Sprintf("topology.zones[%d]", i), z, "in region %s, but topology.zones[0] is in %s; an EKS cluster lives in one region", m[1], region)
		}
	}
	if region == "" {
		return "", fieldErrorf("topology.zones", nil, "empty; an EKS cluster needs at least one zone")
	}
	return region, nil
}

// CheckSysctls checks sysctl names and values (path is the values path in
// errors).
func CheckSysctls(path string, sysctls map[string]string) error {
	for _, k := range slices.Sorted(maps.Keys(sysctls)) {
		if !sysctlKey.MatchString(k) {
			return fieldErrorf(path, k, "a key that is not a sysctl name (lower-case words joined by dots, as fs.file-max)")
		}
		if v := sysctls[k]; !sysctlValue.MatchString(v) {
			return fieldErrorf(path+"."+k, v, "allowed: letters, digits, '_', '.', '-', words separated by single spaces")
		}
	}
	return nil
}

// Check validates e, each error naming the values path, the value and
// what is allowed.
func (e EKS) Check() error {
	if len(e.Name) > 100 || !eksName.MatchString(e.Name) {
		return fieldErrorf("cluster.name", e.Name, "eksctl allows a letter, then letters, digits and hyphens, at most 100 characters")
	}
	if !slices.Contains(EKSVersions, e.Version) {
		return fieldErrorf("cluster.kubernetesVersion", e.Version, "eksctl v0.215.0 creates EKS clusters of %s", strings.Join(EKSVersions, ", "))
	}
	region, err := AWSRegion(e.Topology.Zones)
	if err != nil {
		if fe, ok := err.(*FieldError); ok {
			fe.Message += " (the EKS cluster's region comes from the zones)"
		}
		return err
	}
	if e.Region != "" && e.Region != region {
		return fieldErrorf("cluster.region", e.Region, "topology.zones (%s) are in %s; leave cluster.region empty or name the zones' region", strings.Join(e.Topology.Zones, ", "), region)
	}
	if e.MaxPodsPerNode < 0 || e.MaxPodsPerNode > 1000 {
		return fieldErrorf("cluster.maxPodsPerNode", e.MaxPodsPerNode, "allowed 0 (eksctl's default) to 1000")
	}
	if e.VolumeSize < 0 || e.VolumeSize > 16384 {
		return fieldErrorf("cluster.volumeSize", e.VolumeSize, "allowed 0 (eksctl's default, %d GiB) to 16384 GiB", eksDefaultVolumeSize)
	}
	if e.FileLimit < 0 {
		return fieldErrorf("cluster.fileLimit", e.FileLimit, "allowed 0 (none) or more")
	}
	if e.ConntrackMin < 0 {
		return fieldErrorf("cluster.conntrackMin", e.ConntrackMin, "allowed 0 (none) or more")
	}
	if err := CheckSysctls("cluster.sysctls", e.Sysctls); err != nil {
		return err
	}
	for i, p := range e.Topology.Pools {
		if p.InstanceType == "" {
			return fieldErrorf(fmt.Sprintf("topology.pools[%d].instanceType", i), nil, "empty (pool %s); an EKS node group needs an EC2 instance type (r7g.xlarge)", p.Name)
		}
	}
	return e.Topology.Validate()
}

// eksDefaultVolumeSize is eksctl's root volume size in GiB
// (pkg/apis/eksctl.io/v1alpha5/types.go DefaultNodeVolumeSize, v0.215.0).
const eksDefaultVolumeSize = 80

// EKSClusterConfig renders the eksctl ClusterConfig of e: YAML for
// `eksctl create cluster -f`, deterministic.
func EKSClusterConfig(e EKS) ([]byte, error) {
	if err := e.Check(); err != nil {
		return nil, err
	}
	region, _ := AWSRegion(e.Topology.Zones)
	cfg := eksConfig{
		APIVersion:        EKSAPIVersion,
		Kind:              EKSKind,
		Metadata:          eksMeta{Name: e.Name, Region: region, Version: e.Version},
		AvailabilityZones: append([]string(nil), e.Topology.Zones...),
		// The article creates the OIDC provider and both IAM service
		// accounts by hand (eksctl utils associate-iam-oidc-provider,
		// eksctl create iamserviceaccount); here eksctl does it at
		// creation. The EBS CSI driver runs as the EKS add-on with
		// eksctl's well-known policy instead of the article's Helm chart.
		IAM: eksIAM{WithOIDC: true, ServiceAccounts: []eksServiceAccount{{
			Metadata:          eksIAMMeta{Name: "aws-load-balancer-controller", Namespace: "kube-system"},
			WellKnownPolicies: eksWellKnownPolicies{AWSLoadBalancerController: true},
		}}},
		Addons: []eksAddon{{Name: "aws-ebs-csi-driver", WellKnownPolicies: eksWellKnownPolicies{EBSCSIController: true}}},
	}
	boot := preBootstrap(e.Sysctls, e.FileLimit)
	for _, p := range e.Topology.Pools {
		n := p.Nodes(e.Topology)
		ng := eksNodeGroup{
			Name: p.Name,
			// Amazon Linux 2 ends with Kubernetes 1.33 in eksctl
			// (types.go AmazonLinux2EOLVersion); AL2023 runs the
			// preBootstrapCommands too (validation.go rejects them only
			// for Bottlerocket and Windows).
			AMIFamily:            "AmazonLinux2023",
			InstanceType:         p.InstanceType,
			AvailabilityZones:    append([]string(nil), e.Topology.Zones...),
			DesiredCapacity:      n,
			MinSize:              n,
			MaxSize:              n,
			VolumeType:           "gp3",
			MaxPodsPerNode:       e.MaxPodsPerNode,
			Labels:               maps.Clone(p.Labels),
			PreBootstrapCommands: boot,
		}
		if e.VolumeSize > 0 {
			size := e.VolumeSize
			ng.VolumeSize = &size
		}
		for _, t := range p.Taints {
			ng.Taints = append(ng.Taints, eksTaint{Key: t.Key, Value: t.Value, Effect: string(t.Effect)})
		}
		cfg.ManagedNodeGroups = append(cfg.ManagedNodeGroups, ng)
	}
	body, err := marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("eksctl: %w", err)
	}
	var b strings.Builder
	b.WriteString("# Generated by iotstack from the profile's topology and cluster values. DO NOT EDIT:\n")
	b.WriteString("# change the values and synthesize again.\n")
	b.WriteString("#\n# eksctl create cluster -f eksctl.yaml\n#\n")
	b.WriteString("# One managed node group per topology pool, spread over the zones (the node group's\n")
	b.WriteString("# Auto Scaling group balances its nodes across them), as the ThingsBoard article\n")
	b.WriteString("# (\"ThingsBoard k8s cluster - minimal design\") creates its cluster.\n")
	b.WriteString("# After creation, install the AWS Load Balancer Controller's Helm chart with the service\n")
	fmt.Fprintf(&b, "# account created here (helm install ... --set clusterName=%s --set serviceAccount.create=false\n", e.Name)
	b.WriteString("# --set serviceAccount.name=aws-load-balancer-controller).\n")
	if e.ConntrackMin > 0 {
		b.WriteString("#\n# kube-proxy conntrack, as the article sets it after creation (the EKS kube-proxy add-on\n")
		b.WriteString("# cannot be configured with it, and kube-proxy overrides a node sysctl):\n")
		b.WriteString("#   kubectl edit -n kube-system configmap/kube-proxy-config\n")
		fmt.Fprintf(&b, "#     conntrack:\n#       min: %d\n", e.ConntrackMin)
		b.WriteString("#   kubectl rollout restart -n kube-system daemonset kube-proxy\n")
	}
	b.Write(body)
	if err := CheckEKSClusterConfig([]byte(b.String())); err != nil {
		return nil, err
	}
	return []byte(b.String()), nil
}

// preBootstrap are the commands that tune a node before it joins, the
// article's preBootstrapCommands as drop-in files: the sysctls into
// /etc/sysctl.d (loaded at boot and now with sysctl --system) and the
// nofile and nproc limits into /etc/security/limits.d, for every user and
// root as the article sets them. eksctl makes each command a #!/bin/bash
// script of the instance's user data (pkg/nodebootstrap/al2023.go, eksctl
// v0.215.0); they write through sudo, as the article's do, so they work
// whichever user runs them.
func preBootstrap(sysctls map[string]string, fileLimit int64) []string {
	var cmds []string
	if len(sysctls) > 0 {
		var lines []string
		for _, k := range slices.Sorted(maps.Keys(sysctls)) {
			lines = append(lines, fmt.Sprintf("'%s = %s'", k, sysctls[k]))
		}
		cmds = append(cmds,
			"printf '%s\\n' "+strings.Join(lines, " ")+" | sudo tee /etc/sysctl.d/90-iotstack.conf",
			"sudo sysctl --system")
	}
	if fileLimit > 0 {
		n := strconv.FormatInt(fileLimit, 10)
		var lines []string
		for _, who := range []string{"*", "root"} {
			for _, item := range []string{"nofile", "nproc"} {
				for _, kind := range []string{"soft", "hard"} {
					lines = append(lines, fmt.Sprintf("'%s %s %s %s'", who, kind, item, n))
				}
			}
		}
		cmds = append(cmds, "printf '%s\\n' "+strings.Join(lines, " ")+" | sudo tee /etc/security/limits.d/90-iotstack.conf")
	}
	return cmds
}
