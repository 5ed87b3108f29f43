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
	const cert = "apiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata:\n  name: tb-mqtts\nspec:\n  secretName: tb-mqtts-tls\n  dnsNames:\n  - mqtt.example.com\n  issuerRef:\n    name: letsencrypt\n    kind: ClusterIssuer\n    group: cert-manager.io\n  usages:\n  - server auth\n"
	checkSchemaCases(t, dirs, []schemaCase{
		{"valid", sts, ""},
		{"valid enums", strings.Replace(sts, "spec:\n  serviceName", "spec:\n  podManagementPolicy: Parallel\n  serviceName", 1) + "        imagePullPolicy: IfNotPresent\n", ""},
		{"unknown field", sts + "        imagePullPolcy: Always\n", "additional properties 'imagePullPolcy' not allowed"},
		{"wrong type", strings.Replace(sts, "spec:\n  serviceName", "spec:\n  replicas: \"3\"\n  serviceName", 1), "replicas"},
		{"missing container name", strings.Replace(sts, "      - name: kafka\n        image", "      - image", 1), "missing property 'name'"},
		{"enum typo", strings.Replace(sts, "spec:\n  serviceName", "spec:\n  podManagementPolicy: Paralel\n  serviceName", 1), "podManagementPolicy"},
		{"enum typo in a container", sts + "        imagePullPolicy: Alwayz\n", "imagePullPolicy"},
		{"enum typo in a list", strings.Replace(sts, "        image: apache/kafka:4.1.0\n", "        image: apache/kafka:4.1.0\n        ports:\n        - containerPort: 9092\n          protocol: tcp\n", 1), "protocol"},
		{"no schema", "apiVersion: example.org/v1\nkind: Fleet\nmetadata:\n  name: one\n", "could not find schema for Fleet"},
		{"cert-manager Certificate", cert, ""},
		{"Certificate field typo", strings.Replace(cert, "secretName", "secretNme", 1), "secretNme"},
		{"Certificate usage typo", strings.Replace(cert, "server auth", "server-auth", 1), "usages"},
	})
}

// TestEnumsOf: the enums come from the generated definitions' syntax, for
// a property and for the items of a list.
func TestEnumsOf(t *testing.T) {
	src := `package openapi

func GetOpenAPIDefinitions(ref common.ReferenceCallback) map[string]common.OpenAPIDefinition {
	return map[string]common.OpenAPIDefinition{
		"k8s.io/api/apps/v1.StatefulSetSpec": schema_k8sio_api_apps_v1_StatefulSetSpec(ref),
	}
}

func schema_k8sio_api_apps_v1_StatefulSetSpec(ref common.ReferenceCallback) common.OpenAPIDefinition {
	return common.OpenAPIDefinition{Schema: spec.Schema{SchemaProps: spec.SchemaProps{
		Properties: map[string]spec.Schema{
			"podManagementPolicy": {SchemaProps: spec.SchemaProps{Type: []string{"string"}, Enum: []interface{}{"OrderedReady", "Parallel"}}},
			"verbs": {SchemaProps: spec.SchemaProps{Type: []string{"array"}, Items: &spec.SchemaOrArray{Schema: &spec.Schema{SchemaProps: spec.SchemaProps{Enum: []interface{}{"get", "list"}}}}}},
			"replicas": {SchemaProps: spec.SchemaProps{Type: []string{"integer"}}},
		},
	}}}
}
`
	enums, err := enumsOf([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	got := enums["io.k8s.api.apps.v1.StatefulSetSpec"]
	if len(got) != 2 || got["podManagementPolicy"].items || len(got["podManagementPolicy"].values) != 2 || !got["verbs"].items || got["verbs"].values[1] != "list" {
		t.Fatalf("enums: %+v", enums)
	}
	if _, err := enumsOf([]byte("package openapi\n")); err == nil {
		t.Fatal("a file without GetOpenAPIDefinitions must be an error")
	}
	if n := swaggerName("k8s.io/apimachinery/pkg/apis/meta/v1.ObjectMeta"); n != "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta" {
		t.Fatalf("swaggerName: %s", n)
	}
}

// schemaCase is a document and the text every schema finding must hold
// ("" for a valid document).
type schemaCase struct{ name, doc, want string }

// checkSchemaCases runs each document through CheckSchemas: a valid one
// has no finding, an invalid one one finding per Kubernetes version, each
// naming what is wrong.
func checkSchemaCases(t *testing.T, dirs map[string]string, cases []schemaCase) {
	t.Helper()
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
