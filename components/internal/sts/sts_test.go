package sts

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/iotstack/iotstack/stack"
	"github.com/iotstack/iotstack/stack/stacktest"
)

func TestChecksumRollsOnConfigChange(t *testing.T) {
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c"}, Data: map[string]string{"a": "1", "b": "2"}}
	first := Checksum(cm)
	if Checksum(cm) != first {
		t.Fatal("checksum is not deterministic")
	}
	cm.Data["b"] = "3"
	if Checksum(cm) == first {
		t.Fatal("a changed value keeps the checksum")
	}
	spec := Spec{Name: "x", Service: "x", Replicas: 1, Selector: map[string]string{"app": "x"}, Config: []*corev1.ConfigMap{cm},
		PodAnnotations: map[string]string{"k": "v"}}
	set, err := StatefulSet(stacktest.ThreeZones(), spec)
	if err != nil {
		t.Fatal(err)
	}
	if got := set.Spec.Template.Annotations; got[ChecksumAnnotation] != Checksum(cm) || got["k"] != "v" {
		t.Fatalf("annotations %v", got)
	}
	if spec.PodAnnotations[ChecksumAnnotation] != "" {
		t.Fatal("StatefulSet wrote into the caller's annotation map")
	}
}

func TestHostsFitAndTag(t *testing.T) {
	topo := stacktest.ThreeZones()
	if err := HostsFit(topo, "kafka", "main", 3); err != nil {
		t.Error(err)
	}
	if err := HostsFit(topo, "kafka", "", 4); err == nil {
		t.Error("4 replicas on 3 hosts accepted")
	}
	for image, want := range map[string]string{"apache/kafka:4.1.0": "4.1.0", "registry:5000/x": "", "x": "", "r:5000/x:1.2": "1.2"} {
		if got := Tag(image); got != want {
			t.Errorf("Tag(%q) = %q; want %q", image, got, want)
		}
	}
	_ = stack.Placement{}
}
