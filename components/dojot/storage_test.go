package dojot

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/iotstack/iotstack/stack"
	"github.com/iotstack/iotstack/stack/stacktest"
)

// TestEphemeral: the named claim templates become emptyDirs of their
// size, the mounting container's ephemeral storage grows by it, the other
// templates stay, and a claim no StatefulSet has is an error naming it.
func TestEphemeral(t *testing.T) {
	s := stacktest.NewStack(t, stacktest.ThreeZones())
	d := deps(t, s)
	if err := Ephemeral(d.ZooKeeper.Component, "datalog"); err != nil {
		t.Fatal(err)
	}
	var set *appsv1.StatefulSet
	for _, o := range d.ZooKeeper.Component.Objects() {
		if x, ok := o.(*appsv1.StatefulSet); ok {
			set = x
		}
	}
	if set == nil {
		t.Fatal("no ZooKeeper StatefulSet")
	}
	if n := len(set.Spec.VolumeClaimTemplates); n != 1 || set.Spec.VolumeClaimTemplates[0].Name != "data" {
		t.Errorf("claim templates %d; want data only", n)
	}
	var dir *corev1.EmptyDirVolumeSource
	for _, v := range set.Spec.Template.Spec.Volumes {
		if v.Name == "datalog" {
			dir = v.EmptyDir
		}
	}
	if dir == nil || dir.SizeLimit == nil || dir.SizeLimit.IsZero() {
		t.Fatalf("datalog is not a sized emptyDir: %+v", dir)
	}
	grown := false
	for _, c := range set.Spec.Template.Spec.Containers {
		r := c.Resources.Requests[corev1.ResourceEphemeralStorage]
		l := c.Resources.Limits[corev1.ResourceEphemeralStorage]
		for _, m := range c.VolumeMounts {
			if m.Name == "datalog" {
				want := stack.EphemeralRequest.DeepCopy()
				want.Add(*dir.SizeLimit)
				wantL := stack.EphemeralLimit.DeepCopy()
				wantL.Add(*dir.SizeLimit)
				grown = r.Cmp(want) == 0 && l.Cmp(wantL) == 0
			}
		}
	}
	if !grown {
		t.Error("the container mounting datalog did not get its size added to its ephemeral-storage request and limit")
	}
	if set.Spec.PersistentVolumeClaimRetentionPolicy == nil {
		t.Error("the retention policy went with claims left")
	}
	if err := Ephemeral(d.Kafka.Component, "data", "nosuch"); err == nil || !strings.Contains(err.Error(), `no volumeClaimTemplate "nosuch"`) {
		t.Errorf("unknown claim: %v", err)
	}
	if err := Ephemeral(nil, "data"); err == nil {
		t.Error("nil component accepted")
	}
}
