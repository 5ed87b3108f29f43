package validate

import (
	"bytes"
	"fmt"

	"k8s.io/apimachinery/pkg/runtime/serializer"

	"github.com/iotstack/iotstack/profiles"
	"github.com/iotstack/iotstack/stack"
)

// Profiles checks the named profiles with default options, each main
// stack and each separately applied part ("minimal-3az/loadtest"); with
// schema directories (EnsureSchemas) the schema layer runs too.
func Profiles(schemas map[string]string, names ...string) ([]*Report, error) {
	var reports []*Report
	for _, n := range names {
		p, err := profiles.Get(n)
		if err != nil {
			return nil, err
		}
		b, err := p.BuildAll(profiles.Options{})
		if err != nil {
			return nil, err
		}
		out, err := b.Stack.Synth()
		if err != nil {
			return nil, fmt.Errorf("profile %s: %w", n, err)
		}
		outs := map[string]*stack.Output{n: out}
		order := []string{n}
		for _, part := range b.Parts {
			po, err := part.Stack.Synth()
			if err != nil {
				return nil, fmt.Errorf("profile %s, %s: %w", n, part.Dir, err)
			}
			outs[n+"/"+part.Dir] = po
			order = append(order, n+"/"+part.Dir)
		}
		for _, name := range order {
			r := Check(name, outs[name])
			if schemas != nil {
				fs, err := CheckSchemas(name, outs[name], schemas)
				if err != nil {
					return nil, err
				}
				r.Findings = append(r.Findings, fs...)
			}
			reports = append(reports, r)
		}
	}
	return reports, nil
}

// DecodeDocument decodes one YAML document with the strict codec, the
// strict-decode layer on its own (for documents from elsewhere).
func DecodeDocument(doc []byte) error {
	dec := serializer.NewCodecFactory(stack.Scheme, serializer.EnableStrict).UniversalDeserializer()
	_, _, err := dec.Decode(bytes.TrimSpace(doc), nil, nil)
	return err
}
