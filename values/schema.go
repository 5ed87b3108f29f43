package values

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"reflect"
)

// QuantityPattern is the regular expression of a Kubernetes quantity in
// string form: the grammar documented on Quantity in k8s.io/apimachinery
// v0.34.2 (pkg/api/resource/quantity.go: <signedNumber><suffix>, suffixes
// Ki Mi Gi Ti Pi Ei, m k M G T P E, n u, or a decimal exponent), written
// as controller-gen writes it into CRDs (the same pattern appears in
// k8s.io/kubernetes v1.34.2 cluster/addons/volumesnapshots/crd/
// snapshot.storage.k8s.io_volumesnapshots.yaml). The decoder requires it
// too, because resource.ParseQuantity alone accepts strings outside it
// (a lone "+").
const QuantityPattern = `^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)(([KMGTPE]i)|[numkMGTPE]|([eE][+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)))?$`

// DurationPattern is the regular expression of a duration that Go's
// time.ParseDuration accepts: "0", or numbers with units (1h30m, 1.5s,
// 300ms). It does not check for overflow (more than about 290 years).
const DurationPattern = `^[+-]?(0|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$`

// SchemaDraft is the JSON Schema dialect Schema writes.
const SchemaDraft = "https://json-schema.org/draft/2020-12/schema"

