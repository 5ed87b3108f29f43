package values

import (
	"encoding"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/api/resource"
)

// kind is how the values machinery treats a Go type.
type kind int

const (
	kString kind = iota
	kBool
	kInt
	kUint
	kFloat
	kQuantity
	kDuration
	kText
	kStruct
	kPtr
	kSlice
	kMap
)

// typeInfo describes one Go type as a values document sees it.
type typeInfo struct {
	t    reflect.Type
	kind kind
	// elem is the element of a pointer, slice or map.
	elem *typeInfo
	// fields are the keys of a struct, in declaration order (embedded
	// structs' fields promoted in place).
	fields []*fieldInfo
	byKey  map[string]*fieldInfo
	// enum is the type's own list of allowed values (its Enum method).
	enum []string
	// lo and hi are the range of an integer type; nil for other kinds.
	lo, hi *big.Rat
}

// fieldInfo is one key of a struct.
type fieldInfo struct {
	key    string
	goName string
	index  []int
	// owner is the struct type that declares the field (for its docs).
	owner reflect.Type
	info  *typeInfo
	// enum, min and max come from the field's tags (enum wins over the
	// type's Enum method when both exist).
	enum     []string
	min, max *big.Rat
}

// Enumerator is implemented by a string type that allows only some values:
// the decoder rejects any other value, and Schema lists them as an enum.
type Enumerator interface {
	// Enum returns the allowed values.
	Enum() []string
}

var (
	quantityType      = reflect.TypeOf(resource.Quantity{})
	durationType      = reflect.TypeOf(time.Duration(0))
	textUnmarshalType = reflect.TypeOf((*encoding.TextUnmarshaler)(nil)).Elem()
	enumeratorType    = reflect.TypeOf((*Enumerator)(nil)).Elem()
)

var models sync.Map // reflect.Type -> *modelEntry

type modelEntry struct {
	once sync.Once
	info *typeInfo
	err  error
}

// model returns the description of t, built once per type.
func model(t reflect.Type) (*typeInfo, error) {
	e, _ := models.LoadOrStore(t, &modelEntry{})
	me := e.(*modelEntry)
	me.once.Do(func() {
		b := builder{seen: map[reflect.Type]*typeInfo{}}
		me.info, me.err = b.build(t, t.String())
	})
	return me.info, me.err
}

type builder struct {
	seen map[reflect.Type]*typeInfo
}

func (b *builder) build(t reflect.Type, where string) (*typeInfo, error) {
	if ti, ok := b.seen[t]; ok {
		return ti, nil
	}
	ti := &typeInfo{t: t}
	b.seen[t] = ti
	if t.Kind() != reflect.Pointer && t.Implements(enumeratorType) {
		ti.enum = reflect.Zero(t).Interface().(Enumerator).Enum()
		if t.Kind() != reflect.String {
			return nil, fmt.Errorf("values: %s: Enum on %s: only string types may declare allowed values", where, t)
		}
		if len(ti.enum) == 0 {
			return nil, fmt.Errorf("values: %s: %s.Enum returns no values", where, t)
		}
	}
	switch {
	case t == quantityType:
		ti.kind = kQuantity
		return ti, nil
	case t == durationType:
		ti.kind = kDuration
		return ti, nil
	case t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(textUnmarshalType):
		ti.kind = kText
		return ti, nil
	}
	switch t.Kind() {
	case reflect.String:
		ti.kind = kString
	case reflect.Bool:
		ti.kind = kBool
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		ti.kind = kInt
		bits := t.Bits()
		ti.lo = new(big.Rat).SetInt(new(big.Int).Neg(new(big.Int).Lsh(big.NewInt(1), uint(bits-1))))
		ti.hi = new(big.Rat).SetInt(new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), uint(bits-1)), big.NewInt(1)))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		ti.kind = kUint
		ti.lo = new(big.Rat)
		ti.hi = new(big.Rat).SetInt(new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), uint(t.Bits())), big.NewInt(1)))
	case reflect.Float32, reflect.Float64:
		ti.kind = kFloat
		if t.Kind() == reflect.Float32 {
			ti.lo = new(big.Rat).SetFloat64(-math.MaxFloat32)
			ti.hi = new(big.Rat).SetFloat64(math.MaxFloat32)
		}
	case reflect.Pointer:
		ti.kind = kPtr
		if t.Elem().Kind() == reflect.Pointer {
			return nil, fmt.Errorf("values: %s: pointer to pointer %s is not supported", where, t)
		}
		e, err := b.build(t.Elem(), where)
		if err != nil {
			return nil, err
		}
		ti.elem = e
	case reflect.Slice:
		ti.kind = kSlice
		e, err := b.build(t.Elem(), where+"[]")
		if err != nil {
			return nil, err
		}
		if e.kind == kPtr {
			return nil, fmt.Errorf("values: %s: a list of pointers (%s) is not supported; use a list of values", where, t)
		}
		ti.elem = e
	case reflect.Map:
		ti.kind = kMap
		if t.Key().Kind() != reflect.String {
			return nil, fmt.Errorf("values: %s: map key type %s is not supported; keys must be strings", where, t.Key())
		}
		e, err := b.build(t.Elem(), where+"{}")
		if err != nil {
			return nil, err
		}
		ti.elem = e
	case reflect.Struct:
		ti.kind = kStruct
		ti.byKey = map[string]*fieldInfo{}
		if err := b.fields(ti, t, nil, where); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("values: %s: type %s is not supported", where, t)
	}
	return ti, nil
}

