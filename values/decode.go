package values

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Doc is one values document: YAML or JSON (JSON is read as YAML, of which
// it is a subset), named for messages.
type Doc struct {
	// Name names the document in errors (usually its file name).
	Name string
	// Data is the document's text: one YAML document, a mapping at the top
	// (an empty document changes nothing).
	Data []byte
}

// ReadFile reads a values file into a Doc named by its path.
func ReadFile(path string) (Doc, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Doc{}, fmt.Errorf("values: %w", err)
	}
	return Doc{Name: path, Data: b}, nil
}

// Load decodes docs strictly, in order, onto the value into points to
// (a non-nil pointer to a struct whose current value holds the defaults),
// then validates the result as LoadAndSet does. It returns Errors holding
// every problem found, and changes *into only when there is none.
func Load(into any, docs ...Doc) error {
	return LoadAndSet(into, docs, nil)
}

// Set applies --set overrides (PATH=VALUE, see the package doc) in order
// onto *into, then validates the result as LoadAndSet does. Like Load, it
// returns every problem at once and changes *into only when there is none.
func Set(into any, exprs ...string) error {
	return LoadAndSet(into, nil, exprs)
}

// LoadAndSet is the whole merge, the one a command line needs: defaults
// (the value *into holds) ← docs in order ← overrides in order, then
// validation, once, on the result: first every field against its tags
// (which catches what decoding could not see: the fields of a list item
// that --set appended, defaults that break their own tags), then the
// Validate methods. Validation runs only when decoding found no error (a
// field that failed to decode still holds its default, and checks against
// it would mislead). *into is changed only on success.
func LoadAndSet(into any, docs []Doc, exprs []string) error {
	root, ti, err := target(into)
	if err != nil {
		return err
	}
	work := deepCopy(root, ti)
	var errs Errors
	for _, doc := range docs {
		first := len(errs)
		d := &decoder{file: doc.Name, errs: &errs}
		d.document(work, ti, doc.Data)
		// A document's errors in the order of its lines.
		slices.SortStableFunc(errs[first:], func(a, b FieldError) int {
			if a.Line != b.Line {
				return a.Line - b.Line
			}
			return a.Column - b.Column
		})
	}
	for _, e := range exprs {
		applySet(work, ti, e, &errs)
	}
	if len(errs) == 0 {
		errs = checkTags(work, ti, "")
	}
	if len(errs) == 0 {
		errs = validateTree(work, ti, "")
	}
	if len(errs) > 0 {
		return errs
	}
	root.Set(work)
	return nil
}

// target checks that into is a non-nil pointer to a struct.
func target(into any) (reflect.Value, *typeInfo, error) {
	v := reflect.ValueOf(into)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return reflect.Value{}, nil, fmt.Errorf("values: want a non-nil pointer to a struct, got %T", into)
	}
	ti, err := model(v.Elem().Type())
	if err != nil {
		return reflect.Value{}, nil, err
	}
	return v.Elem(), ti, nil
}

const (
	// maxSteps bounds the work of one document (aliases can make a small
	// document expand exponentially).
	maxSteps = 1 << 20
	// maxDepth bounds recursion (merge keys can refer to themselves).
	maxDepth = 500
)

type decoder struct {
	file  string
	errs  *Errors
	steps int
	depth int
	// abort is set once the budget is exhausted; everything after is skipped.
	abort bool
	// lineless is set for --set values, whose nodes have no useful lines.
	lineless bool
}

func (d *decoder) fail(path string, n *yaml.Node, value, format string, args ...any) {
	e := FieldError{Path: path, File: d.file, Value: value, Message: fmt.Sprintf(format, args...)}
	if n != nil && !d.lineless {
		e.Line, e.Column = n.Line, n.Column
	}
	*d.errs = append(*d.errs, e)
}

var quantityRE = regexp.MustCompile(QuantityPattern)

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// document decodes one YAML document onto v.
func (d *decoder) document(v reflect.Value, ti *typeInfo, data []byte) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var n yaml.Node
	if err := dec.Decode(&n); err != nil {
		if errors.Is(err, io.EOF) {
			return
		}
		d.syntax(err)
		return
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			d.syntax(err)
			return
		}
		d.fail("", &extra, "", "a second YAML document (after ---); put one document in each file")
		return
	}
	root := &n
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return
		}
		root = root.Content[0]
	}
	if isNull(root) {
		return
	}
	d.value(v, ti, root, "", nil, false)
}

