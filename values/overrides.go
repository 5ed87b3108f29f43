package values

import (
	"bytes"
	"fmt"
	"reflect"

	"go.yaml.in/yaml/v3"
)

// RenderOverrides returns a values document of what v changes from
// defaults (two values of the same struct type): loaded onto defaults, it
// gives back v. It is what a rendered directory can record to be rebuilt
// from: the user's overrides, not a copy of every default. Changed fields
// carry their doc comments; lists and scalars that differ are written
// whole (lists replace); a struct or map that differs is written key by
// key; a map entry or pointer that v drops is written as null; a pointer
// or map entry that v adds is written whole. With no difference it
// returns "{}\n".
func RenderOverrides(defaults, v any) ([]byte, error) {
	dv, ti, err := structOf(defaults, "RenderOverrides")
	if err != nil {
		return nil, err
	}
	cv, _, err := structOf(v, "RenderOverrides")
	if err != nil {
		return nil, err
	}
	if dv.Type() != cv.Type() {
		return nil, fmt.Errorf("values: RenderOverrides wants two values of one type, got %s and %s", dv.Type(), cv.Type())
	}
	n, changed, err := overrides(dv, cv, ti, 0)
	if err != nil {
		return nil, err
	}
	if !changed {
		return []byte("{}\n"), nil
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{n}}); err != nil {
		return nil, fmt.Errorf("values: render: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("values: render: %w", err)
	}
	return b.Bytes(), nil
}

// structOf dereferences v to a struct and returns its model.
func structOf(v any, fn string) (reflect.Value, *typeInfo, error) {
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer && !rv.IsNil() {
		rv = rv.Elem()
	}
	if rv.Kind() != reflect.Struct {
		return reflect.Value{}, nil, fmt.Errorf("values: %s wants a struct or a pointer to one, got %T", fn, v)
	}
	ti, err := model(rv.Type())
	if err != nil {
		return reflect.Value{}, nil, err
	}
	return rv, ti, nil
}

// overrides returns the node that turns d into c, and whether one is
// needed.
func overrides(d, c reflect.Value, ti *typeInfo, depth int) (*yaml.Node, bool, error) {
	if depth > maxDepth {
		return nil, false, fmt.Errorf("values: render: value nested deeper than %d levels (a cycle?)", maxDepth)
	}
	switch ti.kind {
	case kPtr:
		switch {
		case c.IsNil() && d.IsNil():
			return nil, false, nil
		case c.IsNil():
			return nullNode(), true, nil
		case d.IsNil():
			n, err := encode(c.Elem(), ti.elem, true, depth+1)
			return n, true, err
		}
		return overrides(d.Elem(), c.Elem(), ti.elem, depth+1)
	case kStruct:
		m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		for _, f := range ti.fields {
			n, changed, err := overrides(d.FieldByIndex(f.index), c.FieldByIndex(f.index), f.info, depth+1)
			if err != nil {
				return nil, false, err
			}
			if changed {
				k := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: f.key, HeadComment: yamlComment(fieldComment(f))}
				m.Content = append(m.Content, k, n)
			}
		}
		return m, len(m.Content) > 0, nil
	case kMap:
		m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		for _, k := range sortedKeys(c) {
			var n *yaml.Node
			changed := true
			var err error
			if old := mapIndex(d, k); old.IsValid() {
				n, changed, err = overrides(old, c.MapIndex(k), ti.elem, depth+1)
			} else {
				n, err = encode(c.MapIndex(k), ti.elem, true, depth+1)
			}
			if err != nil {
				return nil, false, err
			}
			if changed {
				m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k.String()}, n)
			}
		}
		for _, k := range sortedKeys(d) {
			if !mapIndex(c, k).IsValid() {
				m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k.String()}, nullNode())
			}
		}
		return m, len(m.Content) > 0, nil
	}
	// Scalars and lists: written whole when they differ.
	dn, err := encode(d, ti, false, depth)
	if err != nil {
		return nil, false, err
	}
	cn, err := encode(c, ti, false, depth)
	if err != nil {
		return nil, false, err
	}
	db, err := yaml.Marshal(dn)
	if err != nil {
		return nil, false, fmt.Errorf("values: render: %w", err)
	}
	cb, err := yaml.Marshal(cn)
	if err != nil {
		return nil, false, fmt.Errorf("values: render: %w", err)
	}
	if bytes.Equal(db, cb) {
		return nil, false, nil
	}
	n, err := encode(c, ti, true, depth)
	return n, true, err
}

// mapIndex is MapIndex that tolerates a nil map.
func mapIndex(m, k reflect.Value) reflect.Value {
	if m.IsNil() {
		return reflect.Value{}
	}
	return m.MapIndex(k)
}
