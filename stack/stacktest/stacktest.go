// Package stacktest holds test helpers for packages that synthesize
// stacks: golden-directory comparison with readable per-file diffs, shared
// by the stack, component and profile tests.
package stacktest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/iotstack/iotstack/stack"
)

// ReadDir returns every regular file below dir, keyed by slash-separated
// path relative to dir.
func ReadDir(dir string) (map[string][]byte, error) {
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		files[filepath.ToSlash(rel)] = b
		return err
	})
	return files, err
}

// Golden compares out with the directory dir file by file: a differing
// file fails with a line diff (-golden +synth), a file only in dir or only
// in out fails too. With update true it first rewrites dir from out.
// howToUpdate is appended to every failure (e.g. "run go test ./x -update").
func Golden(t testing.TB, dir string, out *stack.Output, update bool, howToUpdate string) {
	t.Helper()
	if update {
		if err := stack.Write(stack.Target{Dir: dir, Output: out}); err != nil {
			t.Fatal(err)
		}
	}
	onDisk, err := ReadDir(dir)
	if err != nil {
		t.Fatalf("reading %s: %v; %s", dir, err, howToUpdate)
	}
	for _, f := range out.Files {
		want, ok := onDisk[f.Name]
		if !ok {
			t.Errorf("%s/%s is synthesized but missing; %s", dir, f.Name, howToUpdate)
			continue
		}
		delete(onDisk, f.Name)
		if d := cmp.Diff(strings.Split(string(want), "\n"), strings.Split(string(f.Data), "\n")); d != "" {
			t.Errorf("%s/%s differs from synthesis (-golden +synth):\n%s\n%s", dir, f.Name, d, howToUpdate)
		}
	}
	for name := range onDisk {
		t.Errorf("%s/%s is no longer synthesized; %s", dir, name, howToUpdate)
	}
}

// Render returns one rendered object as JSON, for assertions on its text.
func Render(t testing.TB, r stack.Rendered) string {
	t.Helper()
	b, err := json.Marshal(r.Object)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
