package apply

import (
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation"
)

const self = "tb/minimal-3az"

func obj(apiVersion, kind, ns, name string, labels map[string]string, extra map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{}}
	for k, v := range extra {
		u.Object[k] = v
	}
	u.SetAPIVersion(apiVersion)
	u.SetKind(kind)
	u.SetNamespace(ns)
	u.SetName(name)
	u.SetLabels(labels)
	return u
}

func comp(c string) map[string]string { return map[string]string{ComponentLabel: c} }

func owned(owners ...string) map[string]string {
	l := map[string]string{}
	for _, o := range owners {
		ns, name, _ := strings.Cut(o, "/")
		l[OwnerLabel(ns, name)] = "true"
	}
	return l
}

func claim(ns, name string) corev1.PersistentVolumeClaim {
	return corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
}

func kafkaSet() *unstructured.Unstructured {
	return obj("apps/v1", "StatefulSet", "tb", "kafka", comp("kafka"), map[string]any{
		"spec": map[string]any{"volumeClaimTemplates": []any{map[string]any{"metadata": map[string]any{"name": "data"}}}},
	})
}

func boundPV(name, ns, claim string, labels map[string]string) *unstructured.Unstructured {
	return obj("v1", "PersistentVolume", "", name, labels, map[string]any{
		"spec": map[string]any{"claimRef": map[string]any{"namespace": ns, "name": claim}},
	})
}

func summary(items []pruneItem) []string {
	out := []string{}
	for _, it := range items {
		out = append(out, subject(it.u))
	}
	sort.Strings(out)
	return out
}

func TestPlanPrune(t *testing.T) {
	clusterID := obj("v1", "Secret", "tb", "kafka-cluster-id", comp("kafka"), map[string]any{"data": map[string]any{"id": "eA=="}})
	cm := obj("v1", "ConfigMap", "tb", "kafka-config", comp("kafka"), nil)
	ns := obj("v1", "Namespace", "", "tb", owned(self), nil)
	sc := obj("storage.k8s.io/v1", "StorageClass", "", "gp3", owned(self), nil)
	scShared := obj("storage.k8s.io/v1", "StorageClass", "", "gp3", owned(self, "b/minimal-3az"), nil)
	pv := boundPV("tb-local-pv-kafka", "tb", "data-kafka-0", owned(self))
	claims := []corev1.PersistentVolumeClaim{claim("tb", "data-kafka-0"), claim("tb", "data-kafka-1"), claim("tb", "data-kafka-extra"), claim("tb", "data-zookeeper-0")}
	tests := []struct {
		name               string
		live               []*unstructured.Unstructured
		want               map[string]bool
		pruneData          bool
		del, release, keep []string
		data               map[string][]string
		claimsIn           []corev1.PersistentVolumeClaim
	}{{
		// Delete without PruneData: the data, its volume and the
		// namespace holding them stay; nothing waits for the namespace.
		name:     "delete keeps data",
		live:     []*unstructured.Unstructured{kafkaSet(), clusterID, cm, ns, sc, pv},
		claimsIn: claims,
		del:      []string{"ConfigMap/tb/kafka-config", "StatefulSet/tb/kafka", "StorageClass/gp3"},
		keep: []string{"Namespace/tb", "PersistentVolume/tb-local-pv-kafka", "PersistentVolumeClaim/tb/data-kafka-0",
			"PersistentVolumeClaim/tb/data-kafka-1", "Secret/tb/kafka-cluster-id"},
		data: map[string][]string{},
	}, {
		// PruneData removes a component's data together: the cluster ID
		// with the claims formatted with it and their volume.
		name:      "prune data all or nothing",
		live:      []*unstructured.Unstructured{kafkaSet(), clusterID, cm, pv},
		claimsIn:  claims,
		want:      map[string]bool{"Namespace//tb": true},
		pruneData: true,
		del: []string{"ConfigMap/tb/kafka-config", "PersistentVolume/tb-local-pv-kafka", "PersistentVolumeClaim/tb/data-kafka-0",
			"PersistentVolumeClaim/tb/data-kafka-1", "Secret/tb/kafka-cluster-id", "StatefulSet/tb/kafka"},
		data: map[string][]string{"kafka": {"PersistentVolume/tb-local-pv-kafka", "PersistentVolumeClaim/tb/data-kafka-0",
			"PersistentVolumeClaim/tb/data-kafka-1", "Secret/tb/kafka-cluster-id"}},
	}, {
		// A StorageClass another stack holds is released, not deleted.
		name:     "shared class released",
		live:     []*unstructured.Unstructured{scShared, ns},
		claimsIn: nil,
		release:  []string{"StorageClass/gp3"},
		del:      []string{"Namespace/tb"},
		data:     map[string][]string{},
	}, {
		// Prune (not delete) of a volume whose claim stays: kept.
		name:     "volume of kept claim",
		live:     []*unstructured.Unstructured{kafkaSet(), pv},
		want:     map[string]bool{"StatefulSet.apps/tb/kafka": true},
		claimsIn: claims,
		keep:     []string{"PersistentVolume/tb-local-pv-kafka"},
		data:     map[string][]string{},
	}, {
		// A volume whose claim is gone is deleted; the claims of a
		// StatefulSet still wanted are not the prune's business.
		name:     "volume of gone claim",
		live:     []*unstructured.Unstructured{kafkaSet(), boundPV("tb-local-pv-old", "tb", "data-old-0", owned(self))},
		want:     map[string]bool{"StatefulSet.apps/tb/kafka": true},
		claimsIn: claims,
		del:      []string{"PersistentVolume/tb-local-pv-old"},
		data:     map[string][]string{},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.want
			if want == nil {
				want = map[string]bool{}
			}
			plan := planPrune(self, tt.live, want, tt.claimsIn, tt.pruneData)
			for _, c := range []struct {
				what      string
				got, want []string
			}{{"delete", summary(plan.del), tt.del}, {"release", summary(plan.release), tt.release}, {"keep", summary(plan.keep), tt.keep}} {
				if c.want == nil {
					c.want = []string{}
				}
				if d := cmp.Diff(c.want, c.got); d != "" {
					t.Errorf("%s (-want +got):\n%s", c.what, d)
				}
			}
			if d := cmp.Diff(tt.data, plan.data); d != "" {
				t.Errorf("data (-want +got):\n%s", d)
			}
		})
	}
}