func (d *decoder) syntax(err error) {
	e := FieldError{File: d.file, Message: "not valid YAML or JSON: " + err.Error()}
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		e.Message = "not valid YAML or JSON: " + m[2]
	}
	*d.errs = append(*d.errs, e)
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// resolve follows aliases.
func (d *decoder) resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < maxDepth; i++ {
		n = n.Alias
	}
	return n
}

// budget counts one step and reports whether decoding may go on.
func (d *decoder) budget(path string, n *yaml.Node) bool {
	if d.abort {
		return false
	}
	d.steps++
	if d.steps > maxSteps || d.depth > maxDepth {
		d.abort = true
		d.fail(path, n, "", "the document is too large or too deeply nested (aliases expanded); at most %d values and %d levels", maxSteps, maxDepth)
		return false
	}
	return true
}

// value decodes n onto v (settable) of type ti at path; fi is the field
// holding v (nil for list items and map values), whose tags apply. fresh
// says v starts from its zero value rather than from a default (a list
// item, a new map entry, a newly allocated pointer): a struct decoded
// fresh must name every key whose zero value its tags forbid.
func (d *decoder) value(v reflect.Value, ti *typeInfo, n *yaml.Node, path string, fi *fieldInfo, fresh bool) {
	if !d.budget(path, n) {
		return
	}
	d.depth++
	defer func() { d.depth-- }()
	n = d.resolve(n)
	if isNull(n) {
		d.reset(v, ti, path, n, fi)
		return
	}
	switch ti.kind {
	case kPtr:
		if v.IsNil() {
			v.Set(reflect.New(ti.elem.t))
			fresh = true
		}
		d.value(v.Elem(), ti.elem, n, path, fi, fresh)
	case kStruct:
		if n.Kind != yaml.MappingNode {
			d.mismatch(path, n, ti)
			return
		}
		given := map[string]bool{}
		d.entries(n, path, func(key string, kn, vn *yaml.Node) {
			f := ti.byKey[key]
			if f == nil {
				d.unknown(keyPath(path, key), kn, key, ti.keys())
				return
			}
			given[key] = true
			d.value(v.FieldByIndex(f.index), f.info, vn, keyPath(path, key), f, fresh)
		})
		if fresh && !d.abort {
			for _, f := range ti.fields {
				if !given[f.key] && f.required() {
					d.fail(keyPath(path, f.key), n, "", "missing; required, since %s", f.whyRequired())
				}
			}
		}
	case kMap:
		if n.Kind != yaml.MappingNode {
			d.mismatch(path, n, ti)
			return
		}
		d.entries(n, path, func(key string, kn, vn *yaml.Node) {
			k := reflect.ValueOf(key).Convert(ti.t.Key())
			if isNull(d.resolve(vn)) {
				if !v.IsNil() {
					v.SetMapIndex(k, reflect.Value{})
				}
				return
			}
			elem := reflect.New(ti.elem.t).Elem()
			isNew := true
			if !v.IsNil() {
				if old := v.MapIndex(k); old.IsValid() {
					elem.Set(old)
					isNew = false
				}
			}
			d.value(elem, ti.elem, vn, keyPath(path, key), nil, fresh || isNew)
			if v.IsNil() {
				v.Set(reflect.MakeMap(ti.t))
			}
			v.SetMapIndex(k, elem)
		})
		d.count(path, n, fi, v.Len(), "entries")
	case kSlice:
		if n.Kind != yaml.SequenceNode {
			d.mismatch(path, n, ti)
			return
		}
		if len(n.Content) == 0 {
			v.Set(reflect.Zero(ti.t))
			d.count(path, n, fi, 0, "items")
			return
		}
		s := reflect.MakeSlice(ti.t, len(n.Content), len(n.Content))
		for i, item := range n.Content {
			ip := indexPath(path, i)
			if isNull(d.resolve(item)) {
				d.fail(ip, item, "null", "a list item cannot be null; expected %s", ti.elem.describe())
				continue
			}
			d.value(s.Index(i), ti.elem, item, ip, nil, true)
		}
		v.Set(s)
		d.count(path, n, fi, len(n.Content), "items")
	default:
		d.scalar(v, ti, n, path, fi)
	}
}

