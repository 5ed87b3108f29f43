package core

import (
	"os"
	"path/filepath"
	"testing"
)

func TestInGoBuildCache(t *testing.T) {
	cache := t.TempDir()
	exe := filepath.Join(cache, "58", "58d7-d", "iotstack")
	if err := os.MkdirAll(filepath.Dir(exe), 0o755); err != nil {
		t.Fatal(err)
	}
	if inGoBuildCache(exe) {
		t.Errorf("inGoBuildCache(%s) without the cache README: true, want false", exe)
	}
	readme := "This directory holds cached build artifacts from the Go build system.\nRun \"go clean -cache\" if the directory is getting too large.\n"
	if err := os.WriteFile(filepath.Join(cache, "README"), []byte(readme), 0o644); err != nil {
		t.Fatal(err)
	}
	if !inGoBuildCache(exe) {
		t.Errorf("inGoBuildCache(%s) with the cache README: false, want true", exe)
	}
	if inGoBuildCache(filepath.Join(cache, "iotstack")) {
		t.Errorf("inGoBuildCache: an executable at the cache root is not a cached build")
	}
}

func TestClusterVerbs(t *testing.T) {
	seen := map[string]bool{}
	for _, v := range ClusterVerbs {
		if seen[v.Name()] {
			t.Errorf("cluster verb %s listed twice", v.Name())
		}
		seen[v.Name()] = true
		if ClusterVerb(v.Name()) != v {
			t.Errorf("ClusterVerb(%s) is not its entry", v.Name())
		}
		for _, c := range Commands() {
			if c.Name() == v.Name() {
				t.Errorf("verb %s is both a light verb and a cluster verb", v.Name())
			}
		}
	}
}