// Schema returns a JSON Schema (draft 2020-12) of the values documents for
// v's type, with id as its $id, for editors (yaml-language-server:
// `# yaml-language-server: $schema=<url>`). It accepts and rejects the
// same documents as Load: every object has additionalProperties false,
// objects without a default (list items, map values, nil pointers) require
// the keys whose zero value their tags forbid,
// every key may be null (null resets a field), numbers carry the bounds of
// their Go type and of their min and max tags, strings their enum, lists
// their item count; quantities and durations their patterns. Descriptions
// come from the registered docs, defaults from v. The output is indented
// JSON with sorted keys, deterministic.
//
// Two limits: a Validate method's checks (relations between fields) are
// not in the schema, and a type that implements encoding.TextUnmarshaler
// is only known to be a string.
func Schema(v any, id string) ([]byte, error) {
	rv, ti, err := structOf(v, "Schema")
	if err != nil {
		return nil, err
	}
	g := &schemaGen{open: map[reflect.Type]bool{}}
	s, err := g.schema(ti, rv, nil)
	if err != nil {
		return nil, err
	}
	s["$schema"] = SchemaDraft
	if id != "" {
		s["$id"] = id
	}
	if d := rootDoc(rv.Type()); d != "" {
		s["description"] = d
	}
	if t := rv.Type().Name(); t != "" {
		s["title"] = t
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(s); err != nil {
		return nil, fmt.Errorf("values: schema: %w", err)
	}
	return b.Bytes(), nil
}

type schemaGen struct {
	// open holds the struct types being generated, to refuse recursion.
	open map[reflect.Type]bool
}

// schema returns the schema of type ti; v, when valid, is the current
// value, whose leaves become defaults; fi is the field (for tags).
func (g *schemaGen) schema(ti *typeInfo, v reflect.Value, fi *fieldInfo) (map[string]any, error) {
	if ti.kind == kPtr {
		if v.IsValid() {
			if v.IsNil() {
				s, err := g.schema(ti.elem, reflect.Value{}, fi)
				if err != nil {
					return nil, err
				}
				s["default"] = nil
				return s, nil
			}
			v = v.Elem()
		}
		return g.schema(ti.elem, v, fi)
	}
	s := map[string]any{}
	// null resets a field; the schema allows it where the field's tags
	// allow the zero value.
	zeroOK := fi.zeroAllowed()
	nullable := func(t ...string) any {
		if !zeroOK {
			return t
		}
		return append(t, "null")
	}
	switch ti.kind {
	case kStruct:
		if g.open[ti.t] {
			return nil, fmt.Errorf("values: schema: %s contains itself; recursive types are not supported", ti.t)
		}
		g.open[ti.t] = true
		defer delete(g.open, ti.t)
		s["type"] = nullable("object")
		s["additionalProperties"] = false
		props := map[string]any{}
		for _, f := range ti.fields {
			var fv reflect.Value
			if v.IsValid() {
				fv = v.FieldByIndex(f.index)
			}
			p, err := g.schema(f.info, fv, f)
			if err != nil {
				return nil, err
			}
			if d := fieldComment(f); d != "" {
				p["description"] = d
			}
			props[f.key] = p
		}
		s["properties"] = props
		if !v.IsValid() {
			// A struct without a default (a list item, a map value, a
			// nil pointer) starts from zero: the keys whose zero value
			// breaks their tags must be given.
			var req []string
			for _, f := range ti.fields {
				if f.required() {
					req = append(req, f.key)
				}
			}
			if len(req) > 0 {
				s["required"] = req
			}
		}
		return s, nil
	case kSlice:
		s["type"] = nullable("array")
		items, err := g.schema(ti.elem, reflect.Value{}, nil)
		if err != nil {
			return nil, err
		}
		// A list item cannot be null.
		if t, ok := items["type"].([]string); ok && len(t) > 1 && t[len(t)-1] == "null" {
			items["type"] = t[:len(t)-1]
		}
		if e, ok := items["enum"].([]any); ok && len(e) > 0 && e[len(e)-1] == nil {
			items["enum"] = e[:len(e)-1]
		}
		s["items"] = items
		g.counts(s, fi, "minItems", "maxItems")
	case kMap:
		s["type"] = nullable("object")
		elem, err := g.schema(ti.elem, reflect.Value{}, nil)
		if err != nil {
			return nil, err
		}
		s["additionalProperties"] = elem
		if v.IsValid() && v.Len() > 0 {
			// Entries that exist by default merge (a new entry starts from
			// zero): each has its own schema, with its defaults.
			props := map[string]any{}
			for _, k := range sortedKeys(v) {
				p, err := g.schema(ti.elem, v.MapIndex(k), nil)
				if err != nil {
					return nil, err
				}
				props[k.String()] = p
			}
			s["properties"] = props
		}
		g.counts(s, fi, "minProperties", "maxProperties")
	case kString, kText:
		s["type"] = nullable("string")
		allowed := ti.enum
		if fi != nil {
			allowed = fi.allowed()
		}
		if allowed != nil {
			e := make([]any, 0, len(allowed)+1)
			for _, a := range allowed {
				e = append(e, a)
			}
			if zeroOK {
				e = append(e, nil)
			}
			s["enum"] = e
		}
	case kBool:
		s["type"] = nullable("boolean")
	case kInt, kUint:
		s["type"] = nullable("integer")
		g.bounds(s, ti, fi)
	case kFloat:
		s["type"] = nullable("number")
		g.bounds(s, ti, fi)
	case kQuantity:
		s["type"] = nullable("string", "number")
		s["pattern"] = QuantityPattern
	case kDuration:
		s["type"] = nullable("string")
		s["pattern"] = DurationPattern
	}
	if v.IsValid() {
		n, err := encode(v, ti, false, 0)
		if err != nil {
			return nil, err
		}
		var def any
		if err := n.Decode(&def); err != nil {
			return nil, fmt.Errorf("values: schema: default of %s: %w", ti.t, err)
		}
		s["default"] = def
	}
	return s, nil
}

// bounds sets minimum and maximum: the tighter of the type's range and
// the field's tags.
func (g *schemaGen) bounds(s map[string]any, ti *typeInfo, fi *fieldInfo) {
	lo, hi := ti.lo, ti.hi
	if fi != nil {
		if fi.min != nil && (lo == nil || fi.min.Cmp(lo) > 0) {
			lo = fi.min
		}
		if fi.max != nil && (hi == nil || fi.max.Cmp(hi) < 0) {
			hi = fi.max
		}
	}
	if lo != nil {
		s["minimum"] = json.Number(ratJSON(lo))
	}
	if hi != nil {
		s["maximum"] = json.Number(ratJSON(hi))
	}
}

// counts sets the item or property count bounds from a field's tags.
func (g *schemaGen) counts(s map[string]any, fi *fieldInfo, minKey, maxKey string) {
	if fi == nil {
		return
	}
	if fi.min != nil {
		s[minKey] = json.Number(fi.min.RatString())
	}
	if fi.max != nil {
		s[maxKey] = json.Number(fi.max.RatString())
	}
}

// ratJSON writes a rational as an exact JSON number.
func ratJSON(r *big.Rat) string {
	if r.IsInt() {
		return r.Num().String()
	}
	if n, exact := r.FloatPrec(); exact {
		return r.FloatString(n)
	}
	f, _ := r.Float64()
	return fmt.Sprintf("%g", f)
}
