package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/iotstack/iotstack/profiles"
	"github.com/iotstack/iotstack/stack"
)

// TestRun runs the example end to end: the profile plus the custom
// component synthesizes, is written, and places one broker per zone.
func TestRun(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	out, mq, err := run(dir)
	if err != nil {
		t.Fatal(err)
	}
	if mq.Host != "mosquitto.thingsboard.svc.cluster.local" || mq.Port != 1883 {
		t.Errorf("handle = %+v", mq)
	}
	k, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(k), "-mosquitto.yaml\n") {
		t.Errorf("kustomization does not list the component:\n%s", k)
	}
	var found bool
	for _, o := range out.Objects {
		d, ok := o.Object.(*appsv1.Deployment)
		if !ok || d.Name != "mosquitto" {
			continue
		}
		found = true
		tsc := d.Spec.Template.Spec.TopologySpreadConstraints
		if len(tsc) != 1 || tsc[0].TopologyKey != stack.ZoneLabel || tsc[0].MaxSkew != 1 {
			t.Errorf("brokers are not spread over zones: %+v", tsc)
		}
	}
	if !found {
		t.Fatal("no mosquitto Deployment synthesized")
	}
	var admitted []string
	for _, o := range out.Objects {
		np, ok := o.Object.(*networkingv1.NetworkPolicy)
		if !ok || np.Name != "mosquitto" {
			continue
		}
		for _, r := range np.Spec.Ingress {
			for _, p := range r.From {
				if p.PodSelector != nil {
					admitted = append(admitted, fmt.Sprintf("%s:%v", p.PodSelector.MatchLabels[stack.LabelComponent], r.Ports[0].Port))
				}
			}
		}
	}
	if len(admitted) != 1 || admitted[0] != "tb-rule-engine:1883" {
		t.Errorf("the broker's policy must admit the rule engine on 1883 only, admits %v", admitted)
	}
}

func TestConfigValidation(t *testing.T) {
	p, _ := profiles.Get(profiles.Minimal3AZ)
	s, _ := p.Build(profiles.Options{})
	if _, err := AddMosquitto(s, MosquittoConfig{Replicas: -1}); err == nil || err.Error() != "mosquitto: replicas -1; must be at least 1" {
		t.Errorf("got %v", err)
	}
	if _, err := AddMosquitto(s, MosquittoConfig{Placement: stack.Placement{Pool: "gpu"}}); err == nil || !strings.Contains(err.Error(), `mosquitto: placement: topology: no node pool "gpu"`) {
		t.Errorf("got %v", err)
	}
}