// entries calls fn for every key of mapping n: merge keys (<<) first, so
// that the mapping's own keys override them, then its keys in order,
// reporting keys given twice.
func (d *decoder) entries(n *yaml.Node, path string, fn func(key string, kn, vn *yaml.Node)) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn := n.Content[i]
		if kn.Kind != yaml.ScalarNode || kn.ShortTag() != "!!merge" {
			continue
		}
		vn := d.resolve(n.Content[i+1])
		srcs := []*yaml.Node{vn}
		if vn.Kind == yaml.SequenceNode {
			srcs = vn.Content
		}
		for j := len(srcs) - 1; j >= 0; j-- {
			src := d.resolve(srcs[j])
			if src.Kind != yaml.MappingNode {
				d.fail(path, src, "", "a merge key (<<) must refer to a mapping or a list of mappings")
				continue
			}
			if !d.budget(path, src) {
				return
			}
			d.depth++
			d.entries(src, path, fn)
			d.depth--
		}
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn := d.resolve(n.Content[i])
		if kn.Kind == yaml.ScalarNode && kn.ShortTag() == "!!merge" {
			continue
		}
		if kn.Kind != yaml.ScalarNode {
			d.fail(path, kn, "", "a key must be a string, not %s", nodeKind(kn))
			continue
		}
		key := kn.Value
		if line, dup := seen[key]; dup {
			d.fail(keyPath(path, key), kn, "", "key %q given twice (first on line %d); give each key once", key, line)
			continue
		}
		seen[key] = kn.Line
		fn(key, kn, n.Content[i+1])
		if d.abort {
			return
		}
	}
}

func (d *decoder) unknown(path string, kn *yaml.Node, key string, known []string) {
	msg := fmt.Sprintf("unknown key %q", key)
	if s := suggest(key, known); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	}
	sep := "; "
	if strings.HasSuffix(msg, "?") {
		sep = " "
	}
	if len(known) == 0 {
		msg += sep + "this mapping has no keys"
	} else {
		msg += sep + "known keys: " + strings.Join(known, ", ")
	}
	d.fail(path, kn, "", "%s", msg)
}

// mismatch reports a node of the wrong kind for ti.
func (d *decoder) mismatch(path string, n *yaml.Node, ti *typeInfo) {
	hint := ""
	if ti.kind == kString || ti.kind == kText || (ti.kind == kPtr && (ti.elem.kind == kString || ti.elem.kind == kText)) {
		if n.Kind == yaml.ScalarNode {
			hint = fmt.Sprintf(" (quote it, %q, to make it a string)", n.Value)
		}
	}
	d.fail(path, n, nodeValue(n), "expected %s, got %s%s", ti.describe(), nodeKind(n), hint)
}

// nodeKind describes a node for messages.
func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!str":
			return "a string"
		case "!!int":
			return "an integer"
		case "!!float":
			return "a number"
		case "!!bool":
			return "a boolean"
		case "!!null":
			return "null"
		case "!!timestamp":
			return "a timestamp"
		}
		return "a value tagged " + n.ShortTag()
	}
	return "an alias"
}

// nodeValue shows a scalar node's value for messages ("" for collections).
func nodeValue(n *yaml.Node) string {
	if n.Kind != yaml.ScalarNode {
		return ""
	}
	if n.ShortTag() == "!!str" {
		return shorten(strconv.Quote(n.Value))
	}
	return shorten(n.Value)
}

// count checks the number of items or entries against a field's bounds.
func (d *decoder) count(path string, n *yaml.Node, fi *fieldInfo, got int, noun string) {
	if fi == nil {
		return
	}
	r := new(big.Rat).SetInt64(int64(got))
	if fi.min != nil && r.Cmp(fi.min) < 0 {
		d.fail(path, n, "", "%d %s; at least %s required", got, noun, fi.min.RatString())
	}
	if fi.max != nil && r.Cmp(fi.max) > 0 {
		d.fail(path, n, "", "%d %s; at most %s allowed", got, noun, fi.max.RatString())
	}
}

