package profiles

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iotstack/iotstack/stack"
	"github.com/iotstack/iotstack/values"
)

// TestDirRoundTrip renders minimal-3az with the us-east-1 values into a
// directory, reads it back (same values, same files), then edits,
// removes and adds files: each is refused naming the file.
func TestDirRoundTrip(t *testing.T) {
	p, err := Get(Minimal3AZ)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := values.ReadFile("../envs/us-east-1.yaml")
	if err != nil {
		t.Fatal(err)
	}
	v, err := p.Load([]values.Doc{doc}, []string{"kafka.retentionHours=72"})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "prod")
	if _, err := WriteDirs(DirJob{Dir: dir, Profile: p, Values: v}); err != nil {
		t.Fatal(err)
	}
	rec, err := os.ReadFile(filepath.Join(dir, RecordFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"profile: minimal-3az", "namespace: tb-prod", "registry: registry.corp.example:5000", "retentionHours: 72", "m7g.xlarge"} {
		if !strings.Contains(string(rec), want) {
			t.Errorf("%s lacks %q:\n%s", RecordFile, want, rec)
		}
	}
	if strings.Contains(string(rec), "r7g.xlarge") || strings.Contains(string(rec), "zookeeper:") {
		t.Errorf("%s records more than the overrides:\n%s", RecordFile, rec)
	}
	r, err := ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if r.Output.Namespace != "tb-prod" || r.Profile.Name != Minimal3AZ {
		t.Errorf("read back %s/%s", r.Output.Namespace, r.Profile.Name)
	}
	if got, want := len(r.Output.Objects), len(mustSynth(t, p, v).Objects); got != want {
		t.Errorf("read back %d objects, want %d", got, want)
	}

	edit := func(name string, f func(path string)) {
		t.Helper()
		d := filepath.Join(t.TempDir(), "copy")
		if _, err := WriteDirs(DirJob{Dir: d, Profile: p, Values: v}); err != nil {
			t.Fatal(err)
		}
		f(filepath.Join(d, name))
		_, err := ReadDir(d)
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: want an error naming it, got %v", name, err)
		}
	}
	edit("03-kafka.yaml", func(path string) {
		b, _ := os.ReadFile(path)
		os.WriteFile(path, []byte(strings.Replace(string(b), "replicas: 3", "replicas: 5", 1)), 0o644)
	})
	edit("05-cassandra.yaml", func(path string) { os.Remove(path) })
	edit("extra.yaml", func(path string) { os.WriteFile(path, []byte("kind: ConfigMap\n"), 0o644) })
	edit(RecordFile, func(path string) {
		b, _ := os.ReadFile(path)
		os.WriteFile(path, []byte(strings.Replace(string(b), "retentionHours: 72", "retentionHours: 73", 1)), 0o644)
	})
	if _, err := ReadDir(t.TempDir()); err == nil || !strings.Contains(err.Error(), "not a rendered directory") {
		t.Errorf("empty directory: %v", err)
	}
}

// TestDistRecords checks every committed dist/<profile>/ reads back: its
// RecordFile holds no overrides and every file matches.
func TestDistRecords(t *testing.T) {
	for _, name := range Names() {
		r, err := ReadDir(filepath.Join(distRoot, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		over, err := r.Profile.Overrides(r.Values)
		if err != nil || len(over) != 0 {
			t.Errorf("%s: overrides %v, %v", name, over, err)
		}
	}
}

func mustSynth(t *testing.T, p Profile, v Values) *stack.Output {
	t.Helper()
	out, err := p.render(v)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
