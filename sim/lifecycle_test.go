package sim

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/iotstack/iotstack/profiles"
	"github.com/iotstack/iotstack/stack"
)

// nodePortsOf maps every NodePort the built profile renders (its stack
// and its parts, the monitoring's Grafana included) to the Service and
// port that hold it.
func nodePortsOf(t *testing.T, b *profiles.Built) map[int32]string {
	t.Helper()
	stacks := []*stack.Stack{b.Stack}
	for _, p := range b.Parts {
		stacks = append(stacks, p.Stack)
	}
	ports := map[int32]string{}
	for _, s := range stacks {
		out, err := s.Synth()
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range out.Objects {
			svc, ok := o.Object.(*corev1.Service)
			if !ok {
				continue
			}
			for _, p := range svc.Spec.Ports {
				if p.NodePort != 0 {
					ports[p.NodePort] = fmt.Sprintf("%s/%s %s/%d", svc.Namespace, svc.Name, p.Protocol, p.Port)
				}
			}
		}
	}
	return ports
}

// TestSecondValuesMovesEveryRenderedNodePort: the second stack of the
// lifecycle drill shares no NodePort with the first, for every dojot
// agent combination and switch that adds a port at build time (the LwM2M
// agent's five, Kong's HTTPS with mutual TLS, Grafana's with the
// monitoring), and it renders as many NodePorts as the first, each 100
// above. Before the fix, the ports the build fills in (left 0 in the
// values) stayed where the first stack has them.
func TestSecondValuesMovesEveryRenderedNodePort(t *testing.T) {
	cases := []struct {
		profile string
		sets    []string
	}{
		{"small", nil},
		{"small", []string{"agents=mosca+lwm2m", "guiV2=true"}},
		{"small", []string{"agents=vernemq+lwm2m", "mutualTLS=true"}},
		{"small", []string{"agents=mosca", "monitoring.enabled=false"}},
		{"small", []string{"agents=vernemq+lwm2m", "nodePorts.coAP=31006"}},
		{"100k", []string{"mutualTLS=true"}},
	}
	for _, c := range cases {
		t.Run(c.profile+" "+strings.Join(c.sets, " "), func(t *testing.T) {
			p, err := profiles.Get(c.profile)
			if err != nil {
				t.Fatal(err)
			}
			v1, err := p.Load(nil, c.sets)
			if err != nil {
				t.Fatal(err)
			}
			b1, err := p.BuildValues(v1)
			if err != nil {
				t.Fatal(err)
			}
			v2, err := p.Load(nil, append(append([]string(nil), c.sets...), "namespace=second-b"))
			if err != nil {
				t.Fatal(err)
			}
			secondValues(v2)
			b2, err := p.BuildValues(v2)
			if err != nil {
				t.Fatal(err)
			}
			first, second := nodePortsOf(t, b1), nodePortsOf(t, b2)
			if len(first) == 0 {
				t.Fatal("the first stack renders no NodePort")
			}
			var clash, unmoved []string
			for port, where := range second {
				if other, ok := first[port]; ok {
					clash = append(clash, fmt.Sprintf("%d: %s and %s", port, other, where))
				}
			}
			for port, where := range first {
				if _, ok := second[port+100]; !ok {
					unmoved = append(unmoved, fmt.Sprintf("%d (%s)", port, where))
				}
			}
			sort.Strings(clash)
			sort.Strings(unmoved)
			if len(clash) > 0 || len(unmoved) > 0 || len(first) != len(second) {
				t.Errorf("first stack's NodePorts %v\nsecond stack's %v\nclashes: %s\nnot 100 up in the second: %s", first, second, strings.Join(clash, "; "), strings.Join(unmoved, "; "))
			}
		})
	}
}
