package validate

import (
	"strings"
	"testing"

	"github.com/iotstack/iotstack/stack"
)

func schemaDirs(t *testing.T) map[string]string {
	t.Helper()
	cache, err := SchemaCache()
	if err != nil {
		t.Fatal(err)
	}
	dirs, err := EnsureSchemas(cache, KubernetesVersions)
	if err != nil {
		t.Fatalf("generating schemas (needs the Go module proxy the first time): %v", err)
	}
	return dirs
}

// TestSchemaCorpus: documents the schema layer must reject, for every
// supported minor, and a document without a schema, which must not pass
// silently.
func TestSchemaCorpus(t *testing.T) {
	dirs := schemaDirs(t)
	const sts = "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: kafka\nspec:\n  serviceName: kafka\n  selector:\n    matchLabels:\n      app: kafka\n  template:\n    metadata:\n      labels:\n        app: kafka\n    spec:\n      containers:\n      - name: kafka\n        image: apache/kafka:4.1.0\n"
	cases := []struct{ name, doc, want string }{
		{"valid", sts, ""},
		{"unknown field", sts + "        imagePullPolcy: Always\n", "additional properties 'imagePullPolcy' not allowed"},
		{"wrong type", strings.Replace(sts, "spec:\n  serviceName", "spec:\n  replicas: \"3\"\n  serviceName", 1), "replicas"},
		{"missing container name", strings.Replace(sts, "      - name: kafka\n        image", "      - image", 1), "missing property 'name'"},
		{"no schema", "apiVersion: example.org/v1\nkind: Fleet\nmetadata:\n  name: one\n", "could not find schema for Fleet"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := &stack.Output{
				Files:   []stack.File{{Name: "01-x.yaml", Data: []byte("# header\n---\n" + tc.doc)}},
				Objects: []stack.Rendered{{File: "01-x.yaml", Ref: stack.ObjectRef{Kind: "X", Name: "x"}}},
			}
			findings, err := CheckSchemas("test", out, dirs)
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == "" {
				if len(findings) != 0 {
					t.Fatalf("a valid document: %v", findings)
				}
				return
			}
			if len(findings) != len(dirs) {
				t.Fatalf("%d findings, want one per version (%d): %v", len(findings), len(dirs), findings)
			}
			for _, f := range findings {
				if !strings.Contains(f.Message, tc.want) {
					t.Errorf("finding %q does not contain %q", f.Message, tc.want)
				}
			}
		})
	}
}
