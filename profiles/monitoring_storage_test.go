package profiles

import (
	"fmt"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// The monitoring claims use the profile's StorageClass like every claim of
// the stack (found by the simulated cluster: on the cluster's default
// class an Alertmanager claim was bound in a zone its pod could not use).
func TestMonitoringClaimsUseTheProfilesStorageClass(t *testing.T) {
	for _, name := range Names() {
		p, err := Get(name)
		if err != nil {
			t.Fatal(err)
		}
		v := p.Defaults()
		v.Base().Monitoring.Enabled = true
		want := v.Base().Topology.StorageClass.Name
		b, err := p.BuildValues(v)
		if err != nil {
			t.Fatal(err)
		}
		claims := 0
		for _, part := range b.Parts {
			if part.Dir != MonitoringDir {
				continue
			}
			out, err := part.Stack.Synth()
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			for _, r := range out.Objects {
				sts, ok := r.Object.(*appsv1.StatefulSet)
				if !ok {
					continue
				}
				for _, vct := range sts.Spec.VolumeClaimTemplates {
					claims++
					got := ""
					if vct.Spec.StorageClassName != nil {
						got = *vct.Spec.StorageClassName
					}
					if got != want {
						t.Errorf("%s: StatefulSet %s claim %s: storageClassName %q; want the profile's %q", name, sts.Name, vct.Name, got, want)
					}
				}
			}
		}
		if claims == 0 {
			t.Errorf("%s: no monitoring claim rendered", name)
		}
	}
}

// TestDojotMonitoringOnLocalVolumes: on dojot's local-storage class, which
// has no provisioner, every monitoring claim gets a local volume reserved
// for it on the dojot group's node, and the monitoring pods run on that
// group; with nodeAffinity off (small's default) neither asks for the
// group's label, like every other dojot workload.
func TestDojotMonitoringOnLocalVolumes(t *testing.T) {
	for _, tc := range []struct {
		profile  string
		affinity bool
	}{{Small, false}, {Small, true}, {Hundred, true}} {
		mon, _, _ := monitoringObjects(t, tc.profile, func(v Values) { v.(*DojotValues).NodeAffinity = tc.affinity })
		pvs := map[string]*corev1.PersistentVolume{}
		var claims []string
		for _, o := range mon {
			switch x := o.(type) {
			case *corev1.PersistentVolume:
				pvs[x.Spec.ClaimRef.Name] = x
			case *appsv1.StatefulSet:
				for i := range *x.Spec.Replicas {
					for _, vct := range x.Spec.VolumeClaimTemplates {
						claims = append(claims, fmt.Sprintf("%s-%s-%d", vct.Name, x.Name, i))
					}
				}
				aff := x.Spec.Template.Spec.Affinity
				pinned := aff != nil && aff.NodeAffinity != nil && strings.Contains(fmt.Sprint(aff.NodeAffinity), DojotGroupLabel)
				if pinned != tc.affinity {
					t.Errorf("%s nodeAffinity=%t: StatefulSet %s pinned to the dojot group: %t", tc.profile, tc.affinity, x.Name, pinned)
				}
			}
		}
		if len(claims) != 3 {
			t.Errorf("%s: monitoring claims %v; want Prometheus', Alertmanager's and Grafana's", tc.profile, claims)
		}
		for _, c := range claims {
			pv := pvs[c]
			if pv == nil {
				t.Errorf("%s: claim %s has no local volume", tc.profile, c)
				continue
			}
			delete(pvs, c)
			if pv.Spec.Local == nil || pv.Spec.Local.Path != "/mnt/data/monitoring/"+c || pv.Spec.StorageClassName != "local-storage" {
				t.Errorf("%s: volume %s: %+v", tc.profile, pv.Name, pv.Spec)
			}
			terms := fmt.Sprint(pv.Spec.NodeAffinity.Required.NodeSelectorTerms)
			if want := map[bool]string{true: DojotGroupLabel, false: corev1.LabelOSStable}[tc.affinity]; !strings.Contains(terms, want) {
				t.Errorf("%s: volume %s node affinity %s; want %s", tc.profile, pv.Name, terms, want)
			}
		}
		for c := range pvs {
			t.Errorf("%s: local volume for %s, which no StatefulSet claims", tc.profile, c)
		}
	}
	// minimal-3az's provisioned class needs none.
	mon, _, _ := monitoringObjects(t, Minimal3AZ, nil)
	for _, o := range mon {
		if pv, ok := o.(*corev1.PersistentVolume); ok {
			t.Errorf("minimal-3az: PersistentVolume %s rendered", pv.Name)
		}
	}
}
