package tools

import (
	"os"
	"path/filepath"
	"testing"
)

func TestModuleRoot(t *testing.T) {
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "test", "tools", set.Module, "go.mod")); err != nil {
		t.Fatalf("root %s has no tools module: %v", root, err)
	}
}
