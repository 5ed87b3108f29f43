package values_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/iotstack/iotstack/values"
	"k8s.io/apimachinery/pkg/api/resource"
)

func TestRenderGolden(t *testing.T) {
	cfg := Defaults()
	got, err := values.Render(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "demo.values.yaml")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("Render differs from %s (go test ./values -run Golden -update, then review the diff)", golden)
	}
}

// roundTrip renders v and loads the document onto a zero value.
func roundTrip(t *testing.T, v Config) Config {
	t.Helper()
	out, err := values.Render(&v)
	if err != nil {
		t.Fatal(err)
	}
	again, err := values.Render(&v)
	if err != nil || !bytes.Equal(out, again) {
		t.Fatalf("Render is not deterministic: %v", err)
	}
	var back Config
	if err := values.Load(&back, values.Doc{Name: "rendered.yaml", Data: out}); err != nil {
		t.Fatalf("the rendered document does not load: %v\n%s", err, out)
	}
	return back
}

func TestRenderRoundTrip(t *testing.T) {
	full := Defaults()
	full.Namespace = "123"
	full.Topology.Zones = []string{"true", "null", "a: b", "#x", "  spaced  ", "multi\nline"}
	full.Topology.Pools = append(full.Topology.Pools, Pool{
		Name: "b", Arch: "amd64", CPU: resource.MustParse("1500m"), Memory: resource.MustParse("1.5Gi"), NodesPerZone: 100,
		Labels: map[string]string{"kubernetes.io/arch": "amd64", "z": "", "a": "yes"},
		Taints: []Taint{{Key: "k", Value: "v", Effect: "NoExecute"}},
	})
	full.Kafka.Retention = 90*time.Minute + 500*time.Millisecond
	full.Kafka.Storage = nil
	full.Images.Tags = map[string]string{"kafka": "4.1", "redis": "7.4.0"}
	full.Exposure.RequestScale = 0.1
	full.Exposure.TLS = true
	for name, v := range map[string]Config{
		"defaults": Defaults(),
		"full":     full,
		"zero":     {Kafka: Kafka{Brokers: 1, ReplicationFactor: 1}, Topology: Topology{Zones: []string{"a"}, Pools: []Pool{{NodesPerZone: 1, Arch: "arm64"}}}, Images: Images{PullPolicy: "Never"}},
	} {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(v, roundTrip(t, v), cmpOpts...); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestRenderErrors(t *testing.T) {
	if _, err := values.Render(3); err == nil {
		t.Error("Render(3): no error")
	}
	type textOnly struct {
		U unmarshalOnly `json:"u"`
	}
	if _, err := values.Render(textOnly{}); err == nil {
		t.Error("a TextUnmarshaler without TextMarshaler: no error")
	}
}

type unmarshalOnly struct{ s string }

func (u *unmarshalOnly) UnmarshalText(b []byte) error { u.s = string(b); return nil }

// commented has docs registered by TestRenderComments itself.
type commented struct {
	A int    `json:"a"`
	B string `json:"b"`
}

func TestRenderComments(t *testing.T) {
	values.RegisterDocs("github.com/iotstack/iotstack/values_test", map[string]values.TypeDocs{
		"commented": {Doc: "Root.\n\nSecond paragraph.", Fields: map[string]string{
			"A": "A has paragraphs.\n\n  a code block\n  # with a hash\n\nEnd.",
			"B": "#not a heading",
		}},
	})
	out, err := values.Render(commented{A: 1})
	if err != nil {
		t.Fatal(err)
	}
	want := `# Root.
#
# Second paragraph.

# A has paragraphs.
#
#   a code block
#   # with a hash
#
# End.
a: 1
# #not a heading
b: ""
`
	if diff := cmp.Diff(want, string(out)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
