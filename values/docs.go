package values

import (
	"reflect"
	"strings"
	"sync"
)

// TypeDocs is the documentation of one Go type, as the docgen generator
// extracts it from the source: the type's doc comment and its fields'
// doc comments by Go field name, in plain text.
type TypeDocs struct {
	// Doc is the type's doc comment.
	Doc string
	// Fields maps Go field names to their doc comments.
	Fields map[string]string
}

var docs struct {
	sync.RWMutex
	byType map[string]TypeDocs // "import/path.TypeName"
}

// RegisterDocs records the docs of the types of one package, keyed by
// type name; generated files (go run ./values/internal/docgen) call it
// from init. Registering a type again replaces its docs.
func RegisterDocs(pkgPath string, types map[string]TypeDocs) {
	docs.Lock()
	defer docs.Unlock()
	if docs.byType == nil {
		docs.byType = map[string]TypeDocs{}
	}
	for name, d := range types {
		docs.byType[pkgPath+"."+name] = d
	}
}

// typeDocs returns the registered docs of a named type.
func typeDocs(t reflect.Type) (TypeDocs, bool) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
		if t.Name() != "" {
			break
		}
		t = t.Elem()
	}
	if t.Name() == "" {
		return TypeDocs{}, false
	}
	docs.RLock()
	defer docs.RUnlock()
	d, ok := docs.byType[t.PkgPath()+"."+t.Name()]
	return d, ok
}

// fieldDoc returns a field's doc comment, or its type's when the field
// has none.
func fieldDoc(f *fieldInfo) string {
	if d, ok := typeDocs(f.owner); ok {
		if s := strings.TrimSpace(d.Fields[f.goName]); s != "" {
			return s
		}
	}
	if d, ok := typeDocs(f.info.t); ok {
		return strings.TrimSpace(d.Doc)
	}
	return ""
}

// rootDoc returns a type's own doc comment.
func rootDoc(t reflect.Type) string {
	d, _ := typeDocs(t)
	return strings.TrimSpace(d.Doc)
}
