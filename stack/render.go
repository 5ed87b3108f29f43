package stack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	yaml2 "go.yaml.in/yaml/v2"
	yaml3 "go.yaml.in/yaml/v3"
)

// renderer turns objects into YAML. The output is deterministic and
// conservative: keys sorted (apiVersion, kind, metadata first, then name
// and namespace, then alphabetically), block style with compact sequences
// as kubectl writes them, multi-line strings as literal block scalars, and
// every string that a YAML 1.1 reader (kubectl, sigs.k8s.io/yaml) or a YAML
// 1.2 reader could take for anything but that string double-quoted
// (cdk8s#172: on/yes/no, 0777, 1:20, dates).
//
// It writes YAML itself rather than through go-yaml's emitter: the data is
// only maps, lists, strings, numbers and booleans from encoding/json, and
// the emitter's event queue made rendering allocation-bound.
type renderer struct{}

func newRenderer() *renderer { return &renderer{} }

// file renders a component's objects as one multi-document YAML file.
func (r *renderer) file(stack, component string, objs []*Rendered) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(header(stack, component))
	for _, o := range objs {
		b.WriteString("---\n")
		if err := r.object(&b, o.Object); err != nil {
			return nil, fmt.Errorf("%s: %w", o.Ref, err)
		}
	}
	return b.Bytes(), nil
}

func (r *renderer) object(b *bytes.Buffer, obj Object) error {
	raw, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return err
	}
	m, ok := tree.(map[string]any)
	if !ok {
		return fmt.Errorf("object does not encode to a JSON object")
	}
	delete(m, "status") // manifests carry desired state only
	prune(m, "")
	writeMap(b, m, 0, 0, false)
	return nil
}

// emptyNoise names the keys whose empty map is encoding noise, not
// meaning: Go structs without omitempty (status, resources, strategy,
// metadata after creationTimestamp: null is dropped, a Namespace's spec).
// Empty maps under any other key are kept: emptyDir: {} and an empty
// label selector both mean something.
var emptyNoise = map[string]bool{
	"status": true, "metadata": true, "resources": true, "spec": true,
	"strategy": true, "updateStrategy": true,
}

// prune drops nulls and noise-empty maps, bottom-up. It reports whether the
// value should be kept.
func prune(v any, key string) (any, bool) {
	switch t := v.(type) {
	case nil:
		return nil, false
	case map[string]any:
		for k, child := range t {
			if pv, keep := prune(child, k); keep {
				t[k] = pv
			} else {
				delete(t, k)
			}
		}
		if len(t) == 0 && emptyNoise[key] {
			return nil, false
		}
		return t, true
	case []any:
		for i, child := range t {
			t[i], _ = prune(child, "")
		}
		return t, true
	}
	return v, true
}

func keyRank(k string, depth int) int {
	if depth == 0 {
		switch k {
		case "apiVersion":
			return 0
		case "kind":
			return 1
		case "metadata":
			return 2
		}
	}
	switch k {
	case "name":
		return 3
	case "namespace":
		return 4
	}
	return 5
}

func sortedMapKeys(m map[string]any, depth int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		ri, rj := keyRank(keys[i], depth), keyRank(keys[j], depth)
		if ri != rj {
			return ri < rj
		}
		return keys[i] < keys[j]
	})
	return keys
}

func indent(b *bytes.Buffer, n int) {
	for i := 0; i < n; i++ {
		b.WriteByte(' ')
	}
}

// writeMap writes a non-empty mapping at column ind. inline means the
// first key continues a line already started ("- " of a sequence item).
func writeMap(b *bytes.Buffer, m map[string]any, ind, depth int, inline bool) {
	for i, k := range sortedMapKeys(m, depth) {
		if i > 0 || !inline {
			indent(b, ind)
		}
		writeScalar(b, k, ind, true)
		b.WriteByte(':')
		writeValue(b, m[k], ind, depth+1, false)
	}
}

// writeValue writes v after "key:" (seq false) or after "-" (seq true),
// where the parent sits at column ind.
func writeValue(b *bytes.Buffer, v any, ind, depth int, seq bool) {
	switch t := v.(type) {
	case map[string]any:
		if len(t) == 0 {
			b.WriteString(" {}\n")
			return
		}
		if seq {
			b.WriteByte(' ')
			writeMap(b, t, ind+2, depth, true)
			return
		}
		b.WriteByte('\n')
		writeMap(b, t, ind+2, depth, false)
	case []any:
		if len(t) == 0 {
			b.WriteString(" []\n")
			return
		}
		if seq {
			b.WriteByte(' ')
			writeSeq(b, t, ind+2, depth, true)
			return
		}
		b.WriteByte('\n')
		writeSeq(b, t, ind, depth, false) // compact: "- " at the key's column
	default:
		b.WriteByte(' ')
		writeScalar(b, v, ind+2, false)
		b.WriteByte('\n')
	}
}

func writeSeq(b *bytes.Buffer, s []any, ind, depth int, inline bool) {
	for i, item := range s {
		if i > 0 || !inline {
			indent(b, ind)
		}
		b.WriteByte('-')
		writeValue(b, item, ind, depth, true)
	}
}

