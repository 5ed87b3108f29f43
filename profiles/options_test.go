package profiles

import (
	"math"
	"strings"
	"testing"

	"github.com/iotstack/iotstack/components/dojot"
)

// TestOptionsRefused: every option that does not apply to the profile, and
// every value outside what is allowed, is an error naming the option (by
// its Go field), the value and what is allowed, before anything is built.
func TestOptionsRefused(t *testing.T) {
	zeroPorts := dojot.NodePorts{}
	bigPort := dojot.DefaultNodePorts()
	bigPort.MQTTS = 99999
	coap := dojot.DefaultNodePorts()
	coap.CoAP = 30006 // the options choose no LwM2M agent
	v6 := dojot.Backends{APIGateway: []string{"2001:db8::10"}, MQTT: []string{"2001:db8::21", "2001:db8::21"}}
	lwm2m := dojot.Backends{APIGateway: []string{"10.0.0.1"}, MQTT: []string{"10.0.0.2"}, LwM2M: []string{"10.0.0.1"}}
	yes := true
	for _, tc := range []struct {
		profile string
		opts    Options
		want    string
	}{
		{Minimal3AZ, Options{Namespace: "kube-system"}, `profile minimal-3az: options: Namespace: "kube-system" is reserved by Kubernetes`},
		{Small, Options{Namespace: "default"}, `profile small: options: Namespace: "default" is reserved by Kubernetes`},
		{Hundred, Options{Namespace: "kube-public"}, `profile 100k: options: Namespace: "kube-public" is reserved`},
		{Minimal3AZ, Options{Namespace: "kube-node-lease"}, `options: Namespace: "kube-node-lease" is reserved`},
		{Minimal3AZ, Options{Bridges: 3}, "profile minimal-3az: options: Bridges is set, but it does not apply to profile minimal-3az (it applies to small, 100k); leave it unset"},
		{Minimal3AZ, Options{NodePorts: &bigPort}, "profile minimal-3az: options: NodePorts is set, but it does not apply to profile minimal-3az"},
		{Minimal3AZ, Options{InsecureMQTT: &yes}, "options: InsecureMQTT is set, but it does not apply to profile minimal-3az"},
		{Small, Options{ThingsBoardVersion: "4.3.1"}, "profile small: options: ThingsBoardVersion is set, but it does not apply to profile small (it applies to minimal-3az)"},
		{Hundred, Options{Replicas: map[string]int32{"tb-core": 2}}, "profile 100k: options: Replicas is set, but it does not apply to profile 100k"},
		{Small, Options{Demo: true}, "options: Demo is set, but it does not apply to profile small"},
		{Small, Options{KafkaReplicationFactor: 1}, "options: KafkaReplicationFactor is set, but it does not apply to profile small"},
		{Minimal3AZ, Options{Replicas: map[string]int32{"tb-coap-transport": 2}}, "profile minimal-3az: options: Replicas[tb-coap-transport]: the service is not enabled in profile minimal-3az"},
		{Minimal3AZ, Options{Replicas: map[string]int32{"tb-core": 0}}, "profile minimal-3az: options: Replicas[tb-core]: 0; allowed 1 to 3 (one per node of pool thingsboard); leave the service out to keep its default"},
		{Minimal3AZ, Options{KafkaReplicationFactor: -1}, "options: KafkaReplicationFactor: -1; allowed 1 to 3"},
		{Minimal3AZ, Options{ThingsBoardVersion: "4.3.1@sha256:00"}, `options: ThingsBoardVersion: "4.3.1@sha256:00"; must be a pinned image tag`},
		{Small, Options{Bridges: -1}, "profile small: options: Bridges: -1; allowed 1 to 100 (0 keeps the profile's default)"},
		{Hundred, Options{Bridges: 1000}, "profile 100k: options: Bridges: 1000; allowed 1 to 100"},
		{Small, Options{KafkaPartitions: -3}, "options: KafkaPartitions: -3; allowed 1 to 100, equal to Bridges (0 follows Bridges)"},
		{Small, Options{NodePorts: &zeroPorts}, "profile small: options: NodePorts: dojot: nodePorts.apiGatewayHTTP 0; allowed 30000 to 32767"},
		{Hundred, Options{NodePorts: &bigPort}, "profile 100k: options: NodePorts: dojot: nodePorts.mqtts 99999; allowed 30000 to 32767"},
		{Hundred, Options{NodePorts: &coap}, "options: NodePorts: dojot: nodePorts.coAP 30006; no rendered Service serves it"},
		{Hundred, Options{Backends: &v6}, `options: Backends: dojot: backends.mqtt[1]: "2001:db8::21" is also backends.mqtt[0]`},
		{Small, Options{Backends: &lwm2m}, "options: Backends: dojot: backends.lwm2m: [10.0.0.1]; no rendered Service serves it"},
		{Small, Options{RequestScale: math.NaN()}, "options: RequestScale: NaN; allowed greater than 0 and at most 1"},
		{Small, Options{RequestScale: -0.5}, "options: RequestScale: -0.5"},
	} {
		p, err := Get(tc.profile)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.BuildAll(tc.opts); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %+v:\n got %v\nwant an error containing %q", tc.profile, tc.opts, err, tc.want)
		}
	}
}

