package values_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iotstack/iotstack/values"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const demoSchemaID = "https://example.com/demo.values.schema.json"

// compileSchema compiles the demo schema with a real JSON Schema validator
// (which also checks it against the draft 2020-12 metaschema).
func compileSchema(t testing.TB) *jsonschema.Schema {
	t.Helper()
	cfg := Defaults()
	b, err := values.Schema(&cfg, demoSchemaID)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(demoSchemaID, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(demoSchemaID)
	if err != nil {
		t.Fatalf("the schema does not compile: %v", err)
	}
	return s
}

// instance converts a YAML document into the JSON instance an editor's
// validator sees; ok is false when the document is not plain JSON data.
func instance(doc string) (any, bool) {
	var v any
	if err := yaml.Unmarshal([]byte(doc), &v); err != nil {
		return nil, false
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, false
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return nil, false
	}
	return inst, true
}

// hasPath reports whether err holds a FieldError at path.
func hasPath(err error, path string) bool {
	var fes values.Errors
	if !errors.As(err, &fes) {
		return false
	}
	for _, e := range fes {
		if e.Path == path {
			return true
		}
	}
	return false
}

func TestSchemaAgreesWithDecoder(t *testing.T) {
	s := compileSchema(t)
	for _, c := range corpus {
		t.Run(c.name, func(t *testing.T) {
			cfg := Defaults()
			goErr := values.Load(&cfg, values.Doc{Name: "corpus.yaml", Data: []byte(c.doc)})
			inst, ok := instance(c.doc)
			if !ok {
				t.Fatalf("corpus document is not JSON data:\n%s", c.doc)
			}
			schemaErr := s.Validate(inst)
			wantValid := c.path == "" && !c.root
			if (goErr == nil) != wantValid {
				t.Errorf("Go decoder: got %v, want valid=%v", goErr, wantValid)
			}
			if !wantValid && !c.root && !hasPath(goErr, c.path) {
				t.Errorf("Go decoder: no error at %q in %v", c.path, goErr)
			}
			if (schemaErr == nil) != (wantValid || c.validateOnly) {
				t.Errorf("JSON Schema: got %v, want valid=%v", schemaErr, wantValid || c.validateOnly)
			}
		})
	}
}

func TestSchemaGolden(t *testing.T) {
	cfg := Defaults()
	got, err := values.Schema(&cfg, demoSchemaID)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := values.Schema(&cfg, demoSchemaID)
	if !bytes.Equal(got, again) {
		t.Fatal("Schema is not deterministic")
	}
	golden := filepath.Join("testdata", "demo.schema.json")
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
		t.Errorf("Schema differs from %s (go test ./values -run Golden -update, then review the diff)", golden)
	}
}

func TestSchemaDefaultsValidate(t *testing.T) {
	// The rendered defaults are a valid instance of the schema.
	s := compileSchema(t)
	cfg := Defaults()
	out, err := values.Render(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	inst, ok := instance(string(out))
	if !ok {
		t.Fatal("rendered defaults are not JSON data")
	}
	if err := s.Validate(inst); err != nil {
		t.Errorf("the schema rejects the rendered defaults: %v", err)
	}
}

func TestSchemaErrors(t *testing.T) {
	type recursive struct {
		Next *recursive `json:"next"`
	}
	for _, tc := range []struct {
		name string
		v    any
		want string
	}{
		{"not a struct", 3, "wants a struct"},
		{"recursive", &recursive{}, "contains itself"},
		{"unsupported", &struct{ C chan int }{}, "not supported"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := values.Schema(tc.v, "x")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
