// Package values turns values documents (YAML or JSON files and --set
// overrides) into a profile's typed Go configuration, strictly, with every
// error located by its path, and documents that configuration at run time
// (Render) and for editors (Schema).
//
// # The configuration type
//
// Any struct works: fields are keys named by their json tag (or the Go
// name in lowerCamel case when untagged; `json:"-"` skips a field;
// embedded structs without a tag name are flattened). Supported field
// types are string, bool, the integer and float types, nested structs,
// pointers (nil means "not set": null in documents), slices of values,
// maps with string keys, resource.Quantity (a string such as "16Gi", or a
// number), time.Duration (a Go duration string such as "1m30s") and any
// type whose pointer implements encoding.TextUnmarshaler (a string; it
// should implement encoding.TextMarshaler too, for Render). Any other type
// is an error from every function here (never a panic).
//
// Tags declare what a field allows, and the decoder, Set and Schema all
// enforce the same tags:
//
//	enum:"a,b,c"  string fields: the allowed values (a string type can
//	              declare them for every field of that type with an
//	              Enum() []string method, see Enumerator)
//	min:"1"       numbers: the smallest value; lists and maps: the fewest
//	              items or entries
//	max:"255"     the largest value, or the most items or entries
//
// Integer fields also accept only values their Go type can hold.
//
// # Merge order
//
// The value passed to Load, Set or LoadAndSet holds the defaults. On top
// of it come the documents, in order, then the --set overrides, in order:
//
//	defaults ← values files (in the order given) ← --set PATH=VALUE (in order)
//
// and then, once, a check of every field against its tags and the
// Validate methods (see Validator). Within that merge:
//
//   - structs and maps merge key by key: a document changes only the keys
//     it names; a map entry absent from the document keeps its value;
//   - lists replace: a list in a document replaces the whole list (as in
//     Helm), and its items start from zero values, not from the items they
//     replace; an empty list ([]) leaves the field an empty (nil) list;
//   - what starts from zero (a list item, a new map entry, a pointer that
//     was nil) must name every key whose zero value its tags forbid (an
//     enum without "", min 1, ...): those keys are required there, and
//     the schema lists them as required;
//   - an explicit null resets a field to its zero value (a nil pointer, an
//     empty list or map, 0, "", false), unless that value breaks the
//     field's tags; in a map, null deletes the entry; a list item cannot
//     be null;
//   - an empty document (or one holding only comments) changes nothing;
//     a file holds one YAML document; anchors, aliases and merge keys (<<)
//     work as in YAML, within a bounded amount of work.
//
// Decoding is strict: an unknown key, a duplicate key, a value of the
// wrong type (a number where a string is expected is an error: quote it)
// or an invalid value (a quantity that does not parse, a value outside an
// enum or the bounds) is an error. The function decodes everything it can
// and reports every error at once; it changes the target only when there
// is none.
//
// # --set overrides
//
// Set and LoadAndSet take PATH=VALUE expressions:
//
//	namespace=prod                          a string, taken as written (123 is "123")
//	kafka.replicationFactor=3               parsed as the field's type
//	topology.zones[0]=us-east-1a            a list item; [len] appends, beyond is an error
//	topology.zones={us-east-1a,us-east-1b}  a whole list (Helm's syntax)
//	topology.zones=[us-east-1a, us-east-1b] a whole list as a YAML or JSON flow list
//	topology.pools[0].labels.role=tb        a map entry
//	topology.pools[0].labels["kubernetes.io/arch"]=arm64   a key with dots (or labels.kubernetes\.io/arch)
//	kafka.storage={size: 20Gi}              a mapping, merged like a document
//	kafka.storage=null                      null resets any field, deletes a map entry
//
// Strings, quantities, durations and text types take VALUE literally
// (except null); numbers, booleans, lists and mappings read it as YAML.
// Pointers on the path are allocated when nil.
//
// # Errors
//
// Every problem is a FieldError and a call returns them all as Errors.
// One renders as
//
//	FILE:LINE: PATH: VALUE; MESSAGE
//
// for example
//
//	prod.yaml:7: topology.pools[1].cpu: "4 cores"; not a quantity (quantities must match the regular expression ...); expected a Kubernetes quantity such as 4, 500m or 16Gi
//	prod.yaml:3: kafka.replicas: unknown key "replicas"; did you mean "brokers"? known keys: brokers, replicationFactor, ...
//	--set: topology.zones[5]: index 5 is beyond the end of the list (3 items); use [3] to append
//	kafka.replicationFactor: 4; exceeds brokers 3
//
// where FILE is the document's name ("--set" for overrides; absent for
// validation errors), PATH the field in values syntax (list indexes in
// brackets, map keys that are not plain names quoted in brackets), VALUE
// the value as given and MESSAGE what is wrong and what is allowed. A
// Validate method builds its errors with Errorf, with paths relative to
// its own value.
//
// # Documentation at run time
//
// Render writes the document of a value with each field's Go doc comment
// above it; the comments come from a generated file that calls
// RegisterDocs (see the docgen package and its command,
// go run github.com/iotstack/iotstack/values/internal/docgen). Schema
// writes a JSON Schema (draft 2020-12) that accepts the same documents as
// Load, except for what only Validate methods check.
//
// # Wiring a profile
//
// A profile's package documents its config type, generates the docs file
// and checks it in a test:
//
//	//go:generate go run github.com/iotstack/iotstack/values/internal/docgen
//
//	func TestValuesDocs(t *testing.T) {
//		if err := docgen.Check(docgen.Config{Dir: "."}); err != nil {
//			t.Fatal(err)
//		}
//	}
//
// and a command line does, per verb:
//
//	cfg := defaults()                                // today's dist
//	var docs []values.Doc                            // -f, in order
//	for _, f := range files { d, err := values.ReadFile(f); ...; docs = append(docs, d) }
//	err := values.LoadAndSet(&cfg, docs, sets)       // --set, in order; a values.Errors lists every problem
//	out, err := values.Render(&cfg)                  // iotstack values: the complete document, commented
//	schema, err := values.Schema(&cfg, url)          // iotstack schema
//	rec, err := values.RenderOverrides(defaults(), &cfg) // what a rendered directory records
//
// Loading rec onto the same defaults gives cfg back (RenderOverrides is
// tested for that), so a directory can be re-synthesized and compared.
//
// # Limits
//
// What this package deliberately does not do, and why:
//
//   - The schema checks one document against the defaults; it cannot know
//     what an earlier file changed (after a file sets a pointer to null, a
//     later file's mapping for it starts from zero and must name its
//     required keys, which the schema, expecting the default, does not
//     ask for). Load sees the whole merge.
//   - The duration pattern does not see overflow (more than about 290
//     years), which time.ParseDuration rejects.
//   - A type implementing encoding.TextUnmarshaler is known to the schema
//     only as a string (plus its enum, if any).
//   - Types implementing only json.Unmarshaler, interfaces, channels,
//     functions, arrays, lists of pointers and maps with non-string keys
//     are refused (an error, not a guess); Schema also refuses recursive
//     types.
//   - The schema agreement is tested with YAML as go.yaml.in/yaml/v3
//     reads it; an editor's YAML parser may read odd scalars (0o17, yes)
//     differently.
//   - Render comments the fields of the first item of a list only, to
//     keep long lists readable.
package values
