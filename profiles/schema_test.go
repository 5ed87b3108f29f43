package profiles

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"

	"github.com/iotstack/iotstack/values"
)

var updateSchemas = flag.Bool("update-schemas", false, "rewrite schemas/<profile>.schema.json")

// TestSchemasCurrent keeps the committed schemas/<profile>.schema.json,
// the files editors use (yaml-language-server), equal to what the Go
// types generate.
func TestSchemasCurrent(t *testing.T) {
	for _, name := range Names() {
		p, _ := Get(name)
		b, err := p.Schema()
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("..", "schemas", name+".schema.json")
		if *updateSchemas {
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		got, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(got, b) {
			t.Errorf("%s is stale or missing (%v): run go test ./profiles -run Schemas -update-schemas", path, err)
		}
	}
}

// TestSchemaCorpus checks that a real JSON Schema validator and the Go
// decoder accept and refuse the same values documents, for every profile.
// (Checks only a Validate method makes, such as a replication factor
// above the brokers, are beyond a schema; they are not in the corpus.)
func TestSchemaCorpus(t *testing.T) {
	corpus := []struct {
		name, doc string
		ok        bool
		// notFor is a profile whose Validate refuses the document for a
		// reason beyond a schema (tested where that check lives).
		notFor string
	}{
		{"empty", ``, true, ""},
		{"namespace", `namespace: lab`, true, ""},
		// small: local volumes without node affinity need one node
		// (TestDojotNodeAffinity); minimal-3az's EKS cluster needs AWS
		// zone names (TestEKSFollowsValues).
		{"zones", `topology: {zones: [eu-central-1a, eu-central-1b, eu-central-1c]}`, true, Small},
		{"registry", `images: {registry: registry.corp:5000}`, true, ""},
		{"request scale", `requestScale: 0.5`, true, ""},
		{"credentials", `credentials: {existingSecrets: {x: y}}`, true, ""},
		{"unknown top key", `namespaces: lab`, false, ""},
		{"unknown nested key", `topology: {zonez: [a]}`, false, ""},
		{"wrong type", `namespace: [a]`, false, ""},
		{"no zones", `topology: {zones: []}`, false, ""},
		{"bad arch", `topology: {pools: [{name: p, arch: sparc, cpu: "4", memory: 8Gi, nodesPerZone: 1}]}`, false, ""},
		{"bad quantity", `topology: {pools: [{name: p, arch: arm64, cpu: "4 cores", memory: 8Gi, nodesPerZone: 1}]}`, false, ""},
		{"nodes below min", `topology: {pools: [{name: p, arch: arm64, cpu: "4", memory: 8Gi, nodesPerZone: 0}]}`, false, ""},
		{"bad taint effect", `topology: {pools: [{name: p, arch: arm64, cpu: "4", memory: 8Gi, nodesPerZone: 1, taints: [{key: k, value: v, effect: Never}]}]}`, false, ""},
		{"bad load balancer", `topology: {loadBalancer: gce}`, false, ""},
		{"string for number", `requestScale: "0.5"`, false, ""},
	}
	for _, name := range Names() {
		p, _ := Get(name)
		b, err := p.Schema()
		if err != nil {
			t.Fatal(err)
		}
		id := "https://iotstack.io/schemas/" + name + ".schema.json"
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		c := jsonschema.NewCompiler()
		if err := c.AddResource(id, doc); err != nil {
			t.Fatal(err)
		}
		schema, err := c.Compile(id)
		if err != nil {
			t.Fatalf("%s: schema does not compile: %v", name, err)
		}
		for _, tc := range corpus {
			if tc.notFor == name {
				continue
			}
			var v any
			if err := yaml.Unmarshal([]byte(tc.doc), &v); err != nil {
				t.Fatal(err)
			}
			if v == nil {
				v = map[string]any{}
			}
			js, _ := json.Marshal(v)
			inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(js))
			if err != nil {
				t.Fatal(err)
			}
			schemaOK := schema.Validate(inst) == nil
			_, goErr := p.Load([]values.Doc{{Name: tc.name, Data: []byte(tc.doc)}}, nil)
			if schemaOK != tc.ok || (goErr == nil) != tc.ok {
				t.Errorf("%s %s: want ok=%v; schema ok=%v, Go decoder: %v", name, tc.name, tc.ok, schemaOK, goErr)
			}
		}
	}
}
