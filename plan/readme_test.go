package plan

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/iotstack/iotstack/profiles"
)

var updateReadme = flag.Bool("update-readme", false, "rewrite the profiles' plans in README.md")

// TestREADMEPlans: README.md shows each profile's plan as plan -o markdown
// prints it with the default values, between <!-- plan:NAME --> and
// <!-- /plan:NAME -->.
func TestREADMEPlans(t *testing.T) {
	path := filepath.Join("..", "README.md")
	readme, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := readme
	for _, name := range profiles.Names() {
		begin, end := []byte("<!-- plan:"+name+" -->\n"), []byte("<!-- /plan:"+name+" -->")
		i, j := bytes.Index(out, begin), bytes.Index(out, end)
		if i < 0 || j < i {
			t.Errorf("README.md: no %s ... %s", begin[:len(begin)-1], end)
			continue
		}
		md := mustPlan(t, name, "").Markdown()
		if got := out[i+len(begin) : j]; !bytes.Equal(got, md) {
			if !*updateReadme {
				t.Errorf("README.md: the plan of %s differs from iotstack plan %s -o markdown; run go test ./plan -run README -update-readme", name, name)
			}
			out = append(append(append([]byte{}, out[:i+len(begin)]...), md...), out[j:]...)
		}
	}
	if *updateReadme && !bytes.Equal(out, readme) {
		if err := os.WriteFile(path, out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
