package stack

import (
	"path/filepath"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// TestKustomizeAcceptsOutput builds the golden sample with the kustomize
// library kubectl embeds: every object is seen, the tricky ConfigMap values
// included.
func TestKustomizeAcceptsOutput(t *testing.T) {
	_, out := synthEcho(t)
	dir := t.TempDir()
	if err := Write(Target{Dir: filepath.Join(dir, "s"), Output: out}); err != nil {
		t.Fatal(err)
	}
	res, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), filepath.Join(dir, "s"))
	if err != nil {
		t.Fatal(err)
	}
	var got, want []string
	for _, r := range res.Resources() {
		got = append(got, ObjectRef{Kind: r.GetKind(), Namespace: r.GetNamespace(), Name: r.GetName()}.String())
		if r.GetKind() == "ConfigMap" {
			data := r.GetDataMap()
			for k, v := range trickyStrings {
				if data["tricky-"+k] != v {
					t.Errorf("kustomize reads tricky-%s as %q; want %q", k, data["tricky-"+k], v)
				}
			}
		}
	}
	for _, o := range out.Objects {
		want = append(want, o.Ref.String())
	}
	sort.Strings(got)
	sort.Strings(want)
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("(-synthesized +kustomize):\n%s", d)
	}
}
