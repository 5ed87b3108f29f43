package values

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// FieldError is one problem in a values document, located by its path in
// values syntax (topology.pools[1].cpu) and, when it comes from a file,
// by the file and line.
type FieldError struct {
	// Path is the field's path in values syntax; empty for the document
	// itself.
	Path string
	// File names the document (a file name, or "--set" for an override);
	// empty for errors found by validation after decoding.
	File string
	// Line and Column locate the value in File (1-based); 0 when unknown.
	Line, Column int
	// Value is the offending value as written (strings quoted, lists and
	// mappings in flow style, shortened when long); empty when there is
	// nothing to show.
	Value string
	// Message says what is wrong and what is allowed.
	Message string
}

// Error renders the error as "file:line: path: value; message"; the parts
// that are empty are left out (validation errors have no file).
func (e FieldError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			b.WriteString(":" + strconv.Itoa(e.Line))
		}
		b.WriteString(": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path + ": ")
	} else {
		b.WriteString("(document): ")
	}
	if e.Value != "" {
		b.WriteString(e.Value)
		if e.Message != "" {
			b.WriteString("; ")
		}
	}
	b.WriteString(e.Message)
	return b.String()
}

// Errors is every problem found in one Load, Set, LoadAndSet or Validate,
// in the order of the documents, then of the overrides, then of the
// validation walk.
type Errors []FieldError

// Error lists the problems, one per line after a count.
func (es Errors) Error() string {
	if len(es) == 1 {
		return es[0].Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d errors in values:", len(es))
	for _, e := range es {
		b.WriteString("\n  - " + e.Error())
	}
	return b.String()
}

// Unwrap returns the FieldErrors as errors, for errors.As and errors.Is.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// Errorf builds a validation error for a Validate method: path is relative
// to the value whose Validate method returns it ("" for the value itself,
// "zones", "pools[1].cpu"); value is the offending value (nil for none),
// shown in values syntax; format and args say what is allowed. The
// machinery prefixes the path with the value's own path, so
//
//	values.Errorf("replicationFactor", 4, "exceeds brokers %d", 3)
//
// returned by the value at "kafka" reads
// "kafka.replicationFactor: 4; exceeds brokers 3".
func Errorf(path string, value any, format string, args ...any) FieldError {
	e := FieldError{Path: path, Message: fmt.Sprintf(format, args...)}
	if value != nil {
		e.Value = showValue(reflect.ValueOf(value))
	}
	return e
}

// joinPath appends a relative path to a base path in values syntax.
func joinPath(base, rel string) string {
	switch {
	case rel == "":
		return base
	case base == "":
		return rel
	case rel[0] == '[':
		return base + rel
	}
	return base + "." + rel
}

// keyPath appends a key to a path, quoting keys that are not plain names
// (labels["kubernetes.io/arch"]).
func keyPath(base, key string) string {
	if plainKey(key) {
		return joinPath(base, key)
	}
	return base + "[" + strconv.Quote(key) + "]"
}

func plainKey(k string) bool {
	if k == "" {
		return false
	}
	for _, r := range k {
		if !(r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

func indexPath(base string, i int) string {
	return base + "[" + strconv.Itoa(i) + "]"
}

const maxShown = 80

// showValue renders a Go value for an error message.
func showValue(v reflect.Value) string {
	return shorten(show(v, 0))
}

func shorten(s string) string {
	if r := []rune(s); len(r) > maxShown {
		return string(r[:maxShown-1]) + "…"
	}
	return s
}

func show(v reflect.Value, depth int) string {
	if !v.IsValid() {
		return "null"
	}
	if depth > 8 {
		return "…"
	}
	if v.Kind() != reflect.String && v.Kind() != reflect.Pointer && v.Kind() != reflect.Interface {
		p := reflect.New(v.Type())
		p.Elem().Set(v)
		if s, ok := p.Interface().(fmt.Stringer); ok {
			return s.String()
		}
	}
	switch v.Kind() {
	case reflect.String:
		return strconv.Quote(v.String())
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return "null"
		}
		return show(v.Elem(), depth+1)
	case reflect.Slice, reflect.Array:
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i] = show(v.Index(i), depth+1)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case reflect.Map:
		keys := v.MapKeys()
		parts := make([]string, 0, len(keys))
		for _, k := range keys {
			parts = append(parts, show(k, depth+1)+": "+show(v.MapIndex(k), depth+1))
		}
		sort.Strings(parts)
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return fmt.Sprint(v.Interface())
}