// fields adds the keys of struct type t (promoting embedded structs) to ti.
func (b *builder) fields(ti *typeInfo, t reflect.Type, index []int, where string) error {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, hasName, skip := jsonName(f)
		if skip {
			continue
		}
		idx := append(append([]int(nil), index...), i)
		if f.Anonymous && !hasName {
			ft := f.Type
			if ft.Kind() == reflect.Struct && ft != quantityType {
				if err := b.fields(ti, ft, idx, where); err != nil {
					return err
				}
				continue
			}
			if !f.IsExported() {
				continue
			}
			if ft.Kind() == reflect.Pointer {
				return fmt.Errorf("values: %s: embedded pointer field %s is not supported; embed the struct", where, f.Name)
			}
		}
		if !f.IsExported() {
			continue
		}
		fw := where + "." + name
		fi := &fieldInfo{key: name, goName: f.Name, index: idx, owner: t}
		info, err := b.build(f.Type, fw)
		if err != nil {
			return err
		}
		fi.info = info
		if err := fi.tags(f, fw); err != nil {
			return err
		}
		if prev, dup := ti.byKey[name]; dup {
			return fmt.Errorf("values: %s: key %q is used by both %s and %s", where, name, prev.goName, f.Name)
		}
		ti.byKey[name] = fi
		ti.fields = append(ti.fields, fi)
	}
	return nil
}

// tags reads the enum, min and max tags of a field.
func (fi *fieldInfo) tags(f reflect.StructField, where string) error {
	base := fi.info
	if base.kind == kPtr {
		base = base.elem
	}
	if e, ok := f.Tag.Lookup("enum"); ok {
		if base.kind != kString && base.kind != kText {
			return fmt.Errorf("values: %s: enum tag on %s: only string fields may declare allowed values", where, f.Type)
		}
		if e == "" {
			return fmt.Errorf("values: %s: enum tag is empty", where)
		}
		fi.enum = strings.Split(e, ",")
	}
	for _, tag := range []string{"min", "max"} {
		s, ok := f.Tag.Lookup(tag)
		if !ok {
			continue
		}
		switch base.kind {
		case kInt, kUint, kFloat, kSlice, kMap:
		default:
			return fmt.Errorf("values: %s: %s tag on %s: only numbers, lists and maps may declare bounds", where, tag, f.Type)
		}
		r, ok := new(big.Rat).SetString(s)
		if !ok {
			return fmt.Errorf("values: %s: %s tag %q is not a number", where, tag, s)
		}
		if (base.kind == kInt || base.kind == kUint || base.kind == kSlice || base.kind == kMap) && !r.IsInt() {
			return fmt.Errorf("values: %s: %s tag %q must be an integer", where, tag, s)
		}
		if tag == "min" {
			fi.min = r
		} else {
			fi.max = r
		}
	}
	if fi.min != nil && fi.max != nil && fi.min.Cmp(fi.max) > 0 {
		return fmt.Errorf("values: %s: min %s exceeds max %s", where, fi.min.RatString(), fi.max.RatString())
	}
	return nil
}

// allowed returns the enum that applies to a field's value: its tag, or
// its type's Enum method.
func (fi *fieldInfo) allowed() []string {
	if fi.enum != nil {
		return fi.enum
	}
	ti := fi.info
	if ti.kind == kPtr {
		ti = ti.elem
	}
	return ti.enum
}

// jsonName returns a field's key: the name in its json tag, else the Go
// name in lowerCamel case. skip is true for `json:"-"`.
func jsonName(f reflect.StructField) (name string, tagged, skip bool) {
	tag := f.Tag.Get("json")
	if tag == "-" {
		return "", false, true
	}
	if n, _, _ := strings.Cut(tag, ","); n != "" {
		return n, true, false
	}
	return lowerCamel(f.Name), false, false
}

// lowerCamel lower-cases the leading upper-case run of a Go name, keeping
// the last capital of an initialism (CPU → cpu, URLPath → urlPath).
func lowerCamel(s string) string {
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		if !unicode.IsUpper(rs[i]) {
			break
		}
		if i > 0 && i+1 < len(rs) && unicode.IsLower(rs[i+1]) {
			break
		}
		rs[i] = unicode.ToLower(rs[i])
	}
	return string(rs)
}

