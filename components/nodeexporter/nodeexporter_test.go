package nodeexporter

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/iotstack/iotstack/stack"
	"github.com/iotstack/iotstack/stack/stacktest"
)

func newStack(t *testing.T, level string) *stack.Stack {
	t.Helper()
	s, err := stack.New(stack.Options{Name: "test-node-exporter", Namespace: "monitoring-node-exporter", PodSecurity: level, Topology: stacktest.ThreeZones()})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestRefusesAnUnprivilegedNamespace: the exporter is only built in a
// stack whose namespace enforces privileged, and the error says why.
func TestRefusesAnUnprivilegedNamespace(t *testing.T) {
	for _, level := range []string{stack.PodSecurityRestricted, stack.PodSecurityBaseline} {
		_, err := New(newStack(t, level), Config{})
		if err == nil || !strings.Contains(err.Error(), `enforces Pod Security "`+level+`"`) || !strings.Contains(err.Error(), `"privileged"`) {
			t.Errorf("%s: err = %v; want a refusal naming the level and privileged", level, err)
		}
	}
}

// TestHostAccessIsReadOnlyAndNonRoot: host network and PID, every host
// path mounted read-only, the container non-root without escalation or
// capabilities, on a read-only root file system; scraped on its port.
func TestHostAccessIsReadOnlyAndNonRoot(t *testing.T) {
	s := newStack(t, stack.PodSecurityPrivileged)
	if _, err := New(s, Config{}); err != nil {
		t.Fatal(err)
	}
	out, err := s.Synth()
	if err != nil {
		t.Fatal(err)
	}
	var ds *appsv1.DaemonSet
	for _, o := range out.Objects {
		if d, ok := o.Object.(*appsv1.DaemonSet); ok {
			ds = d
		}
	}
	if ds == nil {
		t.Fatal("no DaemonSet")
	}
	spec := ds.Spec.Template.Spec
	if !spec.HostNetwork || !spec.HostPID {
		t.Errorf("hostNetwork %v hostPID %v; the exporter reads the host's", spec.HostNetwork, spec.HostPID)
	}
	hostPaths := map[string]bool{}
	for _, v := range spec.Volumes {
		if v.HostPath != nil {
			hostPaths[v.Name] = true
		}
	}
	if len(hostPaths) == 0 {
		t.Fatal("no host path volume")
	}
	c := spec.Containers[0]
	for _, m := range c.VolumeMounts {
		if hostPaths[m.Name] && !m.ReadOnly {
			t.Errorf("host path %s mounted read-write at %s", m.Name, m.MountPath)
		}
	}
	sc := c.SecurityContext
	if sc == nil || sc.Privileged == nil || *sc.Privileged || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.Capabilities == nil || len(sc.Capabilities.Add) > 0 {
		t.Errorf("container security context %+v; want unprivileged, no escalation, read-only root, no added capabilities", sc)
	}
	if ps := spec.SecurityContext; ps == nil || ps.RunAsNonRoot == nil || !*ps.RunAsNonRoot {
		t.Errorf("pod security context %+v; want runAsNonRoot", ps)
	}
	if !strings.Contains(strings.Join(c.Args, " "), "--path.rootfs=/host") {
		t.Errorf("args %v lack --path.rootfs=/host", c.Args)
	}
	targets, err := s.ScrapeTargets()
	if err != nil || len(targets) != 1 || targets[0].Port != Port || targets[0].PortName != "metrics" {
		t.Errorf("scrape targets %+v, %v; want the metrics port %d", targets, err, Port)
	}
}
