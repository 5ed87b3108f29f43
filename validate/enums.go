package validate

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"strings"
)

// The swagger.json checked into k8s.io/kubernetes carries no enum: the
// allowed values of fields such as podManagementPolicy or imagePullPolicy
// reach only the spec a running API server serves (measured when this
// validator was written: the checked-in v1.34.2 spec has none, a live
// server's has 90). The server builds that spec from
// pkg/generated/openapi/zz_generated.openapi.go, which ships in the same
// module zip and lists every enum as a Go literal. Reading that file's
// syntax tree (never compiling or running it) gives the schemas the same
// enums offline.

// enumSet is the allowed values of one property, either of the property
// itself or, for an array, of its items.
type enumSet struct {
	values []any
	items  bool
}

// enumsOf parses the generated OpenAPI definitions and returns, per
// swagger definition name ("io.k8s.api.apps.v1.StatefulSetSpec"), the
// enum of each property that has one.
func enumsOf(src []byte) (map[string]map[string]enumSet, error) {
	f, err := parser.ParseFile(token.NewFileSet(), "zz_generated.openapi.go", src, parser.SkipObjectResolution)
	if err != nil {
		return nil, fmt.Errorf("generated OpenAPI definitions: %w", err)
	}
	// GetOpenAPIDefinitions maps each Go type name to its schema function.
	defOf := map[string]string{}
	funcs := map[string]*ast.FuncDecl{}
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Body == nil {
			continue
		}
		if fd.Name.Name != "GetOpenAPIDefinitions" {
			funcs[fd.Name.Name] = fd
			continue
		}
		ast.Inspect(fd.Body, func(n ast.Node) bool {
			kv, ok := n.(*ast.KeyValueExpr)
			if !ok {
				return true
			}
			key, ok := stringLit(kv.Key)
			call, isCall := kv.Value.(*ast.CallExpr)
			if !ok || !isCall {
				return true
			}
			if fn, ok := call.Fun.(*ast.Ident); ok {
				defOf[fn.Name] = swaggerName(key)
			}
			return false
		})
	}
	if len(defOf) == 0 {
		return nil, fmt.Errorf("generated OpenAPI definitions: no GetOpenAPIDefinitions map")
	}
	enums := map[string]map[string]enumSet{}
	for fn, def := range defOf {
		fd := funcs[fn]
		if fd == nil {
			continue
		}
		ast.Inspect(fd.Body, func(n ast.Node) bool {
			kv, ok := n.(*ast.KeyValueExpr)
			if !ok || !isIdent(kv.Key, "Properties") {
				return true
			}
			props, ok := kv.Value.(*ast.CompositeLit)
			if !ok {
				return true
			}
			for _, e := range props.Elts {
				p, ok := e.(*ast.KeyValueExpr)
				if !ok {
					continue
				}
				name, ok := stringLit(p.Key)
				if !ok {
					continue
				}
				if set, ok := enumIn(p.Value, false); ok {
					if enums[def] == nil {
						enums[def] = map[string]enumSet{}
					}
					enums[def][name] = set
				}
			}
			return false // one level: nested types are references
		})
	}
	return enums, nil
}

// enumIn finds the Enum literal of a property schema: its own, or its
// items' (reached through an Items key).
func enumIn(n ast.Node, items bool) (enumSet, bool) {
	var found enumSet
	var ok bool
	ast.Inspect(n, func(c ast.Node) bool {
		if ok {
			return false
		}
		kv, isKV := c.(*ast.KeyValueExpr)
		if !isKV {
			return true
		}
		switch {
		case isIdent(kv.Key, "Items"):
			found, ok = enumIn(kv.Value, true)
			return false
		case isIdent(kv.Key, "AdditionalProperties"):
			return false // map values: not checked
		case isIdent(kv.Key, "Enum"):
			lit, isLit := kv.Value.(*ast.CompositeLit)
			if !isLit {
				return false
			}
			var values []any
			for _, e := range lit.Elts {
				if s, isStr := stringLit(e); isStr {
					values = append(values, s)
				}
			}
			if len(values) > 0 {
				found, ok = enumSet{values: values, items: items}, true
			}
			return false
		}
		return true
	})
	return found, ok
}

func isIdent(n ast.Expr, name string) bool {
	id, ok := n.(*ast.Ident)
	return ok && id.Name == name
}

func stringLit(n ast.Expr) (string, bool) {
	lit, ok := n.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}

// swaggerName turns a Go type name ("k8s.io/api/apps/v1.StatefulSetSpec")
// into its swagger definition name ("io.k8s.api.apps.v1.StatefulSetSpec").
func swaggerName(goName string) string {
	host, rest, _ := strings.Cut(goName, "/")
	labels := strings.Split(host, ".")
	for i, j := 0, len(labels)-1; i < j; i, j = i+1, j-1 {
		labels[i], labels[j] = labels[j], labels[i]
	}
	return strings.Join(labels, ".") + "." + strings.ReplaceAll(rest, "/", ".")
}

// addEnums writes the enums into the swagger definitions; it returns how
// many properties got one.
func addEnums(defs map[string]map[string]any, enums map[string]map[string]enumSet) int {
	n := 0
	for def, props := range enums {
		d, ok := defs[def]
		if !ok {
			continue
		}
		dp, _ := d["properties"].(map[string]any)
		for name, set := range props {
			p, ok := dp[name].(map[string]any)
			if !ok {
				continue
			}
			if set.items {
				p, ok = p["items"].(map[string]any)
				if !ok {
					continue
				}
			}
			p["enum"] = set.values
			n++
		}
	}
	return n
}
