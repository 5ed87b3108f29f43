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
	"io"
	"path/filepath"
	"testing"

	"github.com/iotstack/iotstack/internal/toolcache"
)

// The versions test/tools/monitoring/go.mod pins, stamped into the
// binaries (github.com/prometheus/common/version) so that --version names
// them.
const (
	PrometheusVersion   = "3.16.0" // module github.com/prometheus/prometheus v0.316.0
	AlertmanagerVersion = "0.35.0" // module github.com/prometheus/alertmanager v0.35.0
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

// set is the tools module and its builds, stamped into the binaries
// (github.com/prometheus/common/version) so that --version names them.
var set = toolcache.Set{Module: "monitoring", Cache: "monitoring", Target: "monitoringtools", Builds: []toolcache.Build{
	{Pkg: "github.com/prometheus/prometheus/cmd/promtool", Bin: "promtool", Ldflags: "-X " + versionPkg + ".Version=" + PrometheusVersion, Tags: "remove_all_sd,enable_kubernetes_sd"},
	{Pkg: "github.com/prometheus/alertmanager/cmd/amtool", Bin: "amtool", Ldflags: "-X " + versionPkg + ".Version=" + AlertmanagerVersion},
	// The server, with the same tags: it serves the HTTP API only (the
	// web UI's assets are not in the module), which is all a test needs.
	{Pkg: "github.com/prometheus/prometheus/cmd/prometheus", Bin: "prometheus", Ldflags: "-X " + versionPkg + ".Version=" + PrometheusVersion, Tags: "remove_all_sd,enable_kubernetes_sd"},
}}

func tools(dir string) *Tools {
	return &Tools{Dir: dir, Promtool: filepath.Join(dir, "promtool"), Amtool: filepath.Join(dir, "amtool"), Prometheus: filepath.Join(dir, "prometheus")}
}

// Locate returns where the tools built from root/test/tools/monitoring
// live (a directory named after the hash of that module's go.mod and
// go.sum, so a version change builds anew) and whether they are complete.
func Locate(root string) (*Tools, bool, error) {
	dir, ok, err := set.Locate(root)
	if err != nil {
		return nil, false, err
	}
	return tools(dir), ok, nil
}

// Ensure builds promtool, amtool and prometheus from root/test/tools/monitoring
// through the Go module proxy, once per content of that module's go.mod
// and go.sum; later calls return at once. A cold build (empty Go build
// cache, modules downloaded) took about three minutes on two cores.
func Ensure(root string, log io.Writer) (*Tools, error) {
	dir, err := set.Ensure(root, log)
	if err != nil {
		return nil, err
	}
	return tools(dir), nil
}

// Versions runs each tool's --version and returns the first lines.
func (t *Tools) Versions() ([]string, error) {
	var out []string
	for _, p := range []string{t.Promtool, t.Amtool, t.Prometheus} {
		v, err := toolcache.Version(p)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// ForTest returns the built tools for a test, found from the working
// directory's module root. It never builds them (mage monitoringtools
// does, and mage test depends on it): when they are missing the test is
// skipped with the command to run, or fails when IOTSTACK_REQUIRE_TOOLS is
// set.
func ForTest(t testing.TB) *Tools { return tools(set.ForTest(t)) }

// ModuleRoot returns the directory of the iotstack module's go.mod, from
// the working directory upwards.
func ModuleRoot() (string, error) { return toolcache.ModuleRoot() }
