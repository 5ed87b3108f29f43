package core

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestFoldAndParseMageArgs(t *testing.T) {
	args := []string{"mage", "synth", "profile=small", "values=a.yaml,b.yaml", "namespace=lab", "out=deploy/lab", "apply", "minimal-3az"}
	got := FoldMageArgs(args, []string{"synth", "apply"})
	want := []string{"mage", "synth", "profile=small" + MageArgSep + "values=a.yaml,b.yaml" + MageArgSep + "namespace=lab" + MageArgSep + "out=deploy/lab", "apply", "minimal-3az"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("FoldMageArgs = %q, want %q", got, want)
	}
	m, err := ParseMageArg(got[2])
	if err != nil {
		t.Fatal(err)
	}
	if m.Target != "small" || !reflect.DeepEqual(m.Args, []string{"-f", "a.yaml", "-f", "b.yaml", "--set", "namespace=lab", "-o", "deploy/lab"}) {
		t.Errorf("ParseMageArg = %+v", m)
	}
	for _, bad := range []string{"values=a.yaml", "small" + MageArgSep + "profile=100k"} {
		if _, err := ParseMageArg(bad); err == nil {
			t.Errorf("ParseMageArg(%q): no error", bad)
		}
	}
}

func TestRunMageSynth(t *testing.T) {
	var out, errOut bytes.Buffer
	err := RunMage("synth", "profile=nosuch", nil, &out, &errOut)
	var ex *ExitError
	if !errors.As(err, &ex) || ex.Code != ExitUsage || !strings.Contains(err.Error(), `unknown profile "nosuch"`) {
		t.Errorf("RunMage synth profile=nosuch = %v, want a usage error naming the profile", err)
	}
	dir := filepath.Join(t.TempDir(), "out")
	if err := RunMage("synth", "profile=small"+MageArgSep+"out="+dir, nil, &out, &errOut); err != nil {
		t.Fatalf("RunMage synth small: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "kustomization.yaml")); err != nil {
		t.Errorf("synth small out=%s: %v", dir, err)
	}
}

// TestConnectEnv: mage preflight takes the kubeconfig and context from
// the environment, and nothing else (no apply flag preflight lacks).
func TestConnectEnv(t *testing.T) {
	t.Setenv("KUBECONFIG", "/tmp/kc")
	t.Setenv("KUBE_CONTEXT", "prod")
	t.Setenv("TIMEOUT", "20m")
	t.Setenv("PRUNE_DATA", "1")
	if got, want := ConnectEnv(), []string{"--kubeconfig", "/tmp/kc", "--context", "prod"}; !reflect.DeepEqual(got, want) {
		t.Errorf("ConnectEnv = %q, want %q", got, want)
	}
}
