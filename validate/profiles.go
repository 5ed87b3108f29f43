package validate

import (
	"bytes"
	"errors"
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
		stacks := []*stack.Stack{b.Stack}
		names := []string{n}
		for _, part := range b.Parts {
			stacks = append(stacks, part.Stack)
			names = append(names, n+"/"+part.Dir)
		}
		for i, s := range stacks {
			r, err := CheckStack(names[i], s, schemas)
			if err != nil {
				return nil, err
			}
			reports = append(reports, r)
		}
	}
	return reports, nil
}

// CheckStack synthesizes a stack and checks the output, with the schema
// layer when schema directories are given. When synthesis itself rejects
// the stack, each of its problems is a finding of the references rule,
// and no other layer runs (there is no output to check).
func CheckStack(name string, s *stack.Stack, schemas map[string]string) (*Report, error) {
	out, err := s.Synth()
	var verr *stack.ValidationError
	if errors.As(err, &verr) {
		r := &Report{profile: name}
		for _, p := range verr.Problems {
			msg := p.Message
			if p.Field != "" {
				msg = p.Field + ": " + msg
			}
			r.Findings = append(r.Findings, Finding{Profile: name, File: "component " + p.Component, Object: p.Object, Rule: References.Name, Message: msg})
		}
		return r, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	r := Check(name, out)
	if schemas != nil {
		fs, err := CheckSchemas(name, out, schemas)
		if err != nil {
			return nil, err
		}
		r.Findings = append(r.Findings, fs...)
		sortFindings(r.Findings)
	}
	return r, nil
}

// DecodeDocument decodes one YAML document with the strict codec, the
// strict-decode layer on its own (for documents from elsewhere).
func DecodeDocument(doc []byte) error {
	dec := serializer.NewCodecFactory(stack.Scheme, serializer.EnableStrict).UniversalDeserializer()
	_, _, err := dec.Decode(bytes.TrimSpace(doc), nil, nil)
	return err
}
