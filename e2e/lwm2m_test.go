package e2e

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"

	"github.com/iotstack/iotstack/profiles"
)

// TestKindConfigMapsCoAP: with the LwM2M agent on, the kind cluster maps
// the agent's UDP NodePorts (CoAP 30006, CoAPS 30007, the CoAP file
// servers 30008 and 30009) from the control-plane node to the host's
// loopback, and CoAPNodePort finds 30006; with the default agents there is
// neither.
func TestKindConfigMapsCoAP(t *testing.T) {
	popts := profiles.Options{Generic: true, RequestScale: 0.1}
	out, err := SynthAgents(profiles.Small, popts, profiles.AgentsVerneMQLwM2M)
	if err != nil {
		t.Fatal(err)
	}
	if got := CoAPNodePort(out); got != 30006 {
		t.Errorf("CoAP NodePort %d; want 30006", got)
	}
	cfg, err := KindConfig(out)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range cfg.Nodes[0].ExtraPortMappings {
		if m.ContainerPort != m.HostPort || m.ListenAddress != "127.0.0.1" || m.Protocol != v1alpha4.PortMappingProtocolUDP {
			t.Errorf("mapping %+v; want the same port, UDP, on 127.0.0.1", m)
		}
		got = append(got, strconv.Itoa(int(m.ContainerPort)))
	}
	if strings.Join(got, " ") != "30006 30007 30008 30009" {
		t.Errorf("control plane maps %v; want the LwM2M UDP NodePorts 30006 to 30009", got)
	}
	for _, n := range cfg.Nodes[1:] {
		if len(n.ExtraPortMappings) > 0 {
			t.Errorf("worker maps %v", n.ExtraPortMappings)
		}
	}
	plain, err := Synth(profiles.Small, popts)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err = KindConfig(plain)
	if err != nil {
		t.Fatal(err)
	}
	if CoAPNodePort(plain) != 0 || len(cfg.Nodes[0].ExtraPortMappings) != 0 {
		t.Errorf("default agents: CoAP NodePort %d, mappings %v; want none", CoAPNodePort(plain), cfg.Nodes[0].ExtraPortMappings)
	}
	if _, err := SynthAgents(profiles.Minimal3AZ, profiles.Options{Generic: true, RequestScale: 0.1, Demo: true}, profiles.AgentsVerneMQ); err == nil || !strings.Contains(err.Error(), "no dojot agents") {
		t.Errorf("agents on minimal-3az: %v", err)
	}
}

// TestRunAgents: the agents e2e cannot check are refused before anything
// starts, naming the value and what is allowed; every other choice on
// small (the LwM2M agent, Mosca) gets as far as the container engine.
func TestRunAgents(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	for _, c := range []struct{ profile, agents, want string }{
		{"small", "lwm2m", `agents "lwm2m"; allowed: vernemq, vernemq+lwm2m, mosca+lwm2m, mosca`},
		{"100k", "vernemq+lwm2m", `agents "vernemq+lwm2m" in 100k: allowed there: vernemq`},
		{"100k", "mosca", `agents "mosca" in 100k: allowed there: vernemq (the LwM2M agent needs NGINX's UDP, Mosca device-manager and history`},
	} {
		err := Run(context.Background(), c.profile, Options{Agents: c.agents})
		if err == nil || errors.Is(err, ErrNoEngine) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s with %s: %v; want %q", c.profile, c.agents, err, c.want)
		}
	}
	for _, agents := range []string{"vernemq+lwm2m", "mosca", "mosca+lwm2m"} {
		if err := Run(context.Background(), "small", Options{Agents: agents}); !errors.Is(err, ErrNoEngine) {
			t.Errorf("small with %s: %v; want ErrNoEngine here", agents, err)
		}
	}
}

// TestSmokeLwM2M: the smoke step registers with libcoap's Resource
// Directory standing in for the agent's NodePort (the Register is the
// same message), and reports the location; with nothing answering it
// fails within its context.
func TestSmokeLwM2M(t *testing.T) {
	addr, logs := startLibcoap(t, "coap-rd")
	_, portStr, _ := strings.Cut(addr, ":")
	port, _ := strconv.Atoi(portStr)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	if err := smokeLwM2M(ctx, int32(port), &out); err != nil {
		t.Fatalf("%v\ncoap-rd logged:\n%s", err, logs)
	}
	if !strings.Contains(out.String(), "registered over CoAP") || !strings.Contains(out.String(), "2.01 Created at /rd/") {
		t.Errorf("smoke logged %q", out.String())
	}
	short, cancel2 := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel2()
	if err := smokeLwM2M(short, int32(freeUDPPort(t)), &out); err == nil {
		t.Error("smoke with nothing listening passed")
	}
}
