package profiles

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/iotstack/iotstack/provision"
	"github.com/iotstack/iotstack/stack"
	"github.com/iotstack/iotstack/values"
)

// synthFor synthesizes a profile from its defaults and the given values
// documents.
func synthFor(t *testing.T, name string, docs ...values.Doc) (*stack.Output, []stack.Rendered) {
	t.Helper()
	b, out := render(t, name, docs)
	objects := out.Objects
	for _, part := range b.Parts {
		po, err := part.Stack.Synth()
		if err != nil {
			t.Fatal(err)
		}
		objects = append(objects, po.Objects...)
	}
	return out, objects
}

// TestClusterFilesPerProfile: minimal-3az renders an eksctl configuration
// and nothing for kubeadm, the dojot profiles the kubeadm files and the
// node script, each join file per pool.
func TestClusterFilesPerProfile(t *testing.T) {
	want := map[string][]string{
		Minimal3AZ: {"cluster/eksctl.yaml"},
		Small:      {"cluster/kubeadm.yaml", "cluster/join-dojot.yaml", "cluster/prepare-node.sh"},
		Hundred:    {"cluster/kubeadm.yaml", "cluster/join-vernemq.yaml", "cluster/join-dojot.yaml", "cluster/join-kafka.yaml", "cluster/join-x509.yaml", "cluster/join-client.yaml", "cluster/prepare-node.sh"},
	}
	for name, files := range want {
		out, _ := synthFor(t, name)
		var got []string
		for _, f := range out.Files {
			if strings.HasPrefix(f.Name, ClusterDir+"/") {
				got = append(got, f.Name)
			}
		}
		if strings.Join(got, " ") != strings.Join(files, " ") {
			t.Errorf("%s: cluster files %v; want %v", name, got, files)
		}
	}
	// The generic variant (kind, other clouds) renders no eksctl file.
	p, _ := Get(Minimal3AZ)
	b, err := p.BuildAll(Options{Generic: true})
	if err != nil {
		t.Fatal(err)
	}
	out, err := SynthBuilt(Minimal3AZ, b)
	if err != nil {
		t.Fatal(err)
	}
	if f := out.File("cluster/eksctl.yaml"); f != nil {
		t.Errorf("generic minimal-3az renders an eksctl.yaml")
	}
}