// TestOptionsAccepted: the options that apply build and synthesize.
func TestOptionsAccepted(t *testing.T) {
	no := false
	v6 := dojot.Backends{APIGateway: []string{"2001:db8::10"}, MQTT: []string{"::1", "10.0.0.22"}}
	for _, tc := range []struct {
		profile string
		opts    Options
	}{
		{Minimal3AZ, Options{Namespace: "tb", Generic: true, Demo: true, ThingsBoardVersion: "4.3.1", KafkaReplicationFactor: 3, Replicas: map[string]int32{"tb-core": 2}}},
		{Small, Options{Namespace: "dojot-a", Generic: true, Bridges: 2, KafkaPartitions: 2, InsecureMQTT: &no, Backends: &v6}},
		{Hundred, Options{RequestScale: 0.5, Bridges: 3}},
	} {
		if _, err := Synth(tc.opts, tc.profile); err != nil {
			t.Errorf("%s %+v: %v", tc.profile, tc.opts, err)
		}
	}
	outs, err := Synth(Options{Backends: &v6}, Small)
	if err != nil {
		t.Fatal(err)
	}
	conf := string(outs[0].File("nginx/nginx.conf").Data)
	for _, want := range []string{"server [2001:db8::10]:30001;", "server [::1]:30005;", "server 10.0.0.22:30005;"} {
		if !strings.Contains(conf, want) {
			t.Errorf("nginx.conf lacks %q:\n%s", want, conf)
		}
	}
}

// FuzzOptions: every profile either refuses the options with an error
// naming an option, a component or the stack, or builds a stack that
// synthesizes: options never panic and never produce a broken output.
func FuzzOptions(f *testing.F) {
	f.Add(uint8(0), "", int32(0), 0, 0.0, "", "", int32(0), 0, false)
	f.Add(uint8(1), "dojot-b", int32(2), 2, 0.5, "", "", int32(0), 0, true)
	f.Add(uint8(2), "kube-system", int32(-1), 0, 0.0, "4.3.1", "tb-core", int32(0), 5, false)
	f.Add(uint8(0), "tb", int32(0), 0, 2.0, "latest", "tb-coap-transport", int32(2), -1, true)
	f.Add(uint8(1), "default", int32(101), -3, math.NaN(), "", "", int32(0), 0, false)
	f.Fuzz(func(t *testing.T, which uint8, ns string, bridges int32, partitions int, scale float64, tbVersion, service string, replicas int32, rf int, demo bool) {
		names := Names()
		opts := Options{Namespace: ns, Bridges: bridges, KafkaPartitions: partitions, RequestScale: scale,
			ThingsBoardVersion: tbVersion, KafkaReplicationFactor: rf, Demo: demo}
		if service != "" {
			opts.Replicas = map[string]int32{service: replicas}
		}
		name := names[int(which)%len(names)]
		outs, err := Synth(opts, name)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "profile "+name+": ") {
				t.Fatalf("%s %+v: error %q does not name the profile", name, opts, err)
			}
			return
		}
		if len(outs) != 1 || len(outs[0].Files) == 0 {
			t.Fatalf("%s %+v: no output", name, opts)
		}
	})
}
