package stack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	yaml2 "go.yaml.in/yaml/v2"
	yaml "go.yaml.in/yaml/v3"
)

// renderer turns objects into YAML. It is deterministic: keys are sorted
// (apiVersion, kind, metadata first; then name and namespace; then
// alphabetically), multi-line strings become literal block scalars, and
// strings a YAML 1.1 reader (kubectl, sigs.k8s.io/yaml) would take for a
// bool, number or null are quoted.
type renderer struct {
	quote   map[string]bool // plain string → must be quoted
	literal map[string]bool // multi-line string → a literal block reads back exactly
}

func newRenderer() *renderer {
	return &renderer{quote: map[string]bool{}, literal: map[string]bool{}}
}

// file renders a component's objects as one multi-document YAML file.
func (r *renderer) file(stack, component string, objs []*Rendered) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(header(stack, component))
	for _, o := range objs {
		b.WriteString("---\n")
		if err := r.object(&b, o.Object); err != nil {
			return nil, fmt.Errorf("%s: %w", o.Ref, err)
		}
	}
	return b.Bytes(), nil
}

func (r *renderer) object(b *bytes.Buffer, obj Object) error {
	raw, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return err
	}
	if m, ok := tree.(map[string]any); ok {
		delete(m, "status") // manifests carry desired state only
	}
	tree, _ = prune(tree, "")
	enc := yaml.NewEncoder(b)
	enc.SetIndent(2)
	enc.CompactSeqIndent()
	if err := enc.Encode(r.node(tree, 0)); err != nil {
		return err
	}
	return enc.Close()
}

// emptyNoise names the keys whose empty map is encoding noise, not
// meaning: Go structs without omitempty (status, resources, strategy,
// metadata after creationTimestamp: null is dropped, a Namespace's spec).
// Empty maps under any other key are kept: emptyDir: {} and an empty
// label selector both mean something.
var emptyNoise = map[string]bool{
	"status": true, "metadata": true, "resources": true, "spec": true,
	"strategy": true, "updateStrategy": true,
}

// prune drops nulls and noise-empty maps, bottom-up. It reports whether the
// value should be kept.
func prune(v any, key string) (any, bool) {
	switch t := v.(type) {
	case nil:
		return nil, false
	case map[string]any:
		for k, child := range t {
			if pv, keep := prune(child, k); keep {
				t[k] = pv
			} else {
				delete(t, k)
			}
		}
		if len(t) == 0 && emptyNoise[key] {
			return nil, false
		}
		return t, true
	case []any:
		for i, child := range t {
			t[i], _ = prune(child, "")
		}
		return t, true
	}
	return v, true
}

func keyRank(k string, depth int) int {
	if depth == 0 {
		switch k {
		case "apiVersion":
			return 0
		case "kind":
			return 1
		case "metadata":
			return 2
		}
	}
	switch k {
	case "name":
		return 3
	case "namespace":
		return 4
	}
	return 5
}

func (r *renderer) node(v any, depth int) *yaml.Node {
	switch t := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool {
			ri, rj := keyRank(keys[i], depth), keyRank(keys[j], depth)
			if ri != rj {
				return ri < rj
			}
			return keys[i] < keys[j]
		})
		n := &yaml.Node{Kind: yaml.MappingNode}
		for _, k := range keys {
			n.Content = append(n.Content, r.str(k), r.node(t[k], depth+1))
		}
		return n
	case []any:
		n := &yaml.Node{Kind: yaml.SequenceNode}
		for _, e := range t {
			n.Content = append(n.Content, r.node(e, depth+1))
		}
		return n
	case string:
		return r.str(t)
	case json.Number:
		tag := "!!int"
		if strings.ContainsAny(string(t), ".eE") {
			tag = "!!float"
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: string(t)}
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: fmt.Sprint(t)}
	case nil:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
	}
	// json.Decoder produces only the types above.
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: fmt.Sprint(v)}
}

func (r *renderer) str(s string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
	switch {
	case strings.Contains(s, "\n"):
		if r.literalSafe(s) {
			n.Style = yaml.LiteralStyle
		} else {
			n.Style = yaml.DoubleQuotedStyle
		}
	case r.ambiguous(s):
		n.Style = yaml.DoubleQuotedStyle
	}
	return n
}

// ambiguous reports whether a plain s would be read back by a YAML 1.1
// parser as something other than the string s: yes/no/on/off, 0777, 1:20,
// 1_000, ~ and the like. go-yaml v3 already quotes what YAML 1.2 would
// misread, but kubectl and sigs.k8s.io/yaml still read YAML 1.1 (cdk8s#172).
func (r *renderer) ambiguous(s string) bool {
	if s == "" || len(s) > 64 {
		return false // v3 quotes the empty string; long strings are not scalars of another type
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || strings.ContainsRune("+-._:~=<", c)) {
			return false
		}
	}
	if q, ok := r.quote[s]; ok {
		return q
	}
	var v any
	err := yaml2.Unmarshal([]byte(s), &v)
	got, isString := v.(string)
	q := err != nil || !isString || got != s
	r.quote[s] = q
	return q
}

// literalSafe reports whether s written as a literal block scalar reads
// back as s with a YAML 1.1 parser. Most multi-line text does; lines made
// of tabs and some whitespace patterns do not (go-yaml v2 rejects a tab
// where it expects indentation), and those fall back to a double-quoted
// scalar, which always round-trips.
func (r *renderer) literalSafe(s string) bool {
	if ok, seen := r.literal[s]; seen {
		return ok
	}
	doc := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{
		{Kind: yaml.ScalarNode, Tag: "!!str", Value: "v"},
		{Kind: yaml.ScalarNode, Tag: "!!str", Value: s, Style: yaml.LiteralStyle},
	}}
	ok := false
	if out, err := yaml.Marshal(doc); err == nil {
		var back map[string]string
		ok = yaml2.Unmarshal(out, &back) == nil && back["v"] == s
	}
	r.literal[s] = ok
	return ok
}
