package validate

import (
	"archive/zip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/yannh/kubeconform/pkg/resource"
	"github.com/yannh/kubeconform/pkg/validator"

	"github.com/iotstack/iotstack/stack"
)

// KubernetesVersions are the minors whose OpenAPI schemas every document
// is checked against: the k8s.io/kubernetes modules the Go module proxy
// serves, each carrying api/openapi-spec/swagger.json.
var KubernetesVersions = []string{"v1.32.13", "v1.33.13", "v1.34.2"}

// Schema is the schema-validation rule.
var Schema = Rule{"schema", "every document matches the OpenAPI schema of each supported Kubernetes minor, strictly: no unknown fields, types and enum values as the API declares them"}

// SchemaCache is where generated schemas are kept: outside the repository,
// under the user's cache directory.
func SchemaCache() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "iotstack", "schemas"), nil
}

// EnsureSchemas generates, once per version, kubeconform-layout JSON
// schemas (<kind>[-<group>]-<version>.json) from the OpenAPI spec inside
// the k8s.io/kubernetes module of that version, downloaded through the Go
// module proxy. It returns the directory of each version.
func EnsureSchemas(cache string, versions []string) (map[string]string, error) {
	dirs := map[string]string{}
	for _, v := range versions {
		dir := filepath.Join(cache, v)
		dirs[v] = dir
		if done, err := os.ReadFile(filepath.Join(dir, ".complete")); err == nil && string(done) == schemaFormat {
			continue
		}
		spec, generated, err := openAPIOf(v)
		if err != nil {
			return nil, err
		}
		enums, err := enumsOf(generated)
		if err != nil {
			return nil, fmt.Errorf("schemas %s: %w", v, err)
		}
		if err := os.MkdirAll(cache, 0o755); err != nil {
			return nil, err
		}
		tmp, err := os.MkdirTemp(cache, "."+v+"-")
		if err != nil {
			return nil, err
		}
		if err := writeSchemas(tmp, spec, enums); err != nil {
			os.RemoveAll(tmp)
			return nil, fmt.Errorf("schemas %s: %w", v, err)
		}
		if err := os.WriteFile(filepath.Join(tmp, ".complete"), []byte(schemaFormat), 0o644); err != nil {
			os.RemoveAll(tmp)
			return nil, err
		}
		os.RemoveAll(dir)
		if err := os.Rename(tmp, dir); err != nil {
			return nil, err
		}
	}
	return dirs, nil
}

// schemaFormat marks a cached schema directory as written by this
// generator; a cache written by an older one is regenerated.
const schemaFormat = "iotstack-schemas 2 (strict, int-or-string, enums)"

// openAPIOf downloads k8s.io/kubernetes@version with the go command and
// reads from its zip the checked-in swagger spec and the generated OpenAPI
// definitions (the source of the enums).
func openAPIOf(version string) (swagger, generated []byte, err error) {
	cmd := exec.Command("go", "mod", "download", "-json", "k8s.io/kubernetes@"+version)
	cmd.Dir = os.TempDir() // outside any module
	cmd.Env = append(os.Environ(), "GOFLAGS=")
	out, err := cmd.Output()
	if err != nil {
		return nil, nil, fmt.Errorf("go mod download k8s.io/kubernetes@%s: %v\n%s", version, err, out)
	}
	var info struct{ Zip, Error string }
	if err := json.Unmarshal(out, &info); err != nil || info.Zip == "" {
		return nil, nil, fmt.Errorf("go mod download k8s.io/kubernetes@%s: %s %v", version, info.Error, err)
	}
	z, err := zip.OpenReader(info.Zip)
	if err != nil {
		return nil, nil, err
	}
	defer z.Close()
	read := func(path string) ([]byte, error) {
		name := "k8s.io/kubernetes@" + version + "/" + path
		for _, f := range z.File {
			if f.Name == name {
				r, err := f.Open()
				if err != nil {
					return nil, err
				}
				defer r.Close()
				return io.ReadAll(r)
			}
		}
		return nil, fmt.Errorf("%s has no %s", info.Zip, name)
	}
	if swagger, err = read("api/openapi-spec/swagger.json"); err != nil {
		return nil, nil, err
	}
	if generated, err = read("pkg/generated/openapi/zz_generated.openapi.go"); err != nil {
		return nil, nil, err
	}
	return swagger, generated, nil
}

