package docgen_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iotstack/iotstack/values/docgen"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func TestGenerate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		c      docgen.Config
		golden string
	}{
		{"package", docgen.Config{Dir: "testdata/sample"}, "sample.golden"},
		{"external test package", docgen.Config{Dir: "testdata/sample", Package: "sample_test", Tests: true}, "sample_test.golden"},
		{"selected types", docgen.Config{Dir: "testdata/sample", Types: []string{"Pool"}}, "pool.golden"},
		{"the values package itself", docgen.Config{Dir: "testdata/sample", ImportPath: docgen.ValuesPath, Types: []string{"Arch"}}, "internal.golden"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := docgen.Generate(tc.c)
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", tc.golden)
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("differs from %s (go test ./values/docgen -update, then review the diff):\n%s", golden, got)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	src, err := os.ReadFile("testdata/sample/sample.go")
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("sample.go", src)
	c := docgen.Config{Dir: dir, ImportPath: "example.com/sample"}
	if err := docgen.Check(c); err == nil || !strings.Contains(err.Error(), "generate it with") {
		t.Errorf("missing file: got %v", err)
	}
	if err := docgen.Write(c); err != nil {
		t.Fatal(err)
	}
	if err := docgen.Check(c); err != nil {
		t.Errorf("fresh file: got %v", err)
	}
	write("sample.go", bytes.Replace(src, []byte("// Size is the size."), []byte("// Size is the pool's size."), 1))
	if err := docgen.Check(c); err == nil || !strings.Contains(err.Error(), "is stale") {
		t.Errorf("changed comment: got %v", err)
	}
}

func TestGenerateErrors(t *testing.T) {
	if _, err := docgen.Generate(docgen.Config{Dir: "testdata/nowhere"}); err == nil {
		t.Error("a missing directory: no error")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bad.go"), []byte("package x\nfunc {"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := docgen.Generate(docgen.Config{Dir: dir, ImportPath: "x"}); err == nil {
		t.Error("a syntax error: no error")
	}
}
