package profiles

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// internalCitations are references to material that only the project's
// authors have (their notes, the source texts' file names, the issue
// tracker's wording). Users read the docs and Profile.Source, so both cite
// the public documents by title instead.
var internalCitations = []string{"../shared", "seeds/0", "write-up", "the issue"}

// citesInternal reports the internal citation line holds, matching whole
// words ("the issuer" is not "the issue").
func citesInternal(line string) string {
	for _, bad := range internalCitations {
		for i := strings.Index(line, bad); i >= 0; {
			end := i + len(bad)
			if end >= len(line) || !isWordByte(line[end]) {
				return bad
			}
			next := strings.Index(line[end:], bad)
			if next < 0 {
				break
			}
			i = end + next
		}
	}
	return ""
}

func isWordByte(b byte) bool {
	return b == '_' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9'
}

// TestSourcesCitePublicDocuments: every profile names its source document
// by title, and no internal path.
func TestSourcesCitePublicDocuments(t *testing.T) {
	titles := map[string]string{
		Minimal3AZ: `"ThingsBoard k8s cluster - minimal design"`,
		Small:      `"Guia de Instalação: Instalando a dojot no Kubernetes"`,
		Hundred:    `"Guia de Instalação: Instalando a dojot no Kubernetes"`,
	}
	for _, name := range Names() {
		p, _ := Get(name)
		if want := titles[name]; want == "" || !strings.Contains(p.Source, want) {
			t.Errorf("profile %s: Source %q does not cite its document by title (%s)", name, p.Source, want)
		}
		for _, bad := range internalCitations {
			if strings.Contains(p.Source, bad) {
				t.Errorf("profile %s: Source %q cites internal material (%q)", name, p.Source, bad)
			}
		}
	}
}

// TestDocsCitePublicDocuments: no Go file, Markdown file or example values
// file of the module cites internal material.
func TestDocsCitePublicDocuments(t *testing.T) {
	root := ".."
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "dist", "testdata", "node_modules":
				return filepath.SkipDir
			}
			return nil
		}
		switch filepath.Ext(path) {
		case ".go", ".md", ".yaml":
		default:
			return nil
		}
		if filepath.Base(path) == "citations_test.go" {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		text := string(data)
		for n, line := range strings.Split(text, "\n") {
			if bad := citesInternal(line); bad != "" {
				t.Errorf("%s:%d cites internal material (%q); cite the public document by title: %s", path, n+1, bad, strings.TrimSpace(line))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
