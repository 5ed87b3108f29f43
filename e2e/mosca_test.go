package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/iotstack/iotstack/profiles"
)

// TestMoscaNames: Mosca's client id and topics, and the ids it could not
// parse refused.
func TestMoscaNames(t *testing.T) {
	id, err := MoscaClientID("admin", "a1998e")
	if err != nil || id != "admin:a1998e" {
		t.Errorf("client id %q, %v", id, err)
	}
	if got := MoscaTopic("admin", "a1998e", "attrs"); got != "/admin/a1998e/attrs" {
		t.Errorf("attrs topic %q", got)
	}
	if got := MoscaTopic("admin", "a1998e", "config"); got != "/admin/a1998e/config" {
		t.Errorf("config topic %q", got)
	}
	for _, c := range [][2]string{{"admin", "dev-1"}, {"", "a1"}, {"ad:min", "a1"}, {"admin", "a/1"}} {
		if _, err := MoscaClientID(c[0], c[1]); err == nil || !strings.Contains(err.Error(), `^(\w+):(\w+)$`) {
			t.Errorf("%q:%q: %v; want a refusal citing Mosca's pattern", c[0], c[1], err)
		}
	}
}

// TestBrokerOf: the smoke check follows the agents the output renders:
// Mosca with its plain port exactly when insecure MQTT is on, VerneMQ
// otherwise.
func TestBrokerOf(t *testing.T) {
	popts := profiles.Options{Generic: true, RequestScale: 0.1}
	off := false
	for _, c := range []struct {
		agents string
		opts   profiles.Options
		want   Broker
	}{
		{"", popts, Broker{PlainMQTT: true}},
		{profiles.AgentsVerneMQLwM2M, popts, Broker{PlainMQTT: true}},
		{profiles.AgentsMosca, popts, Broker{Mosca: true, PlainMQTT: true}},
		{profiles.AgentsMoscaLwM2M, popts, Broker{Mosca: true, PlainMQTT: true}},
		{profiles.AgentsMosca, profiles.Options{Generic: true, RequestScale: 0.1, InsecureMQTT: &off}, Broker{Mosca: true}},
	} {
		out, err := SynthAgents(profiles.Small, c.opts, c.agents)
		if err != nil {
			t.Fatalf("%q: %v", c.agents, err)
		}
		if got := BrokerOf(out); got != c.want {
			t.Errorf("%q (insecure %v): %+v; want %+v", c.agents, c.opts.InsecureMQTT, got, c.want)
		}
	}
}

// fakeDojot stands in for dojot behind Kong for the Mosca check (dojot
// cannot run here): auth's login, device-manager's template and device
// creation, and history, fed by a subscriber on a real Mosquitto that
// stores what devices publish to /<tenant>/<device>/attrs, as Mosca,
// Kafka and persister do; with feed false nothing is stored.
func fakeDojot(t *testing.T, broker string, feed bool) *httptest.Server {
	t.Helper()
	var mu sync.Mutex
	stored := map[string]map[string]json.RawMessage{} // device -> attr -> value
	devices := map[string]bool{}
	if feed {
		sub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker).SetClientID("persister"))
		if tok := sub.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatal(tok.Error())
		}
		t.Cleanup(func() { sub.Disconnect(100) })
		if tok := sub.Subscribe("/+/+/attrs", 1, func(_ mqtt.Client, m mqtt.Message) {
			parts := strings.Split(m.Topic(), "/") // "", tenant, device, attrs
			var attrs map[string]json.RawMessage
			if json.Unmarshal(m.Payload(), &attrs) != nil {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if devices[parts[2]] {
				stored[parts[2]] = attrs
			}
		}); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatal(tok.Error())
		}
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/auth" && r.Header.Get("Authorization") != "Bearer jwt" {
			http.Error(w, `{"message":"not authorized"}`, http.StatusUnauthorized)
			return
		}
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/auth":
			w.Write([]byte(`{"jwt":"jwt"}`))
		case r.Method == http.MethodPost && r.URL.Path == "/template":
			var in struct {
				Attrs []map[string]string `json:"attrs"`
			}
			if json.NewDecoder(r.Body).Decode(&in) != nil || len(in.Attrs) != 1 || in.Attrs[0]["type"] != "dynamic" {
				http.Error(w, `{"message":"bad template"}`, http.StatusBadRequest)
				return
			}
			w.Write([]byte(`{"result":"ok","template":{"id":7,"label":"iotstack-e2e"}}`))
		case r.Method == http.MethodPost && r.URL.Path == "/device":
			var in struct {
				Templates []int `json:"templates"`
			}
			if json.NewDecoder(r.Body).Decode(&in) != nil || len(in.Templates) != 1 || in.Templates[0] != 7 {
				http.Error(w, `{"message":"bad device"}`, http.StatusBadRequest)
				return
			}
			mu.Lock()
			devices["b2c3d4"] = true
			mu.Unlock()
			w.Write([]byte(`{"message":"devices created","devices":[{"id":"b2c3d4","label":"iotstack-e2e-mosca"}]}`))
		case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/history/device/"):
			device := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/history/device/"), "/history")
			attr := r.URL.Query().Get("attr")
			mu.Lock()
			v, ok := stored[device][attr]
			mu.Unlock()
			if !ok || r.URL.Query().Get("lastN") != "1" {
				http.Error(w, `{"title":"Attr not found"}`, http.StatusNotFound)
				return
			}
			json.NewEncoder(w).Encode([]map[string]any{{"device_id": device, "attr": attr, "value": v, "ts": "2026-01-01T00:00:00Z"}})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestSmokeMosca: the Mosca round trip against a real Mosquitto and the
// stand-in: the device is created, its value published to
// /admin/<id>/attrs as admin:<id> and read back from history; with
// nothing storing it, the check fails naming the topic.
func TestSmokeMosca(t *testing.T) {
	broker := mosquitto(t)
	ctx := context.Background()
	for _, feed := range []bool{true, false} {
		api := &DojotAPI{Base: fakeDojot(t, broker, feed).URL}
		if err := api.Login(ctx, "admin", "admin"); err != nil {
			t.Fatal(err)
		}
		tpl, err := api.Template(ctx, "iotstack-e2e", moscaSmokeAttr)
		if err != nil {
			t.Fatal(err)
		}
		device, err := api.Device(ctx, "iotstack-e2e-mosca", tpl)
		if err != nil || device != "b2c3d4" {
			t.Fatalf("device %q, %v", device, err)
		}
		if _, err := api.LastValue(ctx, device, moscaSmokeAttr); !errors.Is(err, errNoHistory) {
			t.Fatalf("history before publishing: %v; want errNoHistory", err)
		}
		err = SmokeMosca(ctx, api, broker, nil, DojotTenant, device, moscaSmokeAttr, 5*time.Second)
		switch {
		case feed && err != nil:
			t.Fatal(err)
		case !feed && (err == nil || !strings.Contains(err.Error(), "published to /admin/b2c3d4/attrs as admin:b2c3d4 did not reach history")):
			t.Fatalf("nothing stored: %v", err)
		}
	}
	api := &DojotAPI{Base: fakeDojot(t, broker, false).URL}
	if err := SmokeMosca(ctx, api, broker, nil, DojotTenant, "b-2", moscaSmokeAttr, time.Second); err == nil || !strings.Contains(err.Error(), "mosca: device") {
		t.Errorf("unparseable device: %v", err)
	}
}