// writeScalar writes a string, number or boolean. blockInd is the column
// of a literal block's content.
func writeScalar(b *bytes.Buffer, v any, blockInd int, key bool) {
	switch t := v.(type) {
	case string:
		switch {
		case !key && strings.Contains(t, "\n") && literalSafe(t):
			writeLiteral(b, t, blockInd)
		case plainSafe(t, key):
			b.WriteString(t)
		default:
			writeQuoted(b, t)
		}
	case json.Number:
		b.WriteString(string(t))
	case bool:
		if t {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case nil:
		b.WriteString("null")
	default:
		// encoding/json produces only the types above.
		writeQuoted(b, fmt.Sprint(t))
	}
}

// writeLiteral writes s as a literal block scalar whose chomping
// indicator keeps its trailing newlines exactly: "|-" for none, "|" for
// one, "|+" for more. The caller ends the last line.
func writeLiteral(b *bytes.Buffer, s string, ind int) {
	switch {
	case !strings.HasSuffix(s, "\n"):
		b.WriteString("|-")
	case strings.HasSuffix(s, "\n\n"):
		b.WriteString("|+")
	default:
		b.WriteString("|")
	}
	for _, line := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
		b.WriteByte('\n')
		if line != "" {
			indent(b, ind)
			b.WriteString(line)
		}
	}
}

// literalSafe reports whether s can be a literal block scalar that every
// YAML reader reads back exactly: printable text without carriage returns,
// tabs at the start of a line, trailing blanks, or a first line that
// starts with a space (which would need an indentation indicator).
func literalSafe(s string) bool {
	if !utf8.ValidString(s) || s[0] == ' ' || s[0] == '\n' {
		return false
	}
	for _, line := range strings.Split(s, "\n") {
		if line == "" {
			continue
		}
		if line[0] == '\t' || line[len(line)-1] == ' ' || line[len(line)-1] == '\t' {
			return false
		}
		for _, c := range line {
			if c != '\t' && (!unicode.IsPrint(c) || c == '\uFEFF') {
				return false
			}
		}
	}
	return true
}

// plainSafe reports whether s can be written without quotes: printable,
// not starting with an indicator or a blank, without ": " or " #", not
// ending in ":" or a blank, and read back as the same string (see
// resolvesToString).
func plainSafe(s string, key bool) bool {
	if s == "" {
		return false
	}
	switch s[0] {
	case '-':
		if len(s) == 1 || s[1] == ' ' || strings.HasPrefix(s, "---") {
			return false
		}
	case '?', ':', ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`', ' ', '\t', '<', '=', '~':
		return false
	}
	if last := s[len(s)-1]; last == ' ' || last == ':' || last == '\t' {
		return false
	}
	if strings.Contains(s, ": ") || strings.Contains(s, " #") {
		return false
	}
	if key && strings.ContainsAny(s, "{}[],") {
		return false
	}
	if c := s[0]; (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.') && strings.Contains(s, ":") {
		return false // YAML 1.1 base-60 numbers (1:20 is 80 to PyYAML)
	}
	for _, c := range s {
		if c == '\t' || !unicode.IsPrint(c) || c == '\uFEFF' {
			return false
		}
	}
	return resolvesToString(s)
}

// resolveCache memoizes resolvesToString; the answer depends only on s.
var resolveCache sync.Map

// resolvesToString reports whether a plain s reads back as the string s
// in both YAML 1.1 (go-yaml v2, what kubectl uses) and YAML 1.2 (go-yaml
// v3). Strings starting with a letter are strings unless they are one of
// the YAML 1.1 boolean or null words; the others ask both parsers.
func resolvesToString(s string) bool {
	if c := s[0]; c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
		return !yaml11Words[s]
	}
	// Numbers, booleans, nulls and timestamps are made of these
	// characters; anything else is a string. The filter also keeps
	// arbitrary text (anchors, aliases, flow collections) away from the
	// parsers below.
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || strings.ContainsRune("+-._:~=< ", c)) {
			return true
		}
	}
	if v, ok := resolveCache.Load(s); ok {
		return v.(bool)
	}
	var v2, v3 any
	ok := yaml2.Unmarshal([]byte(s), &v2) == nil && yaml3.Unmarshal([]byte(s), &v3) == nil
	if ok {
		s2, ok2 := v2.(string)
		s3, ok3 := v3.(string)
		ok = ok2 && ok3 && s2 == s && s3 == s
	}
	resolveCache.Store(s, ok)
	return ok
}

// yaml11Words are the YAML 1.1 booleans and nulls that start with a letter
// (yaml.org/type/bool.html, yaml.org/type/null.html).
var yaml11Words = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range []string{"y", "yes", "n", "no", "true", "false", "on", "off", "null"} {
		m[w] = true
		m[strings.ToUpper(w)] = true
		m[strings.ToUpper(w[:1])+w[1:]] = true
	}
	return m
}()

// writeQuoted writes s as a double-quoted scalar; the escapes used are
// common to YAML 1.1 and 1.2.
func writeQuoted(b *bytes.Buffer, s string) {
	b.WriteByte('"')
	for _, c := range s {
		switch c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		case '\r':
			b.WriteString(`\r`)
		default:
			if unicode.IsPrint(c) && c != '\uFEFF' {
				b.WriteRune(c)
			} else if c <= 0xFFFF {
				fmt.Fprintf(b, `\u%04X`, c)
			} else {
				fmt.Fprintf(b, `\U%08X`, c)
			}
		}
	}
	b.WriteByte('"')
}