// describe names the expected type for messages ("an integer", "a list").
func (ti *typeInfo) describe() string {
	switch ti.kind {
	case kString:
		return "a string"
	case kBool:
		return "a boolean (true or false)"
	case kInt, kUint:
		return "an integer"
	case kFloat:
		return "a number"
	case kQuantity:
		return "a Kubernetes quantity such as 4, 500m or 16Gi"
	case kDuration:
		return "a Go duration such as 30s, 5m or 1h30m"
	case kText:
		return "a string (" + ti.t.String() + ")"
	case kStruct:
		return "a mapping"
	case kPtr:
		return ti.elem.describe()
	case kSlice:
		return "a list of " + plural(ti.elem)
	case kMap:
		return "a mapping of names to " + plural(ti.elem)
	}
	return ti.t.String()
}

func plural(ti *typeInfo) string {
	switch ti.kind {
	case kString, kText:
		return "strings"
	case kBool:
		return "booleans"
	case kInt, kUint:
		return "integers"
	case kFloat:
		return "numbers"
	case kQuantity:
		return "quantities"
	case kDuration:
		return "durations"
	case kStruct:
		return "mappings"
	case kPtr:
		return plural(ti.elem)
	case kSlice:
		return "lists"
	case kMap:
		return "mappings"
	}
	return ti.t.String()
}

// keys lists a struct's keys in declaration order.
func (ti *typeInfo) keys() []string {
	ks := make([]string, len(ti.fields))
	for i, f := range ti.fields {
		ks[i] = f.key
	}
	return ks
}

// suggest returns the known key closest to an unknown one, or "".
func suggest(unknown string, known []string) string {
	best, bestD := "", -1
	for _, k := range known {
		if strings.EqualFold(k, unknown) {
			return k
		}
		d := editDistance(strings.ToLower(unknown), strings.ToLower(k))
		if bestD < 0 || d < bestD {
			best, bestD = k, d
		}
	}
	limit := utf8.RuneCountInString(unknown) / 3
	if limit < 2 {
		limit = 2
	}
	if bestD >= 0 && bestD <= limit {
		return best
	}
	return ""
}

// editDistance is the Levenshtein distance between a and b in runes.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > 256 || len(rb) > 256 {
		return max(len(ra), len(rb))
	}
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			c := 1
			if ra[i-1] == rb[j-1] {
				c = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+c)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// zeroAllowed reports whether a field's tags allow its zero value, the
// value null resets it to. A nil pointer is always allowed (not set); a
// struct's zero value is allowed when every field's is.
func (fi *fieldInfo) zeroAllowed() bool {
	return fi.zeroAllowedDepth(0)
}

func (fi *fieldInfo) zeroAllowedDepth(depth int) bool {
	if fi == nil || depth > maxDepth {
		return true
	}
	switch fi.info.kind {
	case kPtr:
		return true
	case kStruct:
		for _, f := range fi.info.fields {
			if !f.zeroAllowedDepth(depth + 1) {
				return false
			}
		}
	case kInt, kUint, kFloat, kSlice, kMap:
		zero := new(big.Rat)
		return (fi.min == nil || fi.min.Cmp(zero) <= 0) && (fi.max == nil || fi.max.Cmp(zero) >= 0)
	case kString, kText:
		if e := fi.allowed(); e != nil {
			return slices.Contains(e, "")
		}
	}
	return true
}

// zeroText describes a zero value for messages.
func (ti *typeInfo) zeroText() string {
	switch ti.kind {
	case kInt, kUint, kFloat:
		return "0"
	case kSlice:
		return "an empty list"
	case kMap:
		return "an empty mapping"
	case kString, kText:
		return `""`
	}
	return "its zero value"
}

// required reports whether a struct that starts from zero (a list item, a
// new map entry, a new pointer) must name the field: its zero value breaks
// its tags (for a struct: a field inside it does).
func (fi *fieldInfo) required() bool {
	return !fi.zeroAllowed()
}

// constraint describes a field's enum or bounds in lower case, for
// messages ("allowed values: a, b", "from 1 to 255"); for a struct, its
// required keys.
func (fi *fieldInfo) constraint() string {
	if fi.info.kind == kStruct {
		var keys []string
		for _, f := range fi.info.fields {
			if f.required() {
				keys = append(keys, f.key)
			}
		}
		return "it requires " + strings.Join(keys, ", ")
	}
	if e := fi.allowed(); e != nil {
		return "allowed values: " + strings.Join(e, ", ")
	}
	return strings.TrimSuffix(lowerFirst(boundsText(fi)), ".")
}

// whyRequired says why a field is required, for messages.
func (fi *fieldInfo) whyRequired() string {
	return fmt.Sprintf("%s is not allowed (%s)", fi.info.zeroText(), fi.constraint())
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}
