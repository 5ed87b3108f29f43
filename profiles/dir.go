package profiles

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/iotstack/iotstack/stack"
	"github.com/iotstack/iotstack/values"
)

// RecordFile is the file of a rendered directory that records the profile
// and the values it was rendered from: the user's overrides of the
// profile's defaults, nothing else. Verbs that take the directory
// re-render from it and refuse a directory whose files differ.
const RecordFile = "iotstack.values.yaml"

// record is the RecordFile's content.
type record struct {
	Profile string         `yaml:"profile"`
	Values  map[string]any `yaml:"values"`
}

// Overrides returns the values document holding what v changes of the
// profile's defaults (every key whose value differs; lists whole), which
// loaded onto the defaults gives v back.
func (p Profile) Overrides(v Values) (map[string]any, error) {
	def, err := renderMap(p.defaults())
	if err != nil {
		return nil, err
	}
	got, err := renderMap(v)
	if err != nil {
		return nil, err
	}
	d, _ := diffMaps(def, got)
	if d == nil {
		d = map[string]any{}
	}
	return d, nil
}

func renderMap(v Values) (map[string]any, error) {
	b, err := values.Render(v)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	return m, nil
}

// diffMaps returns the entries of b that differ from a; ok is false when
// there are none. A key of a missing from b is set to nil (null resets).
func diffMaps(a, b map[string]any) (map[string]any, bool) {
	out := map[string]any{}
	for k, bv := range b {
		av, ok := a[k]
		if !ok {
			out[k] = bv
			continue
		}
		am, aIsMap := av.(map[string]any)
		bm, bIsMap := bv.(map[string]any)
		if aIsMap && bIsMap {
			if d, changed := diffMaps(am, bm); changed {
				out[k] = d
			}
			continue
		}
		if !reflect.DeepEqual(av, bv) {
			out[k] = bv
		}
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			out[k] = nil
		}
	}
	if len(out) == 0 {
		return nil, false
	}
	return out, true
}

// recordFile renders the RecordFile of a directory rendered from v.
func (p Profile) recordFile(v Values) (stack.File, error) {
	over, err := p.Overrides(v)
	if err != nil {
		return stack.File{}, err
	}
	var body bytes.Buffer
	enc := yaml.NewEncoder(&body)
	enc.SetIndent(2)
	if err := enc.Encode(record{Profile: p.Name, Values: over}); err != nil {
		return stack.File{}, err
	}
	head := "# Rendered by iotstack from profile " + p.Name + " with these values (your overrides of its\n" +
		"# defaults). iotstack validate, diff, apply and delete re-render from them and refuse\n" +
		"# this directory if any file differs: change values, not files, and render again.\n"
	return stack.File{Name: RecordFile, Data: append([]byte(head), body.Bytes()...)}, nil
}

// DirJob is one profile rendered into one directory.
type DirJob struct {
	// Dir is the directory, replaced as a whole.
	Dir string
	// Profile and Values say what to render.
	Profile Profile
	Values  Values
}

// WriteDirs renders every job and replaces each directory with the
// rendered files and the RecordFile. Everything is rendered before
// anything is written, and the directories are swapped in together, so an
// error leaves every directory as it was.
func WriteDirs(jobs ...DirJob) ([]*stack.Output, error) {
	outs := make([]*stack.Output, len(jobs))
	targets := make([]stack.Target, len(jobs))
	for i, j := range jobs {
		out, err := j.Profile.render(j.Values)
		if err != nil {
			return nil, err
		}
		outs[i] = out
		targets[i] = stack.Target{Dir: j.Dir, Output: out}
	}
	if err := stack.Write(targets...); err != nil {
		return nil, err
	}
	return outs, nil
}

// render builds and synthesizes v with the RecordFile among the files.
func (p Profile) render(v Values) (*stack.Output, error) {
	_, out, err := p.buildAndRender(v)
	return out, err
}

func (p Profile) buildAndRender(v Values) (*Built, *stack.Output, error) {
	b, err := p.BuildValues(v)
	if err != nil {
		return nil, nil, err
	}
	out, err := SynthBuilt(p.Name, b)
	if err != nil {
		return nil, nil, err
	}
	rec, err := p.recordFile(v)
	if err != nil {
		return nil, nil, err
	}
	out.Files = append(out.Files, rec)
	return b, out, nil
}

// Rendered is a rendered directory read back: its profile, values, built
// stacks and output, checked to match the directory's files.
type Rendered struct {
	Profile Profile
	Values  Values
	Built   *Built
	Output  *stack.Output
}

// ReadDir reads a directory rendered by WriteDirs (or WriteDist),
// re-renders it from its RecordFile and refuses it, naming the files,
// when any file differs, is missing or was added: a hand-edited or stale
// directory never reaches a cluster.
func ReadDir(dir string) (*Rendered, error) {
	recPath := filepath.Join(dir, RecordFile)
	raw, err := os.ReadFile(recPath)
	if err != nil {
		return nil, fmt.Errorf("%s: not a rendered directory (%v); render one with iotstack synth PROFILE -o %s", dir, err, dir)
	}
	var rec struct {
		Profile string    `yaml:"profile"`
		Values  yaml.Node `yaml:"values"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&rec); err != nil {
		return nil, fmt.Errorf("%s: %w", recPath, err)
	}
	p, err := Get(rec.Profile)
	if err != nil {
		return nil, fmt.Errorf("%s: profile: %w", recPath, err)
	}
	var doc []byte
	if rec.Values.Kind != 0 {
		if doc, err = yaml.Marshal(&rec.Values); err != nil {
			return nil, fmt.Errorf("%s: values: %w", recPath, err)
		}
	}
	v, err := p.Load([]values.Doc{{Name: recPath, Data: doc}}, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", recPath, err)
	}
	b, out, err := p.buildAndRender(v)
	if err != nil {
		return nil, err
	}
	if err := compareDir(dir, out.Files); err != nil {
		return nil, err
	}
	return &Rendered{Profile: p, Values: v, Built: b, Output: out}, nil
}

// compareDir reports the files of dir that differ from files, are
// missing, or are not rendered at all.
func compareDir(dir string, files []stack.File) error {
	want := map[string][]byte{}
	for _, f := range files {
		want[filepath.FromSlash(f.Name)] = f.Data
	}
	var changed, missing, extra []string
	for name, data := range want {
		got, err := os.ReadFile(filepath.Join(dir, name))
		switch {
		case os.IsNotExist(err):
			missing = append(missing, name)
		case err != nil:
			return err
		case !bytes.Equal(got, data):
			changed = append(changed, name)
		}
	}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		if _, ok := want[rel]; !ok {
			extra = append(extra, rel)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(changed)+len(missing)+len(extra) == 0 {
		return nil
	}
	sort.Strings(changed)
	sort.Strings(missing)
	sort.Strings(extra)
	var parts []string
	if len(changed) > 0 {
		parts = append(parts, "changed since rendered (hand-edited, or rendered by another iotstack version): "+strings.Join(changed, ", "))
	}
	if len(missing) > 0 {
		parts = append(parts, "missing: "+strings.Join(missing, ", "))
	}
	if len(extra) > 0 {
		parts = append(parts, "not rendered by iotstack: "+strings.Join(extra, ", "))
	}
	return fmt.Errorf("%s does not match the values it records (%s); refusing it:\n  %s\nchange the values and render again: iotstack synth PROFILE -f VALUES -o %s", dir, RecordFile, strings.Join(parts, "\n  "), dir)
}
