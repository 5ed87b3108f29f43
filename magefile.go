//go:build mage

// iotstack's targets; run them with go tool mage TARGET (Mage is pinned in go.mod).
package main

// Targets are thin: they parse arguments, call a library function and
// print. The logic lives in packages that tests and other programs import.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/iotstack/iotstack/profiles"
)

// distDir is where synthesized profiles are committed.
const distDir = "dist"

// Synth writes dist/<profile>/ from the Go code: `synth profile=minimal-3az`, `synth 100k` or `synth all`.
func Synth(profile string) error {
	names, err := profiles.Resolve(profile)
	if err != nil {
		return err
	}
	outs, err := profiles.WriteDist(distDir, names...)
	if err != nil {
		return err
	}
	for i, out := range outs {
		fmt.Printf("%s: %d objects in %d files\n", filepath.Join(distDir, names[i]), len(out.Objects), len(out.Files))
	}
	return nil
}

// Test runs the whole suite: gofmt, go vet and every Go test (golden dist/, examples, fuzz seeds).
func Test() error {
	out, err := exec.Command("gofmt", "-l", ".").CombinedOutput()
	if err != nil {
		return fmt.Errorf("gofmt: %v\n%s", err, out)
	}
	if files := strings.TrimSpace(string(out)); files != "" {
		return fmt.Errorf("gofmt would change these files (run gofmt -w):\n%s", files)
	}
	if err := run("go", "vet", "./..."); err != nil {
		return err
	}
	return run("go", "test", "./...")
}

// Bench runs the Go benchmarks (synthesis speed and allocations per profile).
func Bench() error {
	return run("go", "test", "-run", "^$", "-bench", ".", "-benchmem", "./...")
}

func run(name string, args ...string) error {
	fmt.Println("+", name, strings.Join(args, " "))
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return nil
}