func TestPlanPruneOrder(t *testing.T) {
	live := []*unstructured.Unstructured{
		obj("v1", "Namespace", "", "tb", owned(self), nil),
		obj("v1", "Service", "tb", "kafka", nil, nil),
		kafkaSet(),
		obj("storage.k8s.io/v1", "StorageClass", "", "gp3", owned(self), nil),
	}
	plan := planPrune(self, live, map[string]bool{}, nil, true)
	var got []string
	for _, it := range plan.del {
		got = append(got, it.u.GetKind())
	}
	want := []string{"StatefulSet", "Service", "StorageClass", "Namespace"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("workloads first, namespace last (-want +got):\n%s", d)
	}
}

func TestOwnerLabel(t *testing.T) {
	long := strings.Repeat("a", 63)
	for _, c := range [][2]string{{"tb", "minimal-3az"}, {long, long}} {
		key := OwnerLabel(c[0], c[1])
		if errs := validation.IsQualifiedName(key); len(errs) > 0 {
			t.Errorf("OwnerLabel(%q, %q) = %q is not a label key: %v", c[0], c[1], key, errs)
		}
		u := obj("v1", "Namespace", "", "x", map[string]string{key: "true"}, nil)
		if got := ownersOf(u); len(got) != 1 || got[0] != c[0]+"/"+c[1] {
			t.Errorf("ownersOf = %v", got)
		}
	}
	legacy := obj("storage.k8s.io/v1", "StorageClass", "", "gp3", map[string]string{
		InventoryGroup + "/name": "minimal-3az", InventoryGroup + "/namespace": "a", OwnerLabel("b", "minimal-3az"): "true"}, nil)
	if d := cmp.Diff([]string{"a/minimal-3az", "b/minimal-3az"}, ownersOf(legacy)); d != "" {
		t.Errorf("legacy inventory labels count as an owner (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"a/minimal-3az"}, others(legacy, "b/minimal-3az")); d != "" {
		t.Errorf("others (-want +got):\n%s", d)
	}
}

func TestDescribeManagers(t *testing.T) {
	msg := `Apply failed with 2 conflicts: conflict with "iotstack:b/minimal-3az": .metadata.labels.x; conflict with "kubectl-edit" using apps/v1: .spec.replicas`
	want := []string{"stack b/minimal-3az", "field manager kubectl-edit"}
	if d := cmp.Diff(want, describeManagers(msg)); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestIsOrdinalOf(t *testing.T) {
	for name, want := range map[string]bool{"data-kafka-0": true, "data-kafka-12": true, "data-kafka-": false, "data-kafka-x": false, "data-kafka-0-1": false, "data-kafkaa-0": false} {
		if got := isOrdinalOf(name, "data-kafka-"); got != want {
			t.Errorf("isOrdinalOf(%q) = %v, want %v", name, got, want)
		}
	}
}
