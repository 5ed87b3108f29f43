package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// goCmd is the go command of the toolchain running the test.
func goCmd(t *testing.T) string {
	t.Helper()
	p := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("go command: %v", err)
	}
	return p
}

// TestImportsStayLight guards iotstack's start-up: `go tool iotstack`
// checks every package the command imports before it runs, so the command
// must not import the cluster client, the apply engine or the schema
// validator (they are in iotstack-cluster).
func TestImportsStayLight(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, goCmd(t), "list", "-deps", "github.com/iotstack/iotstack/cmd/iotstack").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	forbidden := []string{
		"github.com/iotstack/iotstack/apply",
		"github.com/iotstack/iotstack/validate",
		"github.com/iotstack/iotstack/cli",
		"k8s.io/client-go/",
		"github.com/yannh/kubeconform/",
		"github.com/fluxcd/",
		"sigs.k8s.io/controller-runtime/",
		"sigs.k8s.io/kustomize/",
	}
	for _, d := range deps {
		for _, f := range forbidden {
			if d == f || (strings.HasSuffix(f, "/") && strings.HasPrefix(d, f)) {
				t.Errorf("cmd/iotstack imports %s (forbidden: %s); keep such verbs in package cli, forwarded to iotstack-cluster", d, f)
			}
		}
	}
	if len(deps) > 400 {
		t.Errorf("cmd/iotstack imports %d packages, want at most 400 (about 300 today)", len(deps))
	}
}

// TestMagefileImportsStayLight guards `go tool mage synth`: Mage runs go
// build on the magefile before every target, which checks every package
// it imports, so the magefile imports what synth needs and no more (the
// other targets run go tool iotstack-cluster or go run ./internal/devtool).
func TestMagefileImportsStayLight(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goCmd(t), "list", "-deps", "-tags", "mage", "magefile.go")
	cmd.Dir = filepath.Join("..", "..")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list magefile.go: %v", err)
	}
	deps := strings.Fields(string(out))
	for _, d := range deps {
		for _, f := range []string{"github.com/iotstack/iotstack/sim", "github.com/iotstack/iotstack/e2e", "github.com/iotstack/iotstack/validate", "github.com/iotstack/iotstack/apply", "k8s.io/client-go/", "sigs.k8s.io/kind/"} {
			if d == f || (strings.HasSuffix(f, "/") && strings.HasPrefix(d, f)) {
				t.Errorf("magefile.go imports %s (forbidden: %s); run such targets out of process", d, f)
			}
		}
	}
	if len(deps) > 400 {
		t.Errorf("magefile.go imports %d packages, want at most 400 (about 300 today)", len(deps))
	}
}

// build compiles iotstack and iotstack-cluster into one directory, as
// go install does.
func build(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goCmd(t), "build", "-o", dir+string(os.PathSeparator),
		"github.com/iotstack/iotstack/cmd/iotstack", "github.com/iotstack/iotstack/cmd/iotstack-cluster")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return dir
}

type result struct {
	stdout, stderr string
	code           int
}

func run(t *testing.T, exe string, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Dir = t.TempDir()
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s %v: %v", exe, args, err)
	}
	return result{stdout.String(), stderr.String(), code}
}

// TestForwardedVerbs runs the built iotstack: its own verbs, and the
// cluster verbs through iotstack-cluster beside it (help, exit codes,
// messages printed once), and without the companion.
func TestForwardedVerbs(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the two commands")
	}
	dir := build(t)
	exe := filepath.Join(dir, "iotstack")
	// No iotstack-cluster on PATH: only the one beside iotstack counts.
	env := append(os.Environ(), "PATH="+t.TempDir())

	r := run(t, exe, env, "apply", "--help")
	if r.code != 0 || !strings.Contains(r.stdout, "--prune-data") || !strings.Contains(r.stdout, "iotstack apply PROFILE|DIR") {
		t.Errorf("apply --help: exit %d, want 0 and the companion's help with --prune-data; stdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}

	r = run(t, exe, env, "validate", "no-such-profile")
	if r.code != 2 {
		t.Errorf("validate no-such-profile: exit %d, want 2; stderr:\n%s", r.code, r.stderr)
	}
	if n := strings.Count(r.stderr, `unknown profile "no-such-profile"`); n != 1 {
		t.Errorf("validate no-such-profile: the error appears %d times on stderr, want once:\n%s", n, r.stderr)
	}

	r = run(t, exe, env, "diff", "small", "--no-such-flag")
	if r.code != 2 || !strings.Contains(r.stderr, "no-such-flag") {
		t.Errorf("diff --no-such-flag: exit %d, want 2 naming the flag; stderr:\n%s", r.code, r.stderr)
	}

	// The light verbs run here, and synthesize what dist/ holds.
	out := t.TempDir()
	r = run(t, exe, env, "synth", "all", "-o", out)
	if r.code != 0 {
		t.Fatalf("synth all: exit %d; stderr:\n%s", r.code, r.stderr)
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"minimal-3az", "small", "100k"} {
		compareDirs(t, filepath.Join(root, "dist", p), filepath.Join(out, p))
	}

	// Without the companion, the cluster verbs say how to get it.
	if err := os.Remove(filepath.Join(dir, "iotstack-cluster")); err != nil {
		t.Fatal(err)
	}
	r = run(t, exe, env, "apply", "small")
	if r.code != 1 || !strings.Contains(r.stderr, "iotstack-cluster") || !strings.Contains(r.stderr, "go install github.com/iotstack/iotstack/cmd/...") {
		t.Errorf("apply without iotstack-cluster: exit %d, want 1 and how to install it; stderr:\n%s", r.code, r.stderr)
	}
}

func compareDirs(t *testing.T, want, got string) {
	t.Helper()
	err := filepath.WalkDir(want, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(want, p)
		w, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		g, err := os.ReadFile(filepath.Join(got, rel))
		if err != nil {
			t.Errorf("synth all: %v", err)
			return nil
		}
		if !bytes.Equal(w, g) {
			t.Errorf("synth all: %s differs from dist", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
