package values

import (
	"bytes"
	"encoding"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Render returns the YAML values document of v (a struct or a pointer to
// one): every field, in declaration order, with its doc comment (from
// RegisterDocs) and its allowed values or bounds as a comment above it;
// map keys sorted; nil pointers as null; lists of scalars in flow style.
// Fields inside list items are commented in the first item only. The
// output is deterministic, and Load of it onto a zero value gives back v.
func Render(v any) ([]byte, error) {
	rv, ti, err := structOf(v, "Render")
	if err != nil {
		return nil, err
	}
	n, err := encode(rv, ti, true, 0)
	if err != nil {
		return nil, err
	}
	doc := &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{n}}
	doc.HeadComment = yamlComment(rootDoc(rv.Type()))
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("values: render: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("values: render: %w", err)
	}
	return b.Bytes(), nil
}

// encode builds the YAML node of v; comments adds field docs.
func encode(v reflect.Value, ti *typeInfo, comments bool, depth int) (*yaml.Node, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("values: render: value nested deeper than %d levels (a cycle?)", maxDepth)
	}
	switch ti.kind {
	case kPtr:
		if v.IsNil() {
			return nullNode(), nil
		}
		return encode(v.Elem(), ti.elem, comments, depth+1)
	case kStruct:
		m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		for _, f := range ti.fields {
			k := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: f.key}
			if comments {
				k.HeadComment = yamlComment(fieldComment(f))
			}
			val, err := encode(v.FieldByIndex(f.index), f.info, comments, depth+1)
			if err != nil {
				return nil, err
			}
			m.Content = append(m.Content, k, val)
		}
		if len(m.Content) == 0 {
			m.Style = yaml.FlowStyle
		}
		return m, nil
	case kSlice:
		s := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for i := 0; i < v.Len(); i++ {
			item, err := encode(v.Index(i), ti.elem, comments && i == 0, depth+1)
			if err != nil {
				return nil, err
			}
			s.Content = append(s.Content, item)
		}
		if len(s.Content) == 0 || scalarKind(ti.elem) {
			s.Style = yaml.FlowStyle
		}
		return s, nil
	case kMap:
		m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		for _, k := range sortedKeys(v) {
			val, err := encode(v.MapIndex(k), ti.elem, comments, depth+1)
			if err != nil {
				return nil, err
			}
			m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k.String()}, val)
		}
		if len(m.Content) == 0 {
			m.Style = yaml.FlowStyle
		}
		return m, nil
	case kString:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v.String()}, nil
	case kBool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(v.Bool())}, nil
	case kInt:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatInt(v.Int(), 10)}, nil
	case kUint:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatUint(v.Uint(), 10)}, nil
	case kFloat:
		f := v.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("values: render: %v cannot be written in a values document", f)
		}
		s := strconv.FormatFloat(f, 'g', -1, v.Type().Bits())
		tag := "!!float"
		if !strings.ContainsAny(s, ".eE") {
			tag = "!!int" // written as 3, not !!float 3
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: s}, nil
	case kQuantity:
		q := v.Interface().(resource.Quantity)
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: q.String()}, nil
	case kDuration:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: time.Duration(v.Int()).String()}, nil
	case kText:
		p := reflect.New(ti.t)
		p.Elem().Set(v)
		m, ok := p.Interface().(encoding.TextMarshaler)
		if !ok {
			return nil, fmt.Errorf("values: render: %s implements encoding.TextUnmarshaler but not encoding.TextMarshaler", ti.t)
		}
		b, err := m.MarshalText()
		if err != nil {
			return nil, fmt.Errorf("values: render: %s: %w", ti.t, err)
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: string(b)}, nil
	}
	return nil, fmt.Errorf("values: render: unsupported type %s", ti.t)
}

func nullNode() *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
}

// scalarKind reports whether ti is written as one scalar.
func scalarKind(ti *typeInfo) bool {
	switch ti.kind {
	case kStruct, kSlice, kMap:
		return false
	case kPtr:
		return scalarKind(ti.elem)
	}
	return true
}

// fieldComment is a field's doc plus what its tags allow.
func fieldComment(f *fieldInfo) string {
	doc := fieldDoc(f)
	var extra []string
	if e := f.allowed(); e != nil {
		extra = append(extra, "Allowed values: "+strings.Join(e, ", ")+".")
	}
	if b := boundsText(f); b != "" {
		extra = append(extra, b)
	}
	if len(extra) > 0 {
		if doc != "" {
			doc += "\n"
		}
		doc += strings.Join(extra, " ")
	}
	return doc
}

// boundsText describes a field's min and max tags.
func boundsText(f *fieldInfo) string {
	base := f.info
	if base.kind == kPtr {
		base = base.elem
	}
	noun := func(r *big.Rat) string {
		one := r.Cmp(big.NewRat(1, 1)) == 0
		switch {
		case base.kind == kSlice && one:
			return " item"
		case base.kind == kSlice:
			return " items"
		case base.kind == kMap && one:
			return " entry"
		case base.kind == kMap:
			return " entries"
		}
		return ""
	}
	switch {
	case f.min != nil && f.max != nil:
		return fmt.Sprintf("From %s to %s%s.", f.min.RatString(), f.max.RatString(), noun(f.max))
	case f.min != nil:
		return fmt.Sprintf("At least %s%s.", f.min.RatString(), noun(f.min))
	case f.max != nil:
		return fmt.Sprintf("At most %s%s.", f.max.RatString(), noun(f.max))
	}
	return ""
}

// yamlComment prefixes every line of a doc comment with "# " ("#" for an
// empty line), so that paragraphs stay in one comment block and a line
// that starts with # stays text.
func yamlComment(doc string) string {
	if doc == "" {
		return ""
	}
	lines := strings.Split(doc, "\n")
	for i, l := range lines {
		if l == "" {
			lines[i] = "#"
		} else {
			lines[i] = "# " + l
		}
	}
	return strings.Join(lines, "\n")
}
