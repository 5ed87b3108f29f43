package values

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// setFile names --set overrides in errors.
const setFile = "--set"

// segment is one step of a --set path: a key or a list index.
type segment struct {
	key     string
	index   int
	isIndex bool
}

// splitSet splits PATH=VALUE at the first '=' that is not escaped.
func splitSet(expr string) (path, value string, ok bool) {
	for i := 0; i < len(expr); i++ {
		switch expr[i] {
		case '\\':
			i++
		case '=':
			return expr[:i], expr[i+1:], i > 0
		}
	}
	return "", "", false
}

// parsePath reads a --set path: keys separated by dots, list indexes in
// brackets ([0]), map keys that contain dots either escaped (a\.b) or
// quoted in brackets (labels["kubernetes.io/arch"]).
func parsePath(p string) ([]segment, error) {
	var segs []segment
	i := 0
	expectKey := true
	for i < len(p) {
		switch {
		case p[i] == '[':
			end := strings.IndexByte(p[i:], ']')
			if i+1 < len(p) && p[i+1] == '"' {
				// A quoted key: find the closing quote, then ].
				q, err := strconv.QuotedPrefix(p[i+1:])
				if err != nil || i+1+len(q) >= len(p) || p[i+1+len(q)] != ']' {
					return nil, fmt.Errorf("unterminated quoted key at offset %d; write [\"key\"]", i)
				}
				k, _ := strconv.Unquote(q)
				segs = append(segs, segment{key: k})
				i += len(q) + 2
				expectKey = false
				continue
			}
			if end < 0 {
				return nil, fmt.Errorf("missing ] after offset %d", i)
			}
			n, err := strconv.Atoi(p[i+1 : i+end])
			if err != nil || n < 0 || strings.HasPrefix(p[i+1:i+end], "+") {
				return nil, fmt.Errorf("list index %q is not a non-negative integer", p[i+1:i+end])
			}
			segs = append(segs, segment{index: n, isIndex: true})
			i += end + 1
			expectKey = false
		case p[i] == '.':
			if expectKey {
				return nil, fmt.Errorf("empty key at offset %d", i)
			}
			i++
			expectKey = true
			if i == len(p) {
				return nil, fmt.Errorf("the path ends with a dot")
			}
		default:
			if !expectKey {
				return nil, fmt.Errorf("expected . or [ at offset %d", i)
			}
			var b strings.Builder
			for i < len(p) && p[i] != '.' && p[i] != '[' {
				if p[i] == '\\' && i+1 < len(p) {
					i++
				}
				b.WriteByte(p[i])
				i++
			}
			segs = append(segs, segment{key: b.String()})
			expectKey = false
		}
	}
	if len(segs) == 0 || segs[0].isIndex {
		return nil, fmt.Errorf("a path starts with a key")
	}
	return segs, nil
}

// applySet applies one PATH=VALUE override onto v.
func applySet(v reflect.Value, ti *typeInfo, expr string, errs *Errors) {
	if !utf8.ValidString(expr) {
		*errs = append(*errs, FieldError{File: setFile, Value: shorten(strconv.Quote(expr)),
			Message: "not valid UTF-8; values are UTF-8 text, as in a YAML document"})
		return
	}
	p, val, ok := splitSet(expr)
	if !ok {
		*errs = append(*errs, FieldError{File: setFile, Value: shorten(strconv.Quote(expr)),
			Message: "expected PATH=VALUE, such as namespace=prod or topology.zones[0]=us-east-1a"})
		return
	}
	segs, err := parsePath(p)
	if err != nil {
		*errs = append(*errs, FieldError{File: setFile, Path: p, Message: "not a values path: " + err.Error()})
		return
	}
	d := &decoder{file: setFile, errs: errs, lineless: true}
	d.setAt(v, ti, segs, "", val, nil)
}

