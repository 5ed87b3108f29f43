// Package docgen writes the Go file that registers a package's type and
// field doc comments with values.RegisterDocs, so that values.Render and
// values.Schema can show them at run time (reflect has no doc comments).
//
// It parses the package's source with go/parser (comments kept), takes
// every struct type's doc comment and its fields' doc comments (or their
// trailing line comments), plus the doc comments of other named types,
// and renders each as plain text with go/doc/comment. Run it as
//
//	go run github.com/iotstack/iotstack/values/internal/docgen -dir profiles
//
// or from a //go:generate directive, and keep a test that compares
// Generate's output with the committed file (see Check), so a changed
// comment cannot leave the file stale.
package docgen

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"go/ast"
	"go/doc/comment"
	"go/format"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// ValuesPath is the import path of the values package the generated file
// registers with.
const ValuesPath = "github.com/iotstack/iotstack/values"

// DefaultOutput is the generated file's default name.
const DefaultOutput = "zz_values_docs.go"

// Config says which package to document and where the result goes.
type Config struct {
	// Dir is the package's directory.
	Dir string
	// Package is the package clause to document: the package of Dir's
	// non-test files when empty; "name_test" for an external test package
	// (set Tests too).
	Package string
	// Tests includes _test.go files (for types declared in tests).
	Tests bool
	// ImportPath is the package's import path as reflect reports it
	// (Type.PkgPath); when empty it is derived from the go.mod above Dir,
	// with "_test" appended for an external test package.
	ImportPath string
	// Output is the generated file's name inside Dir (DefaultOutput when
	// empty); it is never parsed itself.
	Output string
	// Types limits the output to these type names; all when empty.
	Types []string
	// Files limits parsing to these file names inside Dir; all the
	// package's files when empty.
	Files []string
}

func (c Config) output() string {
	if c.Output == "" {
		return DefaultOutput
	}
	return c.Output
}

type typeDoc struct {
	name   string
	doc    string
	fields map[string]string
}

// Generate returns the gofmt-ed source of the registration file.
func Generate(c Config) ([]byte, error) {
	fset := token.NewFileSet()
	entries, err := os.ReadDir(c.Dir)
	if err != nil {
		return nil, fmt.Errorf("docgen: %w", err)
	}
	var files []*ast.File
	pkg := c.Package
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || name == c.output() {
			continue
		}
		if len(c.Files) > 0 && !slices.Contains(c.Files, name) {
			continue
		}
		test := strings.HasSuffix(name, "_test.go")
		if test && !c.Tests {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(c.Dir, name), nil, parser.ParseComments)
		if err != nil {
			return nil, fmt.Errorf("docgen: %w", err)
		}
		if pkg == "" && !test {
			pkg = f.Name.Name
		}
		files = append(files, f)
	}
	if pkg == "" {
		return nil, fmt.Errorf("docgen: %s: no Go package found; set Package", c.Dir)
	}
	want := map[string]bool{}
	for _, t := range c.Types {
		want[t] = true
	}
	var types []typeDoc
	for _, f := range files {
		if f.Name.Name != pkg {
			continue
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.TYPE {
				continue
			}
			for _, spec := range gd.Specs {
				ts := spec.(*ast.TypeSpec)
				if ts.TypeParams != nil || (len(want) > 0 && !want[ts.Name.Name]) {
					continue
				}
				cg := ts.Doc
				if cg == nil && len(gd.Specs) == 1 {
					cg = gd.Doc
				}
				td := typeDoc{name: ts.Name.Name, doc: text(cg)}
				if st, ok := ts.Type.(*ast.StructType); ok {
					td.fields = map[string]string{}
					for _, fl := range st.Fields.List {
						d := text(fl.Doc)
						if d == "" {
							d = text(fl.Comment)
						}
						names := fl.Names
						if len(names) == 0 {
							if id := embeddedName(fl.Type); id != "" {
								names = []*ast.Ident{ast.NewIdent(id)}
							}
						}
						for _, n := range names {
							if d != "" {
								td.fields[n.Name] = d
							}
						}
					}
				} else if td.doc == "" {
					continue
				}
				types = append(types, td)
			}
		}
	}
	sort.Slice(types, func(i, j int) bool { return types[i].name < types[j].name })
	importPath := c.ImportPath
	if importPath == "" {
		importPath, err = importPathOf(c.Dir)
		if err != nil {
			return nil, err
		}
		if strings.HasSuffix(pkg, "_test") {
			importPath += "_test"
		}
	}
	return render(pkg, importPath, types)
}