// TestEKSFollowsValues: envs/us-east-1.yaml renders a us-east-1 cluster
// with its pools (two m7g.xlarge per zone, six in all), valid against the
// eksctl schema; a region other than the zones' is refused with its path.
func TestEKSFollowsValues(t *testing.T) {
	doc, err := os.ReadFile("../envs/us-east-1.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out, _ := synthFor(t, Minimal3AZ, values.Doc{Name: "us-east-1.yaml", Data: doc})
	f := out.File("cluster/eksctl.yaml")
	if f == nil {
		t.Fatal("no cluster/eksctl.yaml")
	}
	if err := provision.CheckEKSClusterConfig(f.Data); err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Metadata struct {
			Region string `json:"region"`
		} `json:"metadata"`
		AvailabilityZones []string `json:"availabilityZones"`
		ManagedNodeGroups []struct {
			Name            string            `json:"name"`
			InstanceType    string            `json:"instanceType"`
			DesiredCapacity int               `json:"desiredCapacity"`
			Labels          map[string]string `json:"labels"`
		} `json:"managedNodeGroups"`
	}
	if err := yaml.Unmarshal(f.Data, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Metadata.Region != "us-east-1" || strings.Join(cfg.AvailabilityZones, ",") != "us-east-1a,us-east-1b,us-east-1c" {
		t.Errorf("region %q zones %v", cfg.Metadata.Region, cfg.AvailabilityZones)
	}
	if len(cfg.ManagedNodeGroups) != 2 || cfg.ManagedNodeGroups[0].InstanceType != "m7g.xlarge" || cfg.ManagedNodeGroups[0].DesiredCapacity != 6 ||
		cfg.ManagedNodeGroups[0].Labels["role"] != "thingsboard" || cfg.ManagedNodeGroups[1].DesiredCapacity != 3 {
		t.Errorf("node groups %+v", cfg.ManagedNodeGroups)
	}
	if bytes.Contains(f.Data, []byte("eu-west-1")) {
		t.Errorf("us-east-1 file mentions eu-west-1")
	}

	p, _ := Get(Minimal3AZ)
	_, err = p.Load([]values.Doc{{Name: "us-east-1.yaml", Data: doc}}, []string{"cluster.region=eu-west-1"})
	if err == nil || !strings.Contains(err.Error(), `cluster.region: "eu-west-1"; topology.zones (us-east-1a, us-east-1b, us-east-1c) are in us-east-1`) {
		t.Errorf("mismatched region: %v", err)
	}
}

// TestPrepareNodeScript checks the dojot node scripts with bash -n and
// shellcheck, then runs 100k's for every group and small's against scratch
// roots: every local PV's directory exists with the mode (and, as root,
// the owner) the script states, the HAProxy host gets the guide's
// ip_local_port_range, and an unknown group is refused.
func TestPrepareNodeScript(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatal("bash is required")
	}
	for _, name := range []string{Small, Hundred} {
		out, objects := synthFor(t, name)
		f := out.File("cluster/prepare-node.sh")
		if f == nil {
			t.Fatalf("%s: no cluster/prepare-node.sh", name)
		}
		dir := t.TempDir()
		script := filepath.Join(dir, "prepare-node.sh")
		if err := os.WriteFile(script, f.Data, 0o755); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if b, err := exec.CommandContext(ctx, bash, "-n", script).CombinedOutput(); err != nil {
			t.Fatalf("%s: bash -n: %v\n%s", name, err, b)
		}
		if sc, err := exec.LookPath("shellcheck"); err == nil {
			if b, err := exec.CommandContext(ctx, sc, script).CombinedOutput(); err != nil {
				t.Errorf("%s: shellcheck: %v\n%s", name, err, b)
			}
		} else if os.Getenv("IOTSTACK_REQUIRE_TOOLS") != "" {
			t.Errorf("shellcheck is required (go tool mage deps installs it)")
		}

		vols, err := provision.LocalVolumes(out.Topology, objects)
		if err != nil {
			t.Fatal(err)
		}
		if len(vols) == 0 {
			t.Fatalf("%s: no local volumes", name)
		}
		root := filepath.Join(dir, "root")
		args := out.Topology.PoolNames()
		if name == Hundred {
			args = append(args, provision.HAProxyArg)
		}
		cmd := exec.CommandContext(ctx, bash, append([]string{script}, args...)...)
		cmd.Env = append(os.Environ(), "ROOT="+root)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, b)
		}
		asRoot := os.Geteuid() == 0
		paths := map[string]bool{}
		for _, v := range vols {
			paths[v.Path] = true
			st, err := os.Stat(filepath.Join(root, v.Path))
			if err != nil {
				t.Errorf("%s: %s: %v", name, v.Path, err)
				continue
			}
			mode, _ := strconv.ParseUint(v.Mode, 8, 32)
			got := uint64(st.Mode().Perm())
			if st.Mode()&os.ModeSetgid != 0 {
				got |= 0o2000
			}
			if !st.IsDir() || got != mode {
				t.Errorf("%s: %s: mode %o dir=%v; want %s", name, v.Path, got, st.IsDir(), v.Mode)
			}
			if sys, ok := st.Sys().(*syscall.Stat_t); ok && asRoot && (int64(sys.Uid) != v.Owner || int64(sys.Gid) != v.Group) {
				t.Errorf("%s: %s: owner %d:%d; want %d:%d", name, v.Path, sys.Uid, sys.Gid, v.Owner, v.Group)
			}
		}
		// The guide's directories, in the namespace's and the monitoring's
		// subdirectories, with the owners the pods run as.
		for _, want := range []string{"/mnt/data/dojot/kafka", "/mnt/data/dojot/zookeeper/data", "/mnt/data/dojot/zookeeper/log",
			"/mnt/data/dojot/postgres", "/mnt/data/dojot/mongodb", "/mnt/data/dojot/ejbca", "/mnt/data/monitoring/data-prometheus-0"} {
			if !paths[want] {
				t.Errorf("%s: no local volume at %s", name, want)
			}
		}
		for _, v := range vols {
			if v.Path == "/mnt/data/dojot/zookeeper/data" && (v.Owner != 1000 || v.Group != 1000 || !v.FSGroup || v.Mode != "2770") {
				t.Errorf("%s: zookeeper data %+v; want 1000:1000 2770 with fsGroup", name, v)
			}
		}
		sysctl := filepath.Join(root, "etc/sysctl.d", haproxySysctlsFile)
		b, err := os.ReadFile(sysctl)
		if name == Hundred {
			if err != nil || !strings.Contains(string(b), "\nnet.ipv4.ip_local_port_range = 1024 65535\n") {
				t.Errorf("%s: %s: %v\n%s", name, sysctl, err, b)
			}
		} else if err == nil {
			t.Errorf("%s: wrote %s without an HAProxy", name, sysctl)
		}

		bad := exec.CommandContext(ctx, bash, script, "no-such-group")
		bad.Env = append(os.Environ(), "ROOT="+filepath.Join(dir, "bad"))
		b, err = bad.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(string(b), "unknown group no-such-group") {
			t.Errorf("%s: unknown group: %v; want exit status 2 naming it\n%s", name, err, b)
		}
	}
}

