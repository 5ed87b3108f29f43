package values

import (
	"errors"
	"reflect"
	"sort"
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

// Validate runs every Validator and ErrorValidator in v (a struct or a
// pointer to one) and returns their errors with full paths as Errors, or
// nil. The walk visits a value before the values inside it: fields in
// declaration order, list items in order, map entries by sorted key; nil
// pointers are skipped. Load, Set and LoadAndSet call it on their result.
func Validate(v any) error {
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer && !rv.IsNil() {
		rv = rv.Elem()
	}
	if !rv.IsValid() || rv.Kind() != reflect.Struct {
		return nil
	}
	ti, err := model(rv.Type())
	if err != nil {
		return err
	}
	// Work on an addressable copy so pointer-receiver methods are found.
	if errs := validateTree(deepCopy(rv, ti), ti, ""); len(errs) > 0 {
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
