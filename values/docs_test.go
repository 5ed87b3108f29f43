package values_test

import (
	"testing"

	"github.com/iotstack/iotstack/values/docgen"
)

// TestDocsUpToDate fails when zz_docs_test.go no longer matches the doc
// comments of the demo types (run go generate ./values).
func TestDocsUpToDate(t *testing.T) {
	err := docgen.Check(docgen.Config{Dir: ".", Package: "values_test", Tests: true, Output: "zz_docs_test.go", Files: []string{"example_test.go"}})
	if err != nil {
		t.Fatal(err)
	}
}