// Check reports an error naming the file and the command to run when the
// committed file in c.Dir differs from what Generate writes now.
func Check(c Config) error {
	want, err := Generate(c)
	if err != nil {
		return err
	}
	path := filepath.Join(c.Dir, c.output())
	got, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("docgen: %w; generate it with %s", err, command(c))
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("docgen: %s is stale (doc comments changed); regenerate it with %s", path, command(c))
	}
	return nil
}

// Write generates the file and writes it into c.Dir.
func Write(c Config) error {
	b, err := Generate(c)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(c.Dir, c.output()), b, 0o644)
}

func command(c Config) string {
	s := "go run " + ValuesPath + "/internal/docgen -dir " + c.Dir
	if c.Package != "" {
		s += " -pkg " + c.Package
	}
	if c.Tests {
		s += " -tests"
	}
	if c.Output != "" {
		s += " -o " + c.Output
	}
	if len(c.Types) > 0 {
		s += " -types " + strings.Join(c.Types, ",")
	}
	if len(c.Files) > 0 {
		s += " -files " + strings.Join(c.Files, ",")
	}
	return s
}

func embeddedName(e ast.Expr) string {
	switch t := e.(type) {
	case *ast.StarExpr:
		return embeddedName(t.X)
	case *ast.Ident:
		return t.Name
	case *ast.SelectorExpr:
		return t.Sel.Name
	}
	return ""
}

// text renders a doc comment as plain text, wrapped at 72 columns; doc
// links ([Pool], [time.Duration]) become their plain text.
func text(cg *ast.CommentGroup) string {
	if cg == nil {
		return ""
	}
	p := comment.Parser{LookupSym: func(recv, name string) bool { return true }}
	d := p.Parse(cg.Text())
	pr := comment.Printer{TextWidth: 72}
	return strings.TrimRight(string(pr.Text(d)), "\n")
}

// importPathOf derives a directory's import path from the go.mod above it.
func importPathOf(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("docgen: %w", err)
	}
	for d := abs; ; d = filepath.Dir(d) {
		f, err := os.Open(filepath.Join(d, "go.mod"))
		if err == nil {
			mod := ""
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module "); ok {
					mod = strings.Trim(strings.TrimSpace(rest), `"`)
					break
				}
			}
			f.Close()
			if mod == "" {
				return "", fmt.Errorf("docgen: %s/go.mod has no module line", d)
			}
			rel, err := filepath.Rel(d, abs)
			if err != nil {
				return "", fmt.Errorf("docgen: %w", err)
			}
			if rel == "." {
				return mod, nil
			}
			return mod + "/" + filepath.ToSlash(rel), nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("docgen: %w", err)
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("docgen: no go.mod above %s; set ImportPath", abs)
		}
	}
}

func render(pkg, importPath string, types []typeDoc) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("// Code generated by go run " + ValuesPath + "/internal/docgen; DO NOT EDIT.\n\n")
	fmt.Fprintf(&b, "package %s\n\n", pkg)
	qual := "values."
	if importPath == ValuesPath {
		qual = ""
	} else {
		fmt.Fprintf(&b, "import %q\n\n", ValuesPath)
	}
	fmt.Fprintf(&b, "func init() {\n%sRegisterDocs(%q, map[string]%sTypeDocs{\n", qual, importPath, qual)
	for _, t := range types {
		fmt.Fprintf(&b, "%q: {\n", t.name)
		if t.doc != "" {
			fmt.Fprintf(&b, "Doc: %s,\n", strconv.Quote(t.doc))
		}
		if len(t.fields) > 0 {
			b.WriteString("Fields: map[string]string{\n")
			names := make([]string, 0, len(t.fields))
			for n := range t.fields {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				fmt.Fprintf(&b, "%q: %s,\n", n, strconv.Quote(t.fields[n]))
			}
			b.WriteString("},\n")
		}
		b.WriteString("},\n")
	}
	b.WriteString("})\n}\n")
	out, err := format.Source(b.Bytes())
	if err != nil {
		return nil, fmt.Errorf("docgen: formatting the generated file: %w", err)
	}
	return out, nil
}
