package profiles

import (
	"strings"
	"testing"
)

// TestNodeExporterOptIn: off by default (no part), and when on, the
// bundled Prometheus scrapes it in its own namespace with a Role there.
func TestNodeExporterOptIn(t *testing.T) {
	for _, name := range Names() {
		p, _ := Get(name)
		v := p.Defaults()
		if v.Base().Monitoring.NodeExporter {
			t.Errorf("%s: monitoring.nodeExporter is on by default", name)
		}
		v.Base().Monitoring.Enabled = true
		b, err := p.BuildValues(v)
		if err != nil {
			t.Fatal(err)
		}
		for _, part := range b.Parts {
			if part.Dir == NodeExporterDir {
				t.Errorf("%s: a node-exporter part without monitoring.nodeExporter", name)
			}
		}
	}
	p, _ := Get(Minimal3AZ)
	v := p.Defaults()
	v.Base().Monitoring.Enabled = true
	v.Base().Monitoring.NodeExporter = true
	b, err := p.BuildValues(v)
	if err != nil {
		t.Fatal(err)
	}
	ns := b.Stack.MonitoringNamespace() + "-node-exporter"
	var config string
	roles := 0
	for _, part := range b.Parts {
		out, err := part.Stack.Synth()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range out.Files {
			if part.Dir == MonitoringDir && strings.Contains(string(f.Data), "job_name: node-exporter") {
				config = string(f.Data)
			}
		}
		for _, r := range out.Objects {
			if r.Ref.Kind == "Role" && r.Ref.Namespace == ns {
				roles++
			}
		}
	}
	if config == "" {
		t.Fatal("the monitoring part has no node-exporter scrape job")
	}
	if !strings.Contains(config, "- "+ns+"\n") {
		t.Errorf("the node-exporter job does not discover pods in %s", ns)
	}
	if roles != 1 {
		t.Errorf("%d Roles in %s; want Prometheus' discovery Role", roles, ns)
	}
}
