package values_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/iotstack/iotstack/values"
)

// vRoot exercises the Validate walk: a root Validator, nested values in
// lists and maps, an ErrorValidator with a plain error, one with Errors,
// and a pointer-receiver method.
type vRoot struct {
	Zones []string           `json:"zones"`
	Items []vItem            `json:"items"`
	ByKey map[string]vItem   `json:"byKey"`
	Plain vPlain             `json:"plain"`
	Multi vMulti             `json:"multi"`
	Ptr   *vItem             `json:"ptr"`
	Deep  map[string]*vPlain `json:"-"`
}

func (r vRoot) Validate() []values.FieldError {
	if len(r.Zones) == 0 {
		return []values.FieldError{values.Errorf("zones", r.Zones, "at least 1 zone required")}
	}
	return nil
}

type vItem struct {
	N int `json:"n"`
}

func (i *vItem) Validate() []values.FieldError {
	if i.N < 0 {
		return []values.FieldError{values.Errorf("n", i.N, "must not be negative")}
	}
	return nil
}

type vPlain struct {
	Bad bool `json:"bad"`
}

func (p vPlain) Validate() error {
	if p.Bad {
		return fmt.Errorf("plain is bad")
	}
	return nil
}

type vMulti struct {
	Bad bool `json:"bad"`
}

func (m vMulti) Validate() error {
	if m.Bad {
		return values.Errors{values.Errorf("bad", true, "one"), values.Errorf("", nil, "two")}
	}
	return nil
}

func TestValidate(t *testing.T) {
	v := vRoot{
		Items: []vItem{{N: 1}, {N: -2}},
		ByKey: map[string]vItem{"b": {N: -1}, "a.b": {N: -3}, "ok": {}},
		Plain: vPlain{Bad: true},
		Multi: vMulti{Bad: true},
		Ptr:   &vItem{N: -4},
	}
	err := values.Validate(&v)
	var fes values.Errors
	if !errors.As(err, &fes) {
		t.Fatalf("got %v", err)
	}
	var got []string
	for _, e := range fes {
		got = append(got, e.Error())
	}
	want := []string{
		`zones: []; at least 1 zone required`,
		`items[1].n: -2; must not be negative`,
		`byKey["a.b"].n: -3; must not be negative`,
		`byKey.b.n: -1; must not be negative`,
		`plain: plain is bad`,
		`multi.bad: true; one`,
		`multi: two`,
		`ptr.n: -4; must not be negative`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	var first values.FieldError
	if !errors.As(err, &first) || first.Path != "zones" {
		t.Errorf("errors.As(FieldError): got %+v", first)
	}
	v = vRoot{Zones: []string{"a"}}
	if err := values.Validate(v); err != nil {
		t.Errorf("a valid value: got %v", err)
	}
	if err := values.Validate(3); err == nil {
		t.Error("a non-struct: no error")
	}
}

func TestErrorf(t *testing.T) {
	for _, tc := range []struct {
		e    values.FieldError
		want string
	}{
		{values.Errorf("kafka.replicationFactor", 4, "exceeds brokers %d", 3), "kafka.replicationFactor: 4; exceeds brokers 3"},
		{values.Errorf("topology.zones", []string{}, "at least 1 zone required"), "topology.zones: []; at least 1 zone required"},
		{values.Errorf("namespace", "", "must not be empty"), `namespace: ""; must not be empty`},
		{values.Errorf("a", nil, "no value"), "a: no value"},
		{values.Errorf("m", map[string]int{"b": 2, "a": 1}, "x"), `m: {"a": 1, "b": 2}; x`},
		{values.FieldError{File: "f.yaml", Line: 3, Path: "p", Message: "m"}, "f.yaml:3: p: m"},
	} {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}