// writeSchemas converts a swagger 2.0 spec: every definition goes into
// _definitions.json, with the enums added, made strict (no properties
// beyond those declared) and with int-or-string as a string or an
// integer; each definition with a group-version-kind gets a file referring
// to it.
func writeSchemas(dir string, spec []byte, enums map[string]map[string]enumSet) error {
	var doc struct {
		Definitions map[string]map[string]any `json:"definitions"`
	}
	if err := json.Unmarshal(spec, &doc); err != nil {
		return err
	}
	if n := addEnums(doc.Definitions, enums); n < 50 {
		return fmt.Errorf("only %d enums matched the spec's definitions; the generated definitions changed shape", n)
	}
	for _, def := range doc.Definitions {
		strict(def)
	}
	defs, err := json.Marshal(map[string]any{"definitions": doc.Definitions})
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "_definitions.json"), defs, 0o644); err != nil {
		return err
	}
	for name, def := range doc.Definitions {
		gvks, _ := def["x-kubernetes-group-version-kind"].([]any)
		for _, g := range gvks {
			m, _ := g.(map[string]any)
			group, _ := m["group"].(string)
			version, _ := m["version"].(string)
			kind, _ := m["kind"].(string)
			suffix := "-" + version
			if group != "" {
				suffix = "-" + strings.ToLower(strings.Split(group, ".")[0]) + suffix
			}
			ref, _ := json.Marshal(map[string]any{"$ref": "_definitions.json#/definitions/" + name})
			if err := os.WriteFile(filepath.Join(dir, strings.ToLower(kind)+suffix+".json"), ref, 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}

// strict rewrites a schema in place: objects with declared properties
// accept no others, int-or-string accepts both.
func strict(s map[string]any) {
	if s["format"] == "int-or-string" {
		delete(s, "format")
		delete(s, "type")
		s["oneOf"] = []any{map[string]any{"type": "string"}, map[string]any{"type": "integer"}}
	}
	if props, ok := s["properties"].(map[string]any); ok {
		if _, has := s["additionalProperties"]; !has {
			s["additionalProperties"] = false
		}
		for _, p := range props {
			if m, ok := p.(map[string]any); ok {
				strict(m)
			}
		}
	}
	for _, k := range []string{"items", "additionalProperties"} {
		if m, ok := s[k].(map[string]any); ok {
			strict(m)
		}
	}
}

// CheckSchemas validates every rendered document of out against each
// version's schemas with kubeconform, strictly; a document without a
// schema is a finding too (kubeconform would otherwise skip it). Custom
// resources are checked against crdSchemas.
func CheckSchemas(profile string, out *stack.Output, dirs map[string]string) ([]Finding, error) {
	var findings []Finding
	docs, _ := documents(out) // a mismatch is the strict-decode rule's finding
	for _, v := range sortedKeys(dirs) {
		crds, err := crdSchemaDir(dirs[v])
		if err != nil {
			return nil, err
		}
		val, err := validator.New([]string{
			filepath.Join(dirs[v], "{{ .ResourceKind }}{{ .KindSuffix }}.json"),
			filepath.Join(crds, "{{ .ResourceKind }}{{ .KindSuffix }}.json"),
		}, validator.Opts{Strict: true})
		if err != nil {
			return nil, err
		}
		for _, d := range docs {
			res := val.ValidateResource(resource.Resource{Path: d.r.File, Bytes: d.data})
			finding := Finding{Profile: profile, File: d.r.File, Object: d.r.Ref.String(), Rule: Schema.Name}
			switch res.Status {
			case validator.Valid:
				continue
			case validator.Invalid:
				msg := "invalid"
				if res.Err != nil {
					msg = strings.Join(strings.Fields(res.Err.Error()), " ")
				}
				finding.Message = fmt.Sprintf("Kubernetes %s: %s", v, msg)
			case validator.Skipped:
				finding.Message = fmt.Sprintf("Kubernetes %s: no schema, skipped", v)
			default:
				finding.Message = fmt.Sprintf("Kubernetes %s: %v", v, res.Err)
			}
			findings = append(findings, finding)
		}
	}
	return findings, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}
