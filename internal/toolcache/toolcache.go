// Package toolcache builds the programs the tests run from pinned tools
// modules (test/tools/<module>) through the Go module proxy, once, into
// the user cache: ~/.cache/iotstack/<cache>/<hash>/, where the hash is of
// the module's go.mod and go.sum, so a version change builds anew and an
// unchanged one never rebuilds. monitoring/tools (promtool, amtool,
// Prometheus) and internal/s3test (versitygw) are built this way; the
// simulated cluster's programs (package sim) follow the same scheme.
package toolcache

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

// Build is one program of a set.
type Build struct {
	// Pkg is the main package's import path in the tools module.
	Pkg string
	// Bin is the program's file name in the cache directory.
	Bin string
	// Ldflags are passed to go build -ldflags (version stamps).
	Ldflags string
	// Tags are passed to go build -tags when set.
	Tags string
}

// Set is a tools module and the programs built from it.
type Set struct {
	// Module is the tools module's directory under test/tools.
	Module string
	// Cache is the directory under ~/.cache/iotstack holding the builds.
	Cache string
	// Target is the mage target that builds the set (named in skip
	// messages).
	Target string
	// Builds are the programs.
	Builds []Build
}

// Locate returns the cache directory of the set built from root's
// test/tools/<Module> and whether every program in it is complete.
func (s Set) Locate(root string) (string, bool, error) {
	h := sha256.New()
	for _, f := range []string{"go.mod", "go.sum"} {
		b, err := os.ReadFile(filepath.Join(root, "test", "tools", s.Module, f))
		if err != nil {
			return "", false, fmt.Errorf("%s tools module: %w", s.Module, err)
		}
		h.Write(b)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", false, err
	}
	dir := filepath.Join(cache, "iotstack", s.Cache, hex.EncodeToString(h.Sum(nil))[:16])
	_, err = os.Stat(filepath.Join(dir, ".complete"))
	return dir, err == nil, nil
}

// Ensure builds the set once (later calls return at once) and returns
// its cache directory. Builds are -mod=readonly: the tools module's
// go.sum decides every version.
func (s Set) Ensure(root string, log io.Writer) (string, error) {
	if log == nil {
		log = io.Discard
	}
	dir, ok, err := s.Locate(root)
	if err != nil || ok {
		return dir, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	for _, b := range s.Builds {
		fmt.Fprintf(log, "building %s from test/tools/%s (first use; cached in %s)\n", b.Bin, s.Module, dir)
		args := []string{"build", "-o", filepath.Join(dir, b.Bin)}
		if b.Ldflags != "" {
			args = append(args, "-ldflags", b.Ldflags)
		}
		if b.Tags != "" {
			args = append(args, "-tags", b.Tags)
		}
		cmd := exec.Command("go", append(args, b.Pkg)...)
		cmd.Dir = filepath.Join(root, "test", "tools", s.Module)
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=readonly")
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Run(); err != nil {
			return "", fmt.Errorf("building %s (test/tools/%s): %w", b.Bin, s.Module, err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, ".complete"), nil, 0o644); err != nil {
		return "", err
	}
	return dir, nil
}

// ForTest returns the set's cache directory for a test, found from the
// working directory's module root. It never builds (the set's mage
// target does, and mage test depends on it): when the set is missing the
// test is skipped with the command to run, or fails when
// IOTSTACK_REQUIRE_TOOLS is set.
func (s Set) ForTest(t testing.TB) string {
	t.Helper()
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir, ok, err := s.Locate(root)
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		var bins []string
		for _, b := range s.Builds {
			bins = append(bins, b.Bin)
		}
		msg := fmt.Sprintf("%s not built (%s); run go tool mage %s", strings.Join(bins, ", "), dir, s.Target)
		if os.Getenv("IOTSTACK_REQUIRE_TOOLS") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return dir
}

// Version runs the program with --version and returns its output's first
// line.
func Version(path string) (string, error) {
	b, err := exec.Command(path, "--version").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s --version: %v: %s", filepath.Base(path), err, b)
	}
	first, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	return first, nil
}

// ModuleRoot returns the directory of the iotstack module's go.mod, from
// the working directory upwards (tools modules under test/tools are
// skipped).
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if line := moduleLine(string(b)); err == nil && strings.HasPrefix(line, "module github.com/iotstack/iotstack") && !strings.Contains(line, "/test/tools/") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod of github.com/iotstack/iotstack above the working directory")
		}
		dir = parent
	}
}

func moduleLine(gomod string) string {
	for _, l := range strings.Split(gomod, "\n") {
		if strings.HasPrefix(l, "module ") {
			return strings.TrimSpace(l)
		}
	}
	return ""
}
