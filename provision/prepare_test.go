package provision

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/iotstack/iotstack/stack"
)

func localPV(name, path string, expr ...corev1.NodeSelectorRequirement) stack.Rendered {
	pv := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PersistentVolumeSpec{
		PersistentVolumeSource: corev1.PersistentVolumeSource{Local: &corev1.LocalVolumeSource{Path: path}},
		NodeAffinity:           &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: expr}}}},
	}}
	return stack.Rendered{Object: pv, Ref: stack.ObjectRef{Name: name}}
}

func groupIn(v ...string) corev1.NodeSelectorRequirement {
	return corev1.NodeSelectorRequirement{Key: "group", Operator: corev1.NodeSelectorOpIn, Values: v}
}

var twoPools = stack.Topology{Zones: []string{"z"}, Pools: []stack.NodePool{
	{Name: "a", Arch: "amd64", CPU: resource.MustParse("1"), Memory: resource.MustParse("1Gi"), NodesPerZone: 1, Labels: map[string]string{"group": "a"}},
	{Name: "b", Arch: "arm64", CPU: resource.MustParse("1"), Memory: resource.MustParse("1Gi"), NodesPerZone: 1, Labels: map[string]string{"group": "b"}},
}}

// TestLocalVolumesPools: a PV lives on the pools its node affinity
// selects, including the kubelet's os and arch labels; an unowned volume
// is root's with 0755.
func TestLocalVolumesPools(t *testing.T) {
	vols, err := LocalVolumes(twoPools, []stack.Rendered{
		localPV("pa", "/mnt/data/a", groupIn("a")),
		localPV("pab", "/mnt/data/ab", groupIn("a", "b")),
		localPV("parm", "/mnt/data/arm", corev1.NodeSelectorRequirement{Key: corev1.LabelArchStable, Operator: corev1.NodeSelectorOpIn, Values: []string{"arm64"}}),
		localPV("pnot", "/mnt/data/not", corev1.NodeSelectorRequirement{Key: "group", Operator: corev1.NodeSelectorOpNotIn, Values: []string{"a"}}),
	})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, v := range vols {
		got[v.Path] = strings.Join(v.Pools, ",")
		if v.Owner != 0 || v.Group != 0 || v.Mode != "0755" {
			t.Errorf("%s: %d:%d %s; want root's 0755", v.Path, v.Owner, v.Group, v.Mode)
		}
	}
	want := map[string]string{"/mnt/data/a": "a", "/mnt/data/ab": "a,b", "/mnt/data/arm": "b", "/mnt/data/not": "b"}
	for p, w := range want {
		if got[p] != w {
			t.Errorf("%s: pools %q; want %q", p, got[p], w)
		}
	}
}

func TestLocalVolumesErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		objs []stack.Rendered
		want string
	}{
		"quote":     {[]stack.Rendered{localPV("p", "/mnt/data/x'y", groupIn("a"))}, `PersistentVolume p: spec.local.path "/mnt/data/x'y"`},
		"relative":  {[]stack.Rendered{localPV("p", "mnt/data", groupIn("a"))}, `spec.local.path "mnt/data"`},
		"unclean":   {[]stack.Rendered{localPV("p", "/mnt/../etc", groupIn("a"))}, `spec.local.path "/mnt/../etc"`},
		"no node":   {[]stack.Rendered{localPV("p", "/mnt/data/x", groupIn("c"))}, `PersistentVolume p (/mnt/data/x): its node affinity selects no node of the topology (pools a, b)`},
		"same path": {[]stack.Rendered{localPV("p", "/mnt/x", groupIn("a")), localPV("q", "/mnt/x", groupIn("b"))}, `PersistentVolumes p and q: both use /mnt/x`},
	} {
		_, err := LocalVolumes(twoPools, tc.objs)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v; want %q", name, err, tc.want)
		}
	}
	if _, err := PrepareNodeScript(Prepare{Topology: stack.Topology{Zones: []string{"z"}, Pools: []stack.NodePool{{Name: "haproxy", NodesPerZone: 1}}},
		LoadBalancerSysctls: "x = 1\n", LoadBalancerSysctlsFile: "90-x.conf"}); err == nil || !strings.Contains(err.Error(), `a pool is named "haproxy"`) {
		t.Errorf("pool named haproxy: %v", err)
	}
}
