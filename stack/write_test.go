package stack

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			b, _ := os.ReadFile(p)
			out = append(out, rel+"="+string(b))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func TestWriteReplacesStaleFiles(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "dist", "p")
	first := &Output{Files: []File{{Name: "00-a.yaml", Data: []byte("a")}, {Name: "01-b.yaml", Data: []byte("b")}}}
	if err := Write(Target{Dir: dir, Output: first}); err != nil {
		t.Fatal(err)
	}
	second := &Output{Files: []File{{Name: "00-a.yaml", Data: []byte("a2")}, {Name: "sub/c.cfg", Data: []byte("c")}}}
	if err := Write(Target{Dir: dir, Output: second}); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(listDir(t, dir), ",")
	if got != "00-a.yaml=a2,sub/c.cfg=c" {
		t.Fatalf("dir holds %s; the stale 01-b.yaml must be gone", got)
	}
	entries, _ := os.ReadDir(filepath.Join(root, "dist"))
	if len(entries) != 1 {
		t.Fatalf("temporary directories left behind: %v", entries)
	}
}

// TestWriteFailureLeavesTargetsUntouched: when one of several outputs
// cannot be written, none of the targets changes.
func TestWriteFailureLeavesTargetsUntouched(t *testing.T) {
	root := t.TempDir()
	a, b := filepath.Join(root, "a"), filepath.Join(root, "b")
	if err := Write(Target{Dir: a, Output: &Output{Files: []File{{Name: "x", Data: []byte("old")}}}}); err != nil {
		t.Fatal(err)
	}
	err := Write(
		Target{Dir: a, Output: &Output{Files: []File{{Name: "x", Data: []byte("new")}}}},
		Target{Dir: b, Output: &Output{Files: []File{{Name: "../escape", Data: []byte("!")}}}},
	)
	if err == nil || !strings.Contains(err.Error(), `file name "../escape" must be a relative path inside the output directory`) {
		t.Fatalf("got %v", err)
	}
	if got := strings.Join(listDir(t, a), ","); got != "x=old" {
		t.Fatalf("a changed to %s", got)
	}
	if _, err := os.Stat(b); !os.IsNotExist(err) {
		t.Fatalf("b was created: %v", err)
	}
	entries, _ := os.ReadDir(root)
	if len(entries) != 1 {
		t.Fatalf("temporary directories left behind: %v", entries)
	}
	if err := Write(Target{Dir: a, Output: &Output{}}, Target{Dir: a + "/", Output: &Output{}}); err == nil {
		t.Fatal("two outputs for one directory accepted")
	}
}
