// Package sim runs a profile on a simulated cluster: a real kube-apiserver,
// kube-controller-manager, kube-scheduler and etcd, with kwok simulating
// the nodes (the profile's node pools, one fake node per pool, zone and
// index, with their real capacity and labels) and the pods' status. It
// applies the profile through the apply engine and proves, offline, what a
// rollout on the real topology would do: every object accepted by the API
// server, every workload ready, placement across zones, requests fitting
// the nodes, and the zone-loss drill of the ThingsBoard article
// "ThingsBoard k8s cluster - minimal design" against the real PDBs.
//
// Containers never run: probes, images and the services' own behaviour are
// out of its reach (that is mage e2e on kind).
package sim

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// KubernetesVersion is the control plane the tools module pins.
const KubernetesVersion = "v1.34.2"

// Tools are the paths of the simulated cluster's programs.
type Tools struct {
	Dir                                                    string
	APIServer, ControllerManager, Scheduler, Kubectl, Etcd string
	Kwok, Kwokctl                                          string
	Versions                                               []string
}

// toolModules are the modules under test/tools and the main packages each
// builds, with the link flags that stamp the version.
var toolModules = []struct {
	dir      string
	packages []string
	ldflags  string
}{
	{"kubernetes", []string{"k8s.io/kubernetes/cmd/kube-apiserver", "k8s.io/kubernetes/cmd/kube-controller-manager", "k8s.io/kubernetes/cmd/kube-scheduler", "k8s.io/kubernetes/cmd/kubectl"},
		"-X k8s.io/component-base/version.gitVersion=" + KubernetesVersion + " -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=34"},
	{"etcd", []string{"go.etcd.io/etcd/server/v3"}, ""},
	{"kwok", []string{"sigs.k8s.io/kwok/cmd/kwok", "sigs.k8s.io/kwok/cmd/kwokctl"}, ""},
}

// EnsureTools builds the simulated cluster's programs from the modules
// under root/test/tools through the Go module proxy, once per content of
// those modules' go.mod and go.sum, into the user cache
// (~/.cache/iotstack/sim/<hash>/). The first build takes about ten
// minutes on two cores; later calls return at once.
func EnsureTools(root string, log io.Writer) (*Tools, error) {
	if log == nil {
		log = io.Discard
	}
	h := sha256.New()
	for _, m := range toolModules {
		for _, f := range []string{"go.mod", "go.sum"} {
			b, err := os.ReadFile(filepath.Join(root, "test", "tools", m.dir, f))
			if err != nil {
				return nil, fmt.Errorf("tools module: %w", err)
			}
			h.Write(b)
		}
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(cache, "iotstack", "sim", hex.EncodeToString(h.Sum(nil))[:16])
	t := &Tools{
		Dir:       dir,
		APIServer: filepath.Join(dir, "kube-apiserver"), ControllerManager: filepath.Join(dir, "kube-controller-manager"),
		Scheduler: filepath.Join(dir, "kube-scheduler"), Kubectl: filepath.Join(dir, "kubectl"),
		Etcd: filepath.Join(dir, "etcd"), Kwok: filepath.Join(dir, "kwok"), Kwokctl: filepath.Join(dir, "kwokctl"),
	}
	if _, err := os.Stat(filepath.Join(dir, ".complete")); err != nil {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		for _, m := range toolModules {
			fmt.Fprintf(log, "building %s from test/tools/%s (first use; cached in %s)\n", strings.Join(m.packages, ", "), m.dir, dir)
			dest := dir + string(filepath.Separator)
			if m.dir == "etcd" {
				dest = t.Etcd // the main package's directory is v3
			}
			args := []string{"build", "-o", dest}
			if m.ldflags != "" {
				args = append(args, "-ldflags", m.ldflags)
			}
			cmd := exec.Command("go", append(args, m.packages...)...)
			cmd.Dir = filepath.Join(root, "test", "tools", m.dir)
			cmd.Env = append(os.Environ(), "GOFLAGS=-mod=readonly")
			cmd.Stdout, cmd.Stderr = log, log
			if err := cmd.Run(); err != nil {
				return nil, fmt.Errorf("building the simulated cluster's tools (test/tools/%s): %w", m.dir, err)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, ".complete"), nil, 0o644); err != nil {
			return nil, err
		}
	}
	for _, v := range [][]string{{t.APIServer, "--version"}, {t.Etcd, "--version"}, {t.Kwok, "--version"}} {
		out, err := exec.Command(v[0], v[1:]...).CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("%s --version: %v: %s", filepath.Base(v[0]), err, out)
		}
		first, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
		t.Versions = append(t.Versions, first)
	}
	return t, nil
}
