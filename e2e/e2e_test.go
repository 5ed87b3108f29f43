package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"

	"github.com/iotstack/iotstack/profiles"
	"github.com/iotstack/iotstack/stack"
)

func TestKindConfig(t *testing.T) {
	for _, name := range profiles.Names() {
		outs, err := profiles.Synth(profiles.Options{Generic: true, RequestScale: 0.1, Demo: name == profiles.Minimal3AZ}, name)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := KindConfig(outs[0])
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if cfg.Nodes[0].Role != v1alpha4.ControlPlaneRole {
			t.Errorf("%s: first node %s", name, cfg.Nodes[0].Role)
		}
		workers := cfg.Nodes[1:]
		if name == "minimal-3az" {
			// The design card: three workers, one per zone, with the
			// ThingsBoard pool's labels (the client pool only hosts the
			// separately applied load test).
			if len(workers) != 3 {
				t.Fatalf("minimal-3az: %d workers, want 3", len(workers))
			}
			zones := map[string]bool{}
			for _, w := range workers {
				zones[w.Labels[stack.ZoneLabel]] = true
				for k, v := range outs[0].Topology.Pools[0].Labels {
					if w.Labels[k] != v {
						t.Errorf("worker lacks pool label %s=%s: %v", k, v, w.Labels)
					}
				}
			}
			if len(zones) != 3 {
				t.Errorf("zones %v", zones)
			}
		}
		if len(workers) == 0 || len(workers) > MaxWorkers {
			t.Errorf("%s: %d workers", name, len(workers))
		}
	}
	if p := taintPatch(nil); !strings.HasPrefix(p, "kind: JoinConfiguration") {
		t.Errorf("taint patch %q", p)
	}
}

// TestEngineMissing: without docker, podman or nerdctl the run stops at
// once, saying what is missing and naming mage sim.
func TestEngineMissing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	err := Run(context.Background(), "minimal-3az", Options{})
	if !errors.Is(err, ErrNoEngine) || !strings.Contains(err.Error(), "mage sim") || !strings.Contains(err.Error(), "docker: not installed") {
		t.Fatalf("got %v", err)
	}
	// A docker program whose daemon does not answer is no engine either.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "docker"), []byte("#!/bin/sh\necho 'Cannot connect to the Docker daemon' >&2\nexit 1\n"), 0o755)
	t.Setenv("PATH", dir)
	_, err = Engine(context.Background())
	if !errors.Is(err, ErrNoEngine) || !strings.Contains(err.Error(), "Cannot connect to the Docker daemon") {
		t.Fatalf("got %v", err)
	}
}

// mosquitto starts a real broker on a free port.
func mosquitto(t *testing.T) string {
	t.Helper()
	return "tcp://" + mosquittoWith(t, func(port int) string {
		return fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n", port)
	})
}

// mosquittoWith starts a real broker with the configuration conf returns
// for a free loopback port and returns host:port once it listens there;
// the broker is killed at the end of the test.
func mosquittoWith(t *testing.T, conf func(port int) string) string {
	t.Helper()
	bin := "/usr/sbin/mosquitto"
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("IOTSTACK_REQUIRE_TOOLS") != "" {
			t.Fatalf("mosquitto missing (go tool mage deps installs it): %v", err)
		}
		t.Skip("mosquitto not installed; go tool mage deps installs it")
	}
	port := freePort(t)
	path := filepath.Join(t.TempDir(), "mosquitto.conf")
	if err := os.WriteFile(path, []byte(conf(port)), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	cmd := exec.Command(bin, "-c", path)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return addr
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("mosquitto did not listen; it logged:\n%s", logs.String())
	return ""
}

// freePort is a loopback port free at the time of the call.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestSmokeDojot: the broker path against a real Mosquitto; the loopback
// path with a stand-in for the bridges and kafka-loopback that turns each
// /attrs message into an actuation on /config, and without it (nothing
// comes back) the check must fail.
func TestSmokeDojot(t *testing.T) {
	broker := mosquitto(t)
	ctx := context.Background()
	if err := SmokeDojot(ctx, broker, nil, "admin", "e2e0001", false, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := SmokeDojot(ctx, broker, nil, "admin", "e2e0002", true, 2*time.Second); err == nil || !strings.Contains(err.Error(), "did not come back on admin:e2e0002/config") {
		t.Fatalf("no loopback: got %v", err)
	}
	loop := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker).SetClientID("loopback"))
	if tok := loop.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer loop.Disconnect(100)
	if tok := loop.Subscribe("+/attrs", 1, func(c mqtt.Client, m mqtt.Message) {
		device := strings.TrimSuffix(m.Topic(), "/attrs")
		c.Publish(device+"/config", 1, false, []byte(`{"attrs":`+string(m.Payload())+`}`))
	}); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	if err := SmokeDojot(ctx, broker, nil, "admin", "e2e0003", true, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := SmokeDojot(ctx, "tcp://127.0.0.1:1", nil, "admin", "x", false, time.Second); err == nil {
		t.Fatal("no broker: want an error")
	}
}

// TestSmokeThingsBoard runs the ThingsBoard round trip against a real MQTT
// broker and a stand-in for tb-core's REST API (ThingsBoard cannot run
// here) that keeps the telemetry the broker delivers for the device's
// access token.
func TestSmokeThingsBoard(t *testing.T) {
	broker := mosquitto(t)
	var mu sync.Mutex
	latest := map[string]string{}
	sub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker).SetClientID("fake-transport"))
	if tok := sub.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer sub.Disconnect(100)
	if tok := sub.Subscribe("v1/devices/me/telemetry", 1, func(_ mqtt.Client, m mqtt.Message) {
		var v map[string]any
		json.Unmarshal(m.Payload(), &v)
		mu.Lock()
		latest["iotstackSmoke"] = fmt.Sprint(v["iotstackSmoke"])
		mu.Unlock()
	}); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/auth/login" && r.Header.Get("X-Authorization") != "Bearer jwt" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		switch {
		case r.URL.Path == "/api/auth/login":
			var in map[string]string
			json.NewDecoder(r.Body).Decode(&in)
			if in["username"] != "tenant@thingsboard.org" || in["password"] != "tenant" {
				http.Error(w, "bad credentials", http.StatusUnauthorized)
				return
			}
			fmt.Fprint(w, `{"token":"jwt","refreshToken":"r"}`)
		case r.Method == http.MethodPost && r.URL.Path == "/api/device":
			fmt.Fprint(w, `{"id":{"entityType":"DEVICE","id":"d-1"},"name":"x"}`)
		case r.URL.Path == "/api/device/d-1/credentials":
			fmt.Fprint(w, `{"credentialsType":"ACCESS_TOKEN","credentialsId":"tok"}`)
		case r.URL.Path == "/api/plugins/telemetry/DEVICE/d-1/values/timeseries":
			mu.Lock()
			v, ok := latest[r.URL.Query().Get("keys")]
			mu.Unlock()
			if !ok {
				fmt.Fprint(w, `{}`)
				return
			}
			fmt.Fprintf(w, `{"iotstackSmoke":[{"ts":1,"value":%q}]}`, v)
		default:
			http.NotFound(w, r)
		}
	}))
	defer api.Close()
	if err := SmokeThingsBoard(context.Background(), &ThingsBoard{REST: api.URL, MQTT: broker}, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	bad := &ThingsBoard{REST: api.URL, MQTT: broker}
	if err := bad.Login(context.Background(), "tenant@thingsboard.org", "wrong"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("wrong password: %v", err)
	}
}
