package cli

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iotstack/iotstack/profiles"
)

// run executes the CLI in-process from the repository root (so envs/ and
// dist/ resolve) and returns stdout, stderr and the exit code main would
// use.
func run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := Command(&out, &errb)
	cmd.SetArgs(args)
	err := cmd.Execute()
	code := ExitOK
	if err != nil {
		errb.WriteString(err.Error())
		code = ExitFailed
		var ex *ExitError
		if errors.As(err, &ex) {
			code = ex.Code
		}
	}
	return out.String(), errb.String(), code
}

func TestMain(m *testing.M) {
	if err := os.Chdir(".."); err != nil {
		panic(err)
	}
	os.Exit(m.Run())
}

func TestProfilesAndValues(t *testing.T) {
	out, _, code := run(t, "profiles")
	if code != 0 || !strings.Contains(out, "minimal-3az") || !strings.Contains(out, "100k") {
		t.Fatalf("profiles: %d %q", code, out)
	}
	out, _, code = run(t, "values", "minimal-3az")
	if code != 0 || !strings.Contains(out, "# Namespace holds every namespaced object") || !strings.Contains(out, "namespace: thingsboard") {
		t.Fatalf("values: %d\n%s", code, out)
	}
	// The printed document is a valid values file giving the defaults.
	f := filepath.Join(t.TempDir(), "values.yaml")
	os.WriteFile(f, []byte(out), 0o644)
	dir := filepath.Join(t.TempDir(), "out")
	if _, errs, code := run(t, "synth", "minimal-3az", "-f", f, "-o", dir); code != 0 {
		t.Fatalf("synth with the printed values: %d %s", code, errs)
	}
	rec, _ := os.ReadFile(filepath.Join(dir, profiles.RecordFile))
	if !strings.Contains(string(rec), "values: {}") {
		t.Errorf("the printed defaults record overrides:\n%s", rec)
	}
	out, _, code = run(t, "schema", "small")
	if code != 0 || !strings.Contains(out, `"$schema"`) {
		t.Fatalf("schema: %d %.200s", code, out)
	}
}

func TestSynthAndDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "prod")
	out, errs, code := run(t, "synth", "minimal-3az", "-f", "envs/us-east-1.yaml", "--set", "kafka.retentionHours=72", "-o", dir)
	if code != 0 {
		t.Fatalf("synth: %d %s", code, errs)
	}
	if !strings.Contains(out, dir+": ") || !strings.Contains(out, " objects in ") {
		t.Errorf("synth output %q", out)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "03-kafka.yaml"))
	for _, want := range []string{"registry.corp.example:5000/apache/kafka:", "namespace: tb-prod"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("03-kafka.yaml lacks %q", want)
		}
	}
	// A directory takes no values of its own.
	if _, errs, code := run(t, "secrets", dir, "--set", "namespace=x"); code != ExitUsage || !strings.Contains(errs, "records its own values") {
		t.Errorf("values on a directory: %d %s", code, errs)
	}
	// secrets prints generated Secrets for the directory's namespace.
	out, _, code = run(t, "secrets", dir)
	if code != 0 || !strings.Contains(out, "kind: Secret") || !strings.Contains(out, "namespace: tb-prod") || !strings.Contains(out, "stringData:") {
		t.Errorf("secrets: %d %.300s", code, out)
	}
	out2, _, _ := run(t, "secrets", dir)
	if out == out2 {
		t.Error("secrets printed the same values twice: they must be fresh")
	}
	// A hand-edited file makes the directory refused, naming the file.
	path := filepath.Join(dir, "03-kafka.yaml")
	os.WriteFile(path, append(b, []byte("# edited\n")...), 0o644)
	if _, errs, code := run(t, "secrets", dir); code != ExitUsage || !strings.Contains(errs, "03-kafka.yaml") {
		t.Errorf("edited directory: %d %s", code, errs)
	}
}

