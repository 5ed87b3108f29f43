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
// dist/<profile>: `kubectl apply -k dist/<profile>` sees exactly the
// synthesized objects. (kustomize re-sorts them by its own legacy kind
// order, which also puts namespaces, CRDs and RBAC first.)
func TestKustomizeBuild(t *testing.T) {
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			outs, err := Synth(Options{}, name)
			if err != nil {
				t.Fatal(err)
			}
			k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
			res, err := k.Run(filesys.MakeFsOnDisk(), filepath.Join(distRoot, name))
			if err != nil {
				t.Fatalf("kustomize build dist/%s: %v", name, err)
			}
			var got, want []string
			for _, r := range res.Resources() {
				got = append(got, stack.ObjectRef{Kind: r.GetKind(), Namespace: r.GetNamespace(), Name: r.GetName()}.String())
			}
			for _, o := range outs[0].Objects {
				want = append(want, o.Ref.String())
			}
			sort.Strings(got)
			sort.Strings(want)
			if d := cmp.Diff(want, got); d != "" {
				t.Fatalf("kustomize build dist/%s (-synthesized +kustomize):\n%s", name, d)
			}
		})
	}
}
