package profiles

import (
	"testing"

	"github.com/iotstack/iotstack/stack"
	"github.com/iotstack/iotstack/values"
)

// renderValues loads the profile's defaults with the values documents and
// --set overrides, builds and synthesizes it: the built stacks, and the
// main stack's objects with every part's files under its directory.
func renderValues(name string, docs []values.Doc, sets ...string) (*Built, *stack.Output, error) {
	p, err := Get(name)
	if err != nil {
		return nil, nil, err
	}
	v, err := p.Load(docs, sets)
	if err != nil {
		return nil, nil, err
	}
	b, err := p.BuildValues(v)
	if err != nil {
		return nil, nil, err
	}
	out, err := SynthBuilt(name, b)
	return b, out, err
}

// render is renderValues for values that must render.
func render(t testing.TB, name string, docs []values.Doc, sets ...string) (*Built, *stack.Output) {
	t.Helper()
	b, out, err := renderValues(name, docs, sets...)
	if err != nil {
		t.Fatal(err)
	}
	return b, out
}
