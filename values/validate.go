package values

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"slices"
	"sort"
	"strings"
)

// Validator is implemented by a config type (the root or any value inside
// it) that checks what tags cannot: relations between fields, names,
// references. Paths in the returned errors are relative to the value (see
// Errorf); the machinery prefixes them with the value's own path.
type Validator interface {
	// Validate returns every problem found; none means valid.
	Validate() []FieldError
}

// ErrorValidator is the common Go form, `Validate() error`, accepted too so
// that existing config types (stack.Topology, component Configs) plug in
// as they are: the error becomes one FieldError at the value's path, or
// several if it is an Errors.
type ErrorValidator interface {
	// Validate returns nil when the value is valid.
	Validate() error
}

// Validate checks every field of v (a struct or a pointer to one) against
// its tags, then, if they hold, runs every Validator and ErrorValidator in
// v, and returns the errors with full paths as Errors, or nil. The walk
// visits a value before the values inside it: fields in declaration
// order, list items in order, map entries by sorted key; nil pointers are
// skipped. Load, Set and LoadAndSet do the same on their result. (A
// Validate method must not call Validate on its own value: that recurses
// forever.)
func Validate(v any) error {
	rv, ti, err := structOf(v, "Validate")
	if err != nil {
		return err
	}
	// Work on an addressable copy so pointer-receiver methods are found.
	work := deepCopy(rv, ti)
	errs := checkTags(work, ti, "")
	if len(errs) == 0 {
		errs = validateTree(work, ti, "")
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// validateTree walks v (addressable) and collects the errors of every
// Validate method with full paths.
func validateTree(v reflect.Value, ti *typeInfo, path string) Errors {
	var errs Errors
	walkValidate(v, ti, path, &errs, 0)
	return errs
}

func walkValidate(v reflect.Value, ti *typeInfo, path string, errs *Errors, depth int) {
	if depth > maxDepth {
		return
	}
	switch ti.kind {
	case kPtr:
		if v.IsNil() {
			return
		}
		walkValidate(v.Elem(), ti.elem, path, errs, depth+1)
		return
	}
	call(v, path, errs)
	switch ti.kind {
	case kStruct:
		for _, f := range ti.fields {
			walkValidate(v.FieldByIndex(f.index), f.info, keyPath(path, f.key), errs, depth+1)
		}
	case kSlice:
		for i := 0; i < v.Len(); i++ {
			walkValidate(v.Index(i), ti.elem, indexPath(path, i), errs, depth+1)
		}
	case kMap:
		for _, k := range sortedKeys(v) {
			e := reflect.New(ti.elem.t).Elem()
			e.Set(v.MapIndex(k))
			walkValidate(e, ti.elem, keyPath(path, k.String()), errs, depth+1)
		}
	}
}

// call runs v's Validate method, if any, and appends its errors.
func call(v reflect.Value, path string, errs *Errors) {
	var m any
	if v.CanAddr() {
		m = v.Addr().Interface()
	} else {
		m = v.Interface()
	}
	switch x := m.(type) {
	case Validator:
		for _, e := range x.Validate() {
			e.Path = joinPath(path, e.Path)
			*errs = append(*errs, e)
		}
	case ErrorValidator:
		err := x.Validate()
		if err == nil {
			return
		}
		var fes Errors
		var fe FieldError
		switch {
		case errors.As(err, &fes):
			for _, e := range fes {
				e.Path = joinPath(path, e.Path)
				*errs = append(*errs, e)
			}
		case errors.As(err, &fe):
			fe.Path = joinPath(path, fe.Path)
			*errs = append(*errs, fe)
		default:
			*errs = append(*errs, FieldError{Path: path, Message: err.Error()})
		}
	}
}

// sortedKeys returns a map's keys sorted.
func sortedKeys(m reflect.Value) []reflect.Value {
	keys := m.MapKeys()
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
	return keys
}

// checkTags checks every field of the final value against its tags: what
// decoding did not see (the zero fields of a list item appended by --set,
// defaults that break their own tags). The errors have no file.
func checkTags(v reflect.Value, ti *typeInfo, path string) Errors {
	var errs Errors
	walkTags(v, ti, path, nil, &errs, 0)
	return errs
}

func walkTags(v reflect.Value, ti *typeInfo, path string, fi *fieldInfo, errs *Errors, depth int) {
	if depth > maxDepth {
		return
	}
	fail := func(value reflect.Value, format string, args ...any) {
		*errs = append(*errs, FieldError{Path: path, Value: showValue(value), Message: fmt.Sprintf(format, args...)})
	}
	switch ti.kind {
	case kPtr:
		if !v.IsNil() {
			walkTags(v.Elem(), ti.elem, path, fi, errs, depth+1)
		}
	case kStruct:
		for _, f := range ti.fields {
			walkTags(v.FieldByIndex(f.index), f.info, keyPath(path, f.key), f, errs, depth+1)
		}
	case kSlice:
		if fi != nil && !countOK(fi, v.Len()) {
			fail(v, "%d items; %s", v.Len(), fi.constraint())
		}
		for i := 0; i < v.Len(); i++ {
			walkTags(v.Index(i), ti.elem, indexPath(path, i), nil, errs, depth+1)
		}
	case kMap:
		if fi != nil && !countOK(fi, v.Len()) {
			fail(v, "%d entries; %s", v.Len(), fi.constraint())
		}
		for _, k := range sortedKeys(v) {
			walkTags(v.MapIndex(k), ti.elem, keyPath(path, k.String()), nil, errs, depth+1)
		}
	case kString, kText:
		allowed := ti.enum
		if fi != nil {
			allowed = fi.allowed()
		}
		if allowed == nil {
			return
		}
		s := v.String()
		if ti.kind == kText {
			n, err := encode(v, ti, false, 0)
			if err != nil {
				return
			}
			s = n.Value
		}
		if !slices.Contains(allowed, s) {
			fail(v, "not allowed; allowed values: %s", strings.Join(allowed, ", "))
		}
	case kInt, kUint, kFloat:
		if fi == nil || (fi.min == nil && fi.max == nil) {
			return
		}
		var r *big.Rat
		switch ti.kind {
		case kInt:
			r = new(big.Rat).SetInt64(v.Int())
		case kUint:
			r = new(big.Rat).SetInt(new(big.Int).SetUint64(v.Uint()))
		default:
			f := v.Float()
			if math.IsNaN(f) || math.IsInf(f, 0) {
				fail(v, "not a finite number")
				return
			}
			r = new(big.Rat).SetFloat64(f)
		}
		if (fi.min != nil && r.Cmp(fi.min) < 0) || (fi.max != nil && r.Cmp(fi.max) > 0) {
			fail(v, "out of bounds; %s", fi.constraint())
		}
	}
}

// countOK checks a list's or map's length against a field's bounds.
func countOK(fi *fieldInfo, n int) bool {
	r := new(big.Rat).SetInt64(int64(n))
	return (fi.min == nil || r.Cmp(fi.min) >= 0) && (fi.max == nil || r.Cmp(fi.max) <= 0)
}