// scalar decodes a scalar node onto v.
func (d *decoder) scalar(v reflect.Value, ti *typeInfo, n *yaml.Node, path string, fi *fieldInfo) {
	if n.Kind != yaml.ScalarNode {
		d.mismatch(path, n, ti)
		return
	}
	tag := n.ShortTag()
	shown := nodeValue(n)
	switch ti.kind {
	case kString, kText:
		if tag != "!!str" && tag != "!!timestamp" {
			d.mismatch(path, n, ti)
			return
		}
		if !d.enum(path, n, fi, ti, n.Value) {
			return
		}
		if ti.kind == kString {
			v.SetString(n.Value)
			return
		}
		p := reflect.New(ti.t)
		if err := p.Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(n.Value)); err != nil {
			d.fail(path, n, shown, "not a valid %s: %v", ti.t, err)
			return
		}
		v.Set(p.Elem())
	case kBool:
		var b bool
		if tag != "!!bool" || n.Decode(&b) != nil {
			d.mismatch(path, n, ti)
			return
		}
		v.SetBool(b)
	case kInt, kUint, kFloat:
		r, ok := number(n)
		if !ok {
			d.mismatch(path, n, ti)
			return
		}
		if ti.kind != kFloat && !r.IsInt() {
			d.fail(path, n, shown, "expected an integer, got a number with a fraction")
			return
		}
		if !d.bounds(path, n, shown, r, ti, fi) {
			return
		}
		switch ti.kind {
		case kInt:
			v.SetInt(r.Num().Int64())
		case kUint:
			v.SetUint(r.Num().Uint64())
		default:
			f, _ := r.Float64()
			v.SetFloat(f)
		}
	case kQuantity:
		var s string
		switch tag {
		case "!!str":
			s = n.Value
		case "!!int", "!!float":
			r, ok := number(n)
			if !ok {
				d.mismatch(path, n, ti)
				return
			}
			s = ratString(r)
		default:
			d.mismatch(path, n, ti)
			return
		}
		q, err := resource.ParseQuantity(s)
		if err == nil && !quantityRE.MatchString(s) {
			err = fmt.Errorf("%q does not match %s", s, QuantityPattern)
		}
		if err != nil {
			d.fail(path, n, shown, "not a quantity (%v); expected %s", err, ti.describe())
			return
		}
		v.Set(reflect.ValueOf(q))
	case kDuration:
		if tag != "!!str" {
			d.mismatch(path, n, ti)
			return
		}
		dur, err := time.ParseDuration(n.Value)
		if err != nil {
			d.fail(path, n, shown, "not a duration; expected %s (units ns, us, ms, s, m, h)", ti.describe())
			return
		}
		v.SetInt(int64(dur))
	default:
		d.mismatch(path, n, ti)
	}
}

// number reads an !!int or !!float node as an exact rational; ok is false
// for other nodes and for NaN and infinities.
func number(n *yaml.Node) (*big.Rat, bool) {
	switch n.ShortTag() {
	case "!!int", "!!float":
	default:
		return nil, false
	}
	var x any
	if err := n.Decode(&x); err != nil {
		return nil, false
	}
	switch x := x.(type) {
	case int:
		return new(big.Rat).SetInt64(int64(x)), true
	case int64:
		return new(big.Rat).SetInt64(x), true
	case uint64:
		return new(big.Rat).SetInt(new(big.Int).SetUint64(x)), true
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, false
		}
		return new(big.Rat).SetFloat64(x), true
	}
	return nil, false
}

// ratString formats a rational exactly for a quantity.
func ratString(r *big.Rat) string {
	if r.IsInt() {
		return r.Num().String()
	}
	f, _ := r.Float64()
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// bounds checks a number against its type's range and its field's tags.
func (d *decoder) bounds(path string, n *yaml.Node, shown string, r *big.Rat, ti *typeInfo, fi *fieldInfo) bool {
	ok := true
	if ti.lo != nil && (r.Cmp(ti.lo) < 0 || r.Cmp(ti.hi) > 0) {
		d.fail(path, n, shown, "out of range for %s; allowed %s to %s", ti.t, ti.lo.RatString(), ti.hi.RatString())
		return false
	}
	if fi == nil {
		return true
	}
	if fi.min != nil && r.Cmp(fi.min) < 0 {
		d.fail(path, n, shown, "below the minimum %s", fi.min.RatString())
		ok = false
	}
	if fi.max != nil && r.Cmp(fi.max) > 0 {
		d.fail(path, n, shown, "above the maximum %s", fi.max.RatString())
		ok = false
	}
	return ok
}

// enum checks s against the allowed values of a field or its type.
func (d *decoder) enum(path string, n *yaml.Node, fi *fieldInfo, ti *typeInfo, s string) bool {
	allowed := ti.enum
	if fi != nil {
		allowed = fi.allowed()
	}
	if allowed == nil || slices.Contains(allowed, s) {
		return true
	}
	msg := "allowed values: " + strings.Join(allowed, ", ")
	if sug := suggest(s, allowed); sug != "" {
		msg = fmt.Sprintf("did you mean %q? %s", sug, msg)
	}
	d.fail(path, n, shorten(strconv.Quote(s)), "not allowed; %s", msg)
	return false
}

// reset sets v to its zero value (null), unless the field's tags forbid
// the zero value.
func (d *decoder) reset(v reflect.Value, ti *typeInfo, path string, n *yaml.Node, fi *fieldInfo) {
	if !fi.zeroAllowed() {
		d.fail(path, n, "null", "resets the field to %s, which is not allowed (%s)", ti.zeroText(), fi.constraint())
		return
	}
	v.Set(reflect.Zero(ti.t))
}
