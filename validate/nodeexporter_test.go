package validate

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/iotstack/iotstack/profiles"
)

// TestNodeExporterPartClean: with monitoring.nodeExporter, every profile
// gets a node-exporter part whose namespace alone enforces Pod Security
// privileged, that passes every other rule, whose exceptions each give a
// reason, and the monitoring part and the stack stay restricted.
func TestNodeExporterPartClean(t *testing.T) {
	dirs := schemaDirs(t)
	for _, name := range profiles.Names() {
		p, err := profiles.Get(name)
		if err != nil {
			t.Fatal(err)
		}
		v := p.Defaults()
		v.Base().Monitoring.Enabled = true
		v.Base().Monitoring.NodeExporter = true
		b, err := p.BuildValues(v)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, part := range b.Parts {
			out, err := part.Stack.Synth()
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range out.Objects {
				ns, ok := r.Object.(*corev1.Namespace)
				if !ok {
					continue
				}
				want := "restricted"
				if part.Dir == profiles.NodeExporterDir {
					want = "privileged"
				}
				if got := ns.Labels["pod-security.kubernetes.io/enforce"]; got != want {
					t.Errorf("%s/%s: namespace %s enforces %q; want %q", name, part.Dir, ns.Name, got, want)
				}
			}
			if part.Dir != profiles.NodeExporterDir {
				continue
			}
			found = true
			rep, err := CheckStack(name+"/"+part.Dir, part.Stack, dirs)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range rep.Findings {
				t.Errorf("%s", f)
			}
			for _, e := range rep.Exceptions {
				if strings.TrimSpace(e.Reason) == "" {
					t.Errorf("exception %+v has no reason", e)
				}
			}
		}
		if !found {
			t.Errorf("%s: no %s part with monitoring.nodeExporter", name, profiles.NodeExporterDir)
		}
	}
}
