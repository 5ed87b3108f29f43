package profiles

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
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
