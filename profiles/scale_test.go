package profiles

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// TestRequestScale: the laptop variant scales requests, keeps limits, and
// rejects a factor outside (0, 1] naming the option.
func TestRequestScale(t *testing.T) {
	full, err := Synth(Options{Generic: true}, "minimal-3az")
	if err != nil {
		t.Fatal(err)
	}
	small, err := Synth(Options{Generic: true, RequestScale: 0.1}, "minimal-3az")
	if err != nil {
		t.Fatal(err)
	}
	var a, b *corev1.Container
	for _, o := range full[0].Objects {
		if s, ok := o.Object.(*appsv1.StatefulSet); ok && s.Name == "kafka" {
			a = &s.Spec.Template.Spec.Containers[0]
		}
	}
	for _, o := range small[0].Objects {
		if s, ok := o.Object.(*appsv1.StatefulSet); ok && s.Name == "kafka" {
			b = &s.Spec.Template.Spec.Containers[0]
		}
	}
	if a == nil || b == nil {
		t.Fatal("no kafka StatefulSet")
	}
	if b.Resources.Requests.Memory().Cmp(*a.Resources.Requests.Memory()) >= 0 || !b.Resources.Limits.Memory().Equal(*a.Resources.Limits.Memory()) {
		t.Fatalf("requests %v → %v, limits %v → %v", a.Resources.Requests, b.Resources.Requests, a.Resources.Limits, b.Resources.Limits)
	}
	if _, err := Synth(Options{RequestScale: 2}, "small"); err == nil || !strings.Contains(err.Error(), "profile small: options: RequestScale: 2; allowed greater than 0 and at most 1") {
		t.Fatalf("scale 2: %v", err)
	}
}