func TestBadInput(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("namespace: kube-system\ntopology:\n  zonez: [a]\nkafka:\n  brokers: many\n"), 0o644)
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"synth", "nope"}, []string{`unknown profile "nope"`, "minimal-3az"}},
		{[]string{"synth", "minimal-3az", "-f", bad, "-o", t.TempDir()}, []string{"topology.zonez", `did you mean "zones"`, "kafka.brokers", "bad.yaml:3"}},
		{[]string{"synth", "small", "--set", "bridges=0", "-o", t.TempDir()}, []string{"bridges: 0"}},
		{[]string{"synth", "minimal-3az", "--set", "namespace=kube-system", "-o", t.TempDir()}, []string{"namespace", "kube-system"}},
		{[]string{"synth", "minimal-3az", "--set", "kafka.defaultReplicationFactor=4", "-o", t.TempDir()}, []string{"kafka.defaultReplicationFactor: 4", "exceeds brokers 3"}},
		{[]string{"synth", "minimal-3az", "--frobnicate"}, []string{"unknown flag"}},
		{[]string{"values"}, []string{"accepts 1 arg"}},
		{[]string{"apply", "minimal-3az", "--timeout", "0s"}, []string{"--timeout"}},
	} {
		_, errs, code := run(t, c.args...)
		if code != ExitUsage {
			t.Errorf("%v: exit %d, want %d (%s)", c.args, code, ExitUsage, errs)
		}
		for _, w := range c.want {
			if !strings.Contains(errs, w) {
				t.Errorf("%v: error lacks %q:\n%s", c.args, w, errs)
			}
		}
	}
}

func TestSynthAllAtomic(t *testing.T) {
	root := t.TempDir()
	if _, errs, code := run(t, "synth", "all", "-o", root); code != 0 {
		t.Fatalf("synth all: %s", errs)
	}
	for _, n := range profiles.Names() {
		if _, err := os.Stat(filepath.Join(root, n, profiles.RecordFile)); err != nil {
			t.Errorf("%s: %v", n, err)
		}
	}
	before, _ := os.ReadFile(filepath.Join(root, "small", "01-storage.yaml"))
	// An invalid value for one profile writes nothing for any.
	if _, _, code := run(t, "synth", "all", "-o", root, "--set", "namespace=Bad_Name"); code != ExitUsage {
		t.Fatalf("bad namespace accepted")
	}
	after, _ := os.ReadFile(filepath.Join(root, "small", "01-storage.yaml"))
	if !bytes.Equal(before, after) {
		t.Error("a failed synth changed the output")
	}
}

// TestValidateUSEast1 validates the us-east-1 environment offline: schemas
// of every supported Kubernetes minor, Pod Security, the HA rules.
func TestValidateUSEast1(t *testing.T) {
	out, errs, code := run(t, "validate", "minimal-3az", "-f", "envs/us-east-1.yaml")
	if code != 0 || !strings.Contains(out, ": 0 findings") {
		t.Fatalf("validate: %d\n%s\n%s", code, out, errs)
	}
}

// TestPreflightExitCodes: bad input is 2; a cluster that does not answer
// (a loopback port nothing listens on) is 3, before any check runs.
func TestPreflightExitCodes(t *testing.T) {
	if _, errs, code := run(t, "preflight", "small", "-o", "yaml"); code != ExitUsage || !strings.Contains(errs, "table, json") {
		t.Errorf("preflight -o yaml: %d %s", code, errs)
	}
	if _, errs, code := run(t, "preflight", "small", "--set", "requestScale=2"); code != ExitUsage || !strings.Contains(errs, "requestScale") {
		t.Errorf("preflight with a bad value: %d %s", code, errs)
	}
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	os.WriteFile(kc, []byte(`apiVersion: v1
kind: Config
clusters: [{name: x, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: x, user: {token: none}}]
contexts: [{name: x, context: {cluster: x, user: x}}]
current-context: x
`), 0o600)
	out, errs, code := run(t, "preflight", "small", "--kubeconfig", kc, "--timeout", "20s")
	if code != ExitUnreachable || !strings.Contains(errs, "cluster unreachable") || out != "" {
		t.Errorf("preflight against nothing: %d %q %s", code, out, errs)
	}
}
