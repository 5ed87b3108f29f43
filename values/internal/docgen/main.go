// Command docgen writes the file that registers a package's doc comments
// with values.RegisterDocs (see package values/docgen).
//
// Usage:
//
//	go run github.com/iotstack/iotstack/values/internal/docgen [-dir DIR] [-pkg NAME] [-tests] [-o FILE] [-types A,B] [-files F,G]
//
// For example, from a //go:generate directive in the package itself:
//
//	//go:generate go run github.com/iotstack/iotstack/values/internal/docgen
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/iotstack/iotstack/values/docgen"
)

func main() {
	var c docgen.Config
	var types, files string
	flag.StringVar(&c.Dir, "dir", ".", "the package directory")
	flag.StringVar(&c.Package, "pkg", "", "the package clause to document (default: the directory's package; NAME_test for an external test package)")
	flag.BoolVar(&c.Tests, "tests", false, "include _test.go files")
	flag.StringVar(&c.ImportPath, "import", "", "the package's import path (default: from go.mod)")
	flag.StringVar(&c.Output, "o", docgen.DefaultOutput, "the generated file's name inside -dir")
	flag.StringVar(&types, "types", "", "comma-separated type names to document (default: all)")
	flag.StringVar(&files, "files", "", "comma-separated file names inside -dir to parse (default: all)")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "docgen: unexpected arguments %q\n", flag.Args())
		os.Exit(2)
	}
	if types != "" {
		c.Types = strings.Split(types, ",")
	}
	if files != "" {
		c.Files = strings.Split(files, ",")
	}
	if err := docgen.Write(c); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
