package tools

import (
	"os"
	"path/filepath"
	"testing"
)

// The cache directory follows the content of the tools module's go.mod and
// go.sum: a version bump builds anew, an unchanged module reuses the build.
func TestLocateFollowsTheModule(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	root := t.TempDir()
	mod := filepath.Join(root, "test", "tools", moduleDir)
	if err := os.MkdirAll(mod, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(gomod string) {
		for f, data := range map[string]string{"go.mod": gomod, "go.sum": ""} {
			if err := os.WriteFile(filepath.Join(mod, f), []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	write("module x\nrequire github.com/prometheus/prometheus v0.316.0\n")
	a, ok, err := Locate(root)
	if err != nil || ok {
		t.Fatalf("Locate = %v, %v, %v; want an incomplete build directory", a, ok, err)
	}
	if err := os.MkdirAll(a.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(a.Dir, ".complete"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if again, ok, _ := Locate(root); !ok || again.Dir != a.Dir || again.Promtool != filepath.Join(a.Dir, "promtool") {
		t.Fatalf("unchanged module: %+v, complete %v; want %s complete", again, ok, a.Dir)
	}
	write("module x\nrequire github.com/prometheus/prometheus v0.317.0\n")
	if b, ok, _ := Locate(root); ok || b.Dir == a.Dir {
		t.Fatalf("changed module reuses %s (complete %v)", b.Dir, ok)
	}
	if _, _, err := Locate(t.TempDir()); err == nil {
		t.Fatal("Locate without the tools module: no error")
	}
}

func TestModuleRoot(t *testing.T) {
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "test", "tools", moduleDir, "go.mod")); err != nil {
		t.Fatalf("root %s has no tools module: %v", root, err)
	}
}
