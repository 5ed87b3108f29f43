package toolcache

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
	s := Set{Module: "m", Cache: "c", Builds: []Build{{Pkg: "example.com/x", Bin: "x"}}}
	mod := filepath.Join(root, "test", "tools", s.Module)
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
	write("module x\nrequire example.com/x v1.0.0\n")
	a, ok, err := s.Locate(root)
	if err != nil || ok {
		t.Fatalf("Locate = %v, %v, %v; want an incomplete build directory", a, ok, err)
	}
	if filepath.Dir(a) != filepath.Join(os.Getenv("XDG_CACHE_HOME"), "iotstack", "c") {
		t.Fatalf("cache directory %s; want one under iotstack/c", a)
	}
	if err := os.MkdirAll(a, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(a, ".complete"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if again, ok, _ := s.Locate(root); !ok || again != a {
		t.Fatalf("unchanged module: %s, complete %v; want %s complete", again, ok, a)
	}
	if dir, err := s.Ensure(root, nil); err != nil || dir != a {
		t.Fatalf("Ensure of a complete set = %s, %v; want %s without building", dir, err, a)
	}
	write("module x\nrequire example.com/x v1.0.1\n")
	if b, ok, _ := s.Locate(root); ok || b == a {
		t.Fatalf("changed module reuses %s (complete %v)", b, ok)
	}
	if _, _, err := s.Locate(t.TempDir()); err == nil {
		t.Fatal("Locate without the tools module: no error")
	}
}

func TestModuleRoot(t *testing.T) {
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "internal", "toolcache", "toolcache.go")); err != nil {
		t.Fatalf("root %s is not the iotstack module: %v", root, err)
	}
}
