package stack

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Target pairs a synthesized Output with the directory it replaces.
type Target struct {
	Dir    string
	Output *Output
}

// Write replaces each target directory with exactly the files of its
// Output, so an object removed from a stack disappears from dist/. Every
// output is first written in full to a temporary directory beside its
// target; only when all of them are complete are the directories swapped
// in. A failure before the swap leaves every target untouched.
func Write(targets ...Target) error {
	var done []staged
	cleanup := func() {
		for _, s := range done {
			os.RemoveAll(s.tmp)
		}
	}
	seen := map[string]bool{}
	for _, t := range targets {
		abs, err := filepath.Abs(t.Dir)
		if err != nil {
			cleanup()
			return err
		}
		if seen[abs] {
			cleanup()
			return fmt.Errorf("write: directory %s is the target of two outputs", t.Dir)
		}
		seen[abs] = true
		parent, base := filepath.Split(filepath.Clean(t.Dir))
		if parent == "" {
			parent = "."
		}
		if err := os.MkdirAll(parent, 0o755); err != nil {
			cleanup()
			return fmt.Errorf("write: %w", err)
		}
		tmp, err := os.MkdirTemp(parent, "."+base+".new-")
		if err != nil {
			cleanup()
			return fmt.Errorf("write: %w", err)
		}
		done = append(done, staged{dir: t.Dir, tmp: tmp, old: tmp + ".old"})
		if err := writeFiles(tmp, t.Output); err != nil {
			cleanup()
			return fmt.Errorf("write %s: %w", t.Dir, err)
		}
	}
	// Swap: move the current directory aside, move the new one in.
	for i, s := range done {
		hadOld := true
		if err := os.Rename(s.dir, s.old); err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				rollback(done[:i])
				cleanup()
				return fmt.Errorf("write %s: %w", s.dir, err)
			}
			hadOld = false
		}
		if err := os.Rename(s.tmp, s.dir); err != nil {
			if hadOld {
				os.Rename(s.old, s.dir)
			}
			rollback(done[:i])
			cleanup()
			return fmt.Errorf("write %s: %w", s.dir, err)
		}
	}
	for _, s := range done {
		os.RemoveAll(s.old)
	}
	return nil
}

// staged is an output written to tmp, to be swapped into dir; the previous
// dir is moved to old during the swap.
type staged struct{ dir, tmp, old string }

// rollback restores directories already swapped.
func rollback(swapped []staged) {
	for _, s := range swapped {
		os.Rename(s.dir, s.tmp)
		if _, err := os.Stat(s.old); err == nil {
			os.Rename(s.old, s.dir)
		}
	}
}

func writeFiles(dir string, out *Output) error {
	if out == nil {
		return fmt.Errorf("no output")
	}
	for _, f := range out.Files {
		clean := filepath.Clean(filepath.FromSlash(f.Name))
		if f.Name == "" || filepath.IsAbs(clean) || clean == "." || strings.HasPrefix(clean, "..") {
			return fmt.Errorf("file name %q must be a relative path inside the output directory", f.Name)
		}
		p := filepath.Join(dir, clean)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
