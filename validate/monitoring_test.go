package validate

import (
	"strings"
	"testing"

	"github.com/iotstack/iotstack/profiles"
)

// TestMonitoringClean: with monitoring.enabled, every profile's monitoring
// part passes every rule (strict decoding, the OpenAPI schemas of every
// supported minor, Pod Security "restricted", HA and security rules), and
// so does the stack it watches.
func TestMonitoringClean(t *testing.T) {
	dirs := schemaDirs(t)
	for _, name := range profiles.Names() {
		p, err := profiles.Get(name)
		if err != nil {
			t.Fatal(err)
		}
		v := p.Defaults()
		v.Base().Monitoring.Enabled = true
		b, err := p.BuildValues(v)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, part := range b.Parts {
			if part.Dir != profiles.MonitoringDir {
				continue
			}
			found = true
			r, err := CheckStack(name+"/"+part.Dir, part.Stack, dirs)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range r.Findings {
				t.Errorf("%s", f)
			}
			for _, e := range r.Exceptions {
				if strings.TrimSpace(e.Reason) == "" {
					t.Errorf("exception %+v has no reason", e)
				}
			}
		}
		if !found {
			t.Errorf("%s: no %s part with monitoring.enabled", name, profiles.MonitoringDir)
		}
	}
}
