package profiles

import (
	"flag"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/iotstack/iotstack/stack/stacktest"
)

var update = flag.Bool("update", false, "rewrite dist/ from the profiles (same as `go tool mage synth profile=all`)")

// distRoot is the committed output, relative to this package.
const distRoot = "../dist"

// TestDist synthesizes every profile in-process and compares it byte for
// byte with the committed dist/<profile>/: the golden test of the project.
func TestDist(t *testing.T) {
	if *update {
		if _, err := WriteDist(distRoot, Names()...); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			p, err := Get(name)
			if err != nil {
				t.Fatal(err)
			}
			out, err := p.render(p.Defaults())
			if err != nil {
				t.Fatal(err)
			}
			stacktest.Golden(t, filepath.Join(distRoot, name), out, false,
				"if the change is intended, run `go tool mage synth profile=all` (or `go test ./profiles -update`) and review `git diff dist/`")
		})
	}
}

func TestDeterministic(t *testing.T) {
	first, err := Synth(Options{}, Names()...)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		again, err := Synth(Options{}, Names()...)
		if err != nil {
			t.Fatal(err)
		}
		for j := range first {
			if d := cmp.Diff(first[j].Files, again[j].Files); d != "" {
				t.Fatalf("profile %s, run %d differs:\n%s", first[j].Stack, i, d)
			}
		}
	}
}

// TestNoCredentialInDist checks that no profile renders a Secret object:
// credentials are declared (stack.Component.DeclareSecret) and created at
// apply time, never written to dist/.
func TestNoCredentialInDist(t *testing.T) {
	outs, err := Synth(Options{}, Names()...)
	if err != nil {
		t.Fatal(err)
	}
	for _, out := range outs {
		for _, o := range out.Objects {
			if o.Ref.Kind == "Secret" {
				t.Errorf("%s: %s is rendered; Secrets are declared, never rendered", out.Stack, o.Ref)
			}
		}
	}
}

func BenchmarkSynth(b *testing.B) {
	for _, name := range Names() {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Synth(Options{}, name); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("all", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Synth(Options{}, Names()...); err != nil {
				b.Fatal(err)
			}
		}
	})
}
