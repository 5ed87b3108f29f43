package profiles

import (
	"path/filepath"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/iotstack/iotstack/stack"
)

// TestKustomizeBuild runs the kustomize library that kubectl 1.34 embeds
// (kustomize/api v0.20.1, kustomize v5.7.1) over each committed
// dist/<profile> and its separately applied parts: `kubectl apply -k`
// sees exactly the synthesized objects. (kustomize re-sorts them by its
// own legacy kind order, which also puts namespaces, CRDs and RBAC first.)
func TestKustomizeBuild(t *testing.T) {
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			p, _ := Get(name)
			b, err := p.BuildAll(Options{})
			if err != nil {
				t.Fatal(err)
			}
			out, err := b.Stack.Synth()
			if err != nil {
				t.Fatal(err)
			}
			kustomizeMatches(t, filepath.Join(distRoot, name), out)
			for _, part := range b.Parts {
				po, err := part.Stack.Synth()
				if err != nil {
					t.Fatal(err)
				}
				kustomizeMatches(t, filepath.Join(distRoot, name, part.Dir), po)
			}
		})
	}
}

// kustomizeMatches builds dir with kustomize and compares the objects it
// sees with out's.
func kustomizeMatches(t *testing.T, dir string, out *stack.Output) {
	t.Helper()
	res, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	var got, want []string
	for _, r := range res.Resources() {
		got = append(got, stack.ObjectRef{Kind: r.GetKind(), Namespace: r.GetNamespace(), Name: r.GetName()}.String())
	}
	for _, o := range out.Objects {
		want = append(want, o.Ref.String())
	}
	sort.Strings(got)
	sort.Strings(want)
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("kustomize build %s (-synthesized +kustomize):\n%s", dir, d)
	}
}
