// Package tools builds and finds the programs that check the rendered
// monitoring: promtool (Prometheus) and amtool (Alertmanager), and the
// Prometheus server the end-to-end siren test runs, pinned in the tools
// module test/tools/monitoring and built once through the Go module
// proxy into the user cache (~/.cache/iotstack/monitoring/<hash>/), the way
// package sim builds the simulated cluster's programs.
//
// promtool is built with -tags remove_all_sd,enable_kubernetes_sd: the
// rendered configuration uses only Kubernetes service discovery, and
// without the tags promtool compiles every cloud SDK (over 18 minutes on
// two cores). Debian's promtool 2.42 lacks kubernetes_sd_configs and its
// amtool 0.25 rejects *_file receiver settings, hence the pinned builds.
package tools

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The versions test/tools/monitoring/go.mod pins, stamped into the
// binaries (github.com/prometheus/common/version) so that --version names
// them.
const (
	PrometheusVersion   = "3.16.0" // module github.com/prometheus/prometheus v0.316.0
	AlertmanagerVersion = "0.35.0" // module github.com/prometheus/alertmanager v0.35.0
	moduleDir           = "monitoring"
	versionPkg          = "github.com/prometheus/common/version"
)

// Tools are the paths of the monitoring check programs.
type Tools struct {
	// Dir is the cache directory holding them.
	Dir string
	// Promtool and Amtool are the programs' paths.
	Promtool, Amtool string
	// Prometheus is the server's path (the end-to-end siren test runs
	// it on loopback against real exporters; never against the
	// simulated cluster, whose pod IPs are fake).
	Prometheus string
}

var builds = []struct {
	pkg, bin, version, tags string
}{
	{"github.com/prometheus/prometheus/cmd/promtool", "promtool", PrometheusVersion, "remove_all_sd,enable_kubernetes_sd"},
	{"github.com/prometheus/alertmanager/cmd/amtool", "amtool", AlertmanagerVersion, ""},
	// The server, with the same tags: it serves the HTTP API only (the
	// web UI's assets are not in the module), which is all a test needs.
	{"github.com/prometheus/prometheus/cmd/prometheus", "prometheus", PrometheusVersion, "remove_all_sd,enable_kubernetes_sd"},
}

// Locate returns where the tools built from root/test/tools/monitoring
// live (a directory named after the hash of that module's go.mod and
// go.sum, so a version change builds anew) and whether they are complete.
func Locate(root string) (*Tools, bool, error) {
	h := sha256.New()
	for _, f := range []string{"go.mod", "go.sum"} {
		b, err := os.ReadFile(filepath.Join(root, "test", "tools", moduleDir, f))
		if err != nil {
			return nil, false, fmt.Errorf("monitoring tools module: %w", err)
		}
		h.Write(b)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return nil, false, err
	}
	dir := filepath.Join(cache, "iotstack", "monitoring", hex.EncodeToString(h.Sum(nil))[:16])
	t := &Tools{Dir: dir, Promtool: filepath.Join(dir, "promtool"), Amtool: filepath.Join(dir, "amtool"), Prometheus: filepath.Join(dir, "prometheus")}
	_, err = os.Stat(filepath.Join(dir, ".complete"))
	return t, err == nil, nil
}

// Ensure builds promtool, amtool and prometheus from root/test/tools/monitoring
// through the Go module proxy, once per content of that module's go.mod
// and go.sum; later calls return at once. A cold build (empty Go build
// cache, modules downloaded) took about three minutes on two cores.
func Ensure(root string, log io.Writer) (*Tools, error) {
	if log == nil {
		log = io.Discard
	}
	t, ok, err := Locate(root)
	if err != nil || ok {
		return t, err
	}
	if err := os.MkdirAll(t.Dir, 0o755); err != nil {
		return nil, err
	}
	for _, b := range builds {
		fmt.Fprintf(log, "building %s %s from test/tools/%s (first use; cached in %s)\n", b.bin, b.version, moduleDir, t.Dir)
		args := []string{"build", "-o", filepath.Join(t.Dir, b.bin), "-ldflags", "-X " + versionPkg + ".Version=" + b.version}
		if b.tags != "" {
			args = append(args, "-tags", b.tags)
		}
		cmd := exec.Command("go", append(args, b.pkg)...)
		cmd.Dir = filepath.Join(root, "test", "tools", moduleDir)
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=readonly")
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("building %s (test/tools/%s): %w", b.bin, moduleDir, err)
		}
	}
	if err := os.WriteFile(filepath.Join(t.Dir, ".complete"), nil, 0o644); err != nil {
		return nil, err
	}
	return t, nil
}

// Versions runs each tool's --version and returns the first lines.
func (t *Tools) Versions() ([]string, error) {
	var out []string
	for _, p := range []string{t.Promtool, t.Amtool, t.Prometheus} {
		b, err := exec.Command(p, "--version").CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("%s --version: %v: %s", filepath.Base(p), err, b)
		}
		first, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
		out = append(out, first)
	}
	return out, nil
}

// ForTest returns the built tools for a test, found from the working
// directory's module root. It never builds them (mage monitoringtools
// does, and mage test depends on it): when they are missing the test is
// skipped with the command to run, or fails when IOTSTACK_REQUIRE_TOOLS is
// set.
func ForTest(t testing.TB) *Tools {
	t.Helper()
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	tl, ok, err := Locate(root)
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		msg := fmt.Sprintf("promtool, amtool and prometheus are not built (%s); run go tool mage monitoringtools", tl.Dir)
		if os.Getenv("IOTSTACK_REQUIRE_TOOLS") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return tl
}

// ModuleRoot returns the directory of the iotstack module's go.mod, from
// the working directory upwards.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.HasPrefix(firstModuleLine(string(b)), "module github.com/iotstack/iotstack") && !strings.Contains(firstModuleLine(string(b)), "/test/tools/") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod of github.com/iotstack/iotstack above the working directory")
		}
		dir = parent
	}
}

func firstModuleLine(gomod string) string {
	for _, l := range strings.Split(gomod, "\n") {
		if strings.HasPrefix(l, "module ") {
			return strings.TrimSpace(l)
		}
	}
	return ""
}