// setAt walks segs from v and assigns val at the end.
func (d *decoder) setAt(v reflect.Value, ti *typeInfo, segs []segment, path, val string, fi *fieldInfo) {
	if ti.kind == kPtr {
		if len(segs) == 0 && val == "null" {
			v.Set(reflect.Zero(ti.t))
			return
		}
		if v.IsNil() {
			v.Set(reflect.New(ti.elem.t))
		}
		d.setAt(v.Elem(), ti.elem, segs, path, val, fi)
		return
	}
	if len(segs) == 0 {
		d.assign(v, ti, path, val, fi)
		return
	}
	s := segs[0]
	if s.isIndex {
		if ti.kind != kSlice {
			d.fail(indexPath(path, s.index), nil, "", "%s is %s, not a list; an index [%d] does not apply", orRoot(path), ti.describe(), s.index)
			return
		}
		n := v.Len()
		ip := indexPath(path, s.index)
		switch {
		case s.index > n:
			d.fail(ip, nil, "", "index %d is beyond the end of the list (%d items); use [%d] to append", s.index, n, n)
			return
		case s.index == n:
			v.Set(reflect.Append(v, reflect.Zero(ti.elem.t)))
			d.count(path, nil, fi, n+1, "items")
		}
		if len(segs) == 1 && val == "null" {
			d.fail(ip, nil, "null", "a list item cannot be null; expected %s", ti.elem.describe())
			return
		}
		d.setAt(v.Index(s.index), ti.elem, segs[1:], ip, val, nil)
		return
	}
	kp := keyPath(path, s.key)
	switch ti.kind {
	case kStruct:
		f := ti.byKey[s.key]
		if f == nil {
			d.unknown(kp, nil, s.key, ti.keys())
			return
		}
		d.setAt(v.FieldByIndex(f.index), f.info, segs[1:], kp, val, f)
	case kMap:
		k := reflect.ValueOf(s.key).Convert(ti.t.Key())
		if len(segs) == 1 && val == "null" {
			if !v.IsNil() {
				v.SetMapIndex(k, reflect.Value{})
			}
			return
		}
		e := reflect.New(ti.elem.t).Elem()
		if !v.IsNil() {
			if old := v.MapIndex(k); old.IsValid() {
				e.Set(old)
			}
		}
		d.setAt(e, ti.elem, segs[1:], kp, val, nil)
		if v.IsNil() {
			v.Set(reflect.MakeMap(ti.t))
		}
		v.SetMapIndex(k, e)
		d.count(path, nil, fi, v.Len(), "entries")
	default:
		d.fail(kp, nil, "", "%s is %s; it has no key %q", orRoot(path), ti.describe(), s.key)
	}
}

func orRoot(path string) string {
	if path == "" {
		return "the document"
	}
	return path
}

// stringLike reports whether a --set value for ti is taken literally.
func stringLike(ti *typeInfo) bool {
	switch ti.kind {
	case kString, kText, kQuantity, kDuration:
		return true
	}
	return false
}

// assign parses val as the type of the target and sets it.
func (d *decoder) assign(v reflect.Value, ti *typeInfo, path, val string, fi *fieldInfo) {
	if val == "null" {
		d.reset(v, ti, path, nil, fi)
		return
	}
	if stringLike(ti) {
		d.value(v, ti, strNode(val), path, fi, false)
		return
	}
	if ti.kind == kSlice && strings.HasPrefix(val, "{") && strings.HasSuffix(val, "}") {
		// Helm's list syntax: {a,b,c}.
		seq := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		if inner := val[1 : len(val)-1]; inner != "" {
			for _, item := range strings.Split(inner, ",") {
				if stringLike(ti.elem) {
					seq.Content = append(seq.Content, strNode(item))
					continue
				}
				n, ok := d.parseValue(path, item, ti.elem)
				if !ok {
					return
				}
				seq.Content = append(seq.Content, n)
			}
		}
		d.value(v, ti, seq, path, fi, false)
		return
	}
	n, ok := d.parseValue(path, val, ti)
	if !ok {
		return
	}
	if isNull(n) {
		d.fail(path, nil, strconv.Quote(val), "expected %s", ti.describe())
		return
	}
	d.value(v, ti, n, path, fi, false)
}

func strNode(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
}

// parseValue reads a --set value as YAML (flow lists and mappings, numbers,
// booleans).
func (d *decoder) parseValue(path, val string, ti *typeInfo) (*yaml.Node, bool) {
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(val), &n); err != nil {
		msg := err.Error()
		if m := yamlLine.FindStringSubmatch(msg); m != nil {
			msg = m[2]
		}
		d.fail(path, nil, shorten(strconv.Quote(val)), "expected %s (%s)", ti.describe(), msg)
		return nil, false
	}
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		return n.Content[0], true
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null"}, true
}
