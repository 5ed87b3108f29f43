package provision

import (
	"context"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"

	"github.com/iotstack/iotstack/stack"
)

func testEKS() EKS {
	return EKS{Name: "tb-basic", Version: "1.33", MaxPodsPerNode: 32, VolumeSize: 32,
		Sysctls: map[string]string{"fs.file-max": "16777216"}, FileLimit: 16777216, ConntrackMin: 16777216,
		Topology: stack.Topology{Zones: []string{"us-east-1a", "us-east-1b"}, Pools: []stack.NodePool{
			{Name: "tb", InstanceType: "m7g.xlarge", Arch: "arm64", CPU: resource.MustParse("4"), Memory: resource.MustParse("16Gi"), NodesPerZone: 2, Labels: map[string]string{"role": "thingsboard"}},
			{Name: "client", InstanceType: "m7g.medium", Arch: "arm64", CPU: resource.MustParse("1"), Memory: resource.MustParse("4Gi"), NodesPerZone: 1, Labels: map[string]string{"role": "client"},
				Taints: []corev1.Taint{{Key: "dedicated", Value: "client", Effect: corev1.TaintEffectNoSchedule}}},
		}}}
}

func TestAWSRegion(t *testing.T) {
	for _, tc := range []struct {
		zones []string
		want  string
		err   string
	}{
		{zones: []string{"eu-west-1a", "eu-west-1b", "eu-west-1c"}, want: "eu-west-1"},
		{zones: []string{"us-gov-west-1a"}, want: "us-gov-west-1"},
		{zones: []string{"us-east-1a", "us-east-2b"}, err: `topology.zones[1]: "us-east-2b"; in region us-east-2, but topology.zones[0] is in us-east-1`},
		{zones: []string{"zone-a"}, err: `topology.zones[0]: "zone-a"; not an AWS availability zone name`},
		{zones: nil, err: "topology.zones: empty"},
	} {
		got, err := AWSRegion(tc.zones)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%v: err %v; want %q", tc.zones, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%v: %q, %v; want %q", tc.zones, got, err, tc.want)
		}
	}
}

// TestEKSClusterConfig checks the rendered file field by field: region
// from the zones, a node group per pool with nodesPerZone x zones nodes.
func TestEKSClusterConfig(t *testing.T) {
	data, err := EKSClusterConfig(testEKS())
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckEKSClusterConfig(data); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Metadata          eksMeta        `json:"metadata"`
		AvailabilityZones []string       `json:"availabilityZones"`
		ManagedNodeGroups []eksNodeGroup `json:"managedNodeGroups"`
	}
	if err := yaml.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	if got.Metadata != (eksMeta{Name: "tb-basic", Region: "us-east-1", Version: "1.33"}) {
		t.Errorf("metadata %+v", got.Metadata)
	}
	if len(got.ManagedNodeGroups) != 2 {
		t.Fatalf("%d node groups; want 2", len(got.ManagedNodeGroups))
	}
	tb, client := got.ManagedNodeGroups[0], got.ManagedNodeGroups[1]
	if tb.Name != "tb" || tb.InstanceType != "m7g.xlarge" || tb.DesiredCapacity != 4 || tb.MinSize != 4 || tb.MaxSize != 4 || tb.Labels["role"] != "thingsboard" || len(tb.Taints) != 0 {
		t.Errorf("tb node group %+v", tb)
	}
	if client.DesiredCapacity != 2 || len(client.Taints) != 1 || client.Taints[0] != (eksTaint{Key: "dedicated", Value: "client", Effect: "NoSchedule"}) {
		t.Errorf("client node group %+v", client)
	}
	if tb.VolumeType != "gp3" || tb.VolumeSize == nil || *tb.VolumeSize != 32 || tb.MaxPodsPerNode != 32 {
		t.Errorf("tb volume/pods %+v", tb)
	}
	cmds := strings.Join(tb.PreBootstrapCommands, "\n")
	for _, want := range []string{"'fs.file-max = 16777216'", "'* hard nofile 16777216'", "'root soft nproc 16777216'", "sudo sysctl --system"} {
		if !strings.Contains(cmds, want) {
			t.Errorf("preBootstrapCommands lack %s:\n%s", want, cmds)
		}
	}
	if !strings.Contains(string(data), "#       min: 16777216") {
		t.Errorf("no conntrack step:\n%s", data)
	}
}

func TestEKSCheckErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		mod  func(*EKS)
		want string
	}{
		"region mismatch": {func(e *EKS) { e.Region = "eu-west-1" }, `cluster.region: "eu-west-1"; topology.zones (us-east-1a, us-east-1b) are in us-east-1`},
		"not aws zones":   {func(e *EKS) { e.Topology.Zones = []string{"zone-a"} }, `topology.zones[0]: "zone-a"; not an AWS availability zone name (region and letter, as eu-west-1a) (the EKS cluster's region comes from the zones)`},
		"version":         {func(e *EKS) { e.Version = "1.17" }, `cluster.kubernetesVersion: "1.17"; eksctl v0.215.0 creates`},
		"name":            {func(e *EKS) { e.Name = "1tb" }, `cluster.name: "1tb"`},
		"sysctl key":      {func(e *EKS) { e.Sysctls = map[string]string{"fs.file-max; rm": "1"} }, `cluster.sysctls: "fs.file-max; rm"; a key that is not a sysctl name`},
		"sysctl value":    {func(e *EKS) { e.Sysctls = map[string]string{"fs.file-max": "1'; reboot"} }, `cluster.sysctls.fs.file-max: "1'; reboot"; allowed`},
		"instance type":   {func(e *EKS) { e.Topology.Pools[1].InstanceType = "" }, `topology.pools[1].instanceType: empty (pool client)`},
		"pods":            {func(e *EKS) { e.MaxPodsPerNode = -1 }, `cluster.maxPodsPerNode: -1`},
	} {
		e := testEKS()
		tc.mod(&e)
		_, err := EKSClusterConfig(e)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v; want %q", name, err, tc.want)
		}
	}
	e := testEKS()
	e.Region = "us-east-1"
	if _, err := EKSClusterConfig(e); err != nil {
		t.Errorf("matching region: %v", err)
	}
}

// TestEKSSchemaStrict shows the schema refuses what eksctl's strict
// decoding or validation would: each case breaks a valid file once.
func TestEKSSchemaStrict(t *testing.T) {
	good, err := EKSClusterConfig(testEKS())
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct{ old, new string }{
		"unknown top-level field":  {"availabilityZones:", "availabilityZone:"},
		"unknown node group field": {"    maxPodsPerNode: 32", "    maxPods: 32"},
		"volume type":              {"volumeType: gp3", "volumeType: gp4"},
		"capacity type":            {"desiredCapacity: 4", "desiredCapacity: four"},
		"taint effect":             {"effect: NoSchedule", "effect: NoScheduleX"},
		"api version":              {"eksctl.io/v1alpha5", "eksctl.io/v1alpha4"},
		"version":                  {`version: "1.33"`, `version: "1.17"`},
		"zone":                     {"- us-east-1a", "- us-east-1"},
	} {
		bad := strings.Replace(string(good), tc.old, tc.new, 1)
		if bad == string(good) {
			t.Fatalf("%s: %q not in the file", name, tc.old)
		}
		if err := CheckEKSClusterConfig([]byte(bad)); err == nil {
			t.Errorf("%s: schema accepts it", name)
		}
	}
}

// TestPreBootstrapCommandsRun runs each command's printf (the part before
// `| sudo tee`) in bash and checks the files it would write, and
// shellchecks each command as the #!/bin/bash script eksctl makes of it.
func TestPreBootstrapCommandsRun(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatal("bash is required")
	}
	cmds := preBootstrap(map[string]string{"fs.nr_open": "16777216", "net.ipv4.tcp_rmem": "32768 1048576 18874368"}, 1024)
	want := map[string]string{
		"/etc/sysctl.d/90-iotstack.conf": "fs.nr_open = 16777216\nnet.ipv4.tcp_rmem = 32768 1048576 18874368\n",
		"/etc/security/limits.d/90-iotstack.conf": "* soft nofile 1024\n* hard nofile 1024\n* soft nproc 1024\n* hard nproc 1024\n" +
			"root soft nofile 1024\nroot hard nofile 1024\nroot soft nproc 1024\nroot hard nproc 1024\n",
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sc, scErr := exec.LookPath("shellcheck")
	if scErr != nil && os.Getenv("IOTSTACK_REQUIRE_TOOLS") != "" {
		t.Error("shellcheck is required (go tool mage deps installs it)")
	}
	got := map[string]string{}
	for _, c := range cmds {
		if sc != "" {
			f := filepath.Join(t.TempDir(), "cmd.sh")
			if err := os.WriteFile(f, []byte("#!/bin/bash\n"+c+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if b, err := exec.CommandContext(ctx, sc, f).CombinedOutput(); err != nil {
				t.Errorf("shellcheck %q: %v\n%s", c, err, b)
			}
		}
		left, file, ok := strings.Cut(c, " | sudo tee ")
		if !ok {
			continue
		}
		b, err := exec.CommandContext(ctx, bash, "-c", left).Output()
		if err != nil {
			t.Fatalf("%s: %v", left, err)
		}
		got[file] = string(b)
	}
	if !maps.Equal(got, want) {
		t.Errorf("files %q; want %q", got, want)
	}
}