// TestClusterValuesErrors: the cluster values are checked with the rest
// of the values, each error with its path, value and what is allowed.
func TestClusterValuesErrors(t *testing.T) {
	for _, tc := range []struct {
		profile string
		sets    []string
		want    string
	}{
		{Hundred, []string{"cluster.kubernetesVersion=1.17.3"}, `cluster.kubernetesVersion: "1.17.3"; the kubeadm.k8s.io/v1beta4 configuration needs 1.31 or later`},
		{Small, []string{"cluster.controlPlaneEndpoint=192.0.2.2"}, `cluster.controlPlaneEndpoint: "192.0.2.2"; allowed: host:port`},

		{Minimal3AZ, []string{"topology.zones={a,b,c}"}, `topology.zones[0]: "a"; not an AWS availability zone name`},
		{Minimal3AZ, []string{"cluster.kubernetesVersion=1.34"}, `cluster.kubernetesVersion: "1.34"; eksctl v0.215.0 creates EKS clusters of 1.23,`},
		{Minimal3AZ, []string{"cluster.name=tb_basic"}, `cluster.name: "tb_basic"; eksctl allows`},
	} {
		p, _ := Get(tc.profile)
		_, err := p.Load(nil, tc.sets)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %v: %v; want %q", tc.profile, tc.sets, err, tc.want)
		}
	}
	// Keys with dots, which --set cannot name.
	for _, tc := range []struct{ doc, want string }{
		{"cluster: {sysctls: {vm.max_map_count: '1;reboot'}}", `cluster.sysctls.vm.max_map_count: "1;reboot"; allowed`},
		{`topology:
  zones: [zone-a]
  pools:
  - {name: dojot, arch: amd64, cpu: "4", memory: 4Gi, nodesPerZone: 1, labels: {node-role.kubernetes.io/dojot: "x"}}
groups: {dojot: dojot, kafka: dojot, vernemq: dojot, x509: dojot}`, `topology.pools[0].labels: "node-role.kubernetes.io/dojot"; pool dojot: a kubelet may not set labels`},
	} {
		p, _ := Get(Hundred)
		_, err := p.Load([]values.Doc{{Name: "test.yaml", Data: []byte(tc.doc)}}, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v; want %q", tc.doc, err, tc.want)
		}
	}
}
