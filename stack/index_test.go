package stack

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// TestSelectedMatchesScan: the indexed lookup of pod templates returns
// exactly what comparing the selector with every template returns, for
// equality, set and existence selectors, in the templates' order.
func TestSelectedMatchesScan(t *testing.T) {
	s := newTestStack(t)
	for i := 0; i < 6; i++ {
		e := addEcho(t, s, fmt.Sprintf("echo%d", i))
		if i%2 == 0 {
			e.sts.Spec.Template.Labels = e.c.SelectorFor("even")
		}
	}
	v := &validator{stack: s}
	for _, c := range s.Components() { // rendered without validation: the "even" templates break their selectors on purpose
		for _, o := range c.Objects() {
			r, err := s.prepare(c, o, nil)
			if err != nil {
				t.Fatal(err)
			}
			v.templates = append(v.templates, templatesOf(r)...)
		}
	}
	ns := s.Namespace()
	for _, sel := range []*metav1.LabelSelector{
		{},
		{MatchLabels: map[string]string{LabelInstance: "demo"}},
		{MatchLabels: map[string]string{LabelInstance: "demo", LabelName: "echo3"}},
		{MatchLabels: map[string]string{LabelComponent: "even"}},
		{MatchLabels: map[string]string{LabelName: "nope"}},
		{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: LabelName, Operator: metav1.LabelSelectorOpIn, Values: []string{"echo1", "echo4", "nope"}}}},
		{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: LabelName, Operator: metav1.LabelSelectorOpNotIn, Values: []string{"echo1"}}}},
		{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: LabelComponent, Operator: metav1.LabelSelectorOpExists}},
			MatchLabels: map[string]string{LabelName: "echo5"}},
	} {
		ls, err := metav1.LabelSelectorAsSelector(sel)
		if err != nil {
			t.Fatal(err)
		}
		var want, got []string
		for _, tp := range v.templates {
			if tp.r.Ref.Namespace == ns && ls.Matches(labels.Set(tp.labels)) {
				want = append(want, tp.r.Ref.String())
			}
		}
		for _, tp := range v.selected(ns, ls) {
			got = append(got, tp.r.Ref.String())
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%s (-scan +index):\n%s", ls, d)
		}
		if len(v.selected("elsewhere", ls)) != 0 {
			t.Errorf("%s selects templates of another namespace", ls)
		}
	}
}
