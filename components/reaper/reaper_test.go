package reaper

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/iotstack/iotstack/components/cassandra"
	"github.com/iotstack/iotstack/stack"
	"github.com/iotstack/iotstack/stack/stacktest"
)

func build(t *testing.T, cfg Config) (*Handle, *stack.Output) {
	t.Helper()
	var h *Handle
	_, out := stacktest.Build(t, func(s *stack.Stack) error {
		cs, err := cassandra.New(s, cassandra.Config{Pool: "main"})
		if err != nil {
			return err
		}
		h, err = New(s, cs, cfg)
		return err
	})
	return h, out
}

// TestRender: authentication on with the password and JWT key from the
// declared Secret, JMX as Cassandra's controlRole from the Cassandra
// Secret, auto-scheduling within gc_grace_seconds, memory (SQLite) storage
// on a volume, the admin port scraped, a PDB, restricted security, and
// Reaper admitted to the Cassandra nodes' JMX port only.
func TestRender(t *testing.T) {
	h, out := build(t, Config{Enabled: true, Pool: "main"})
	var set *appsv1.StatefulSet
	var pdb bool
	var jmxPolicy bool
	for _, o := range out.Objects {
		switch x := o.Object.(type) {
		case *appsv1.StatefulSet:
			if x.Name == "reaper" {
				set = x
			}
		case *policyv1.PodDisruptionBudget:
			pdb = pdb || x.Name == "reaper"
		case *networkingv1.NetworkPolicy:
			for _, r := range x.Spec.Ingress {
				for _, p := range r.Ports {
					for _, from := range r.From {
						if p.Port != nil && p.Port.IntValue() == cassandra.JMXPort && from.PodSelector != nil && from.PodSelector.MatchLabels["app.kubernetes.io/name"] == "reaper" {
							jmxPolicy = true
						}
					}
				}
			}
		}
	}
	if set == nil || !pdb {
		t.Fatalf("StatefulSet %v, PDB %v", set != nil, pdb)
	}
	if !jmxPolicy {
		t.Error("no NetworkPolicy admits Reaper to the Cassandra nodes' JMX port")
	}
	pod := set.Spec.Template.Spec
	if *pod.SecurityContext.RunAsUser != uid || !*pod.SecurityContext.RunAsNonRoot || len(set.Spec.VolumeClaimTemplates) != 1 {
		t.Errorf("security %+v, claims %d", pod.SecurityContext, len(set.Spec.VolumeClaimTemplates))
	}
	if set.Spec.Template.Annotations["prometheus.io/port"] != "8081" || set.Spec.Template.Annotations["prometheus.io/path"] != "/prometheusMetrics" {
		t.Errorf("scrape annotations %v", set.Spec.Template.Annotations)
	}
	env := map[string]corev1.EnvVar{}
	for _, e := range pod.Containers[0].Env {
		env[e.Name] = e
	}
	for name, want := range map[string]string{"REAPER_AUTH_ENABLED": "true", "REAPER_AUTH_USER": "admin", "REAPER_STORAGE_TYPE": "memory",
		"REAPER_AUTO_SCHEDULING_ENABLED": "true", "REAPER_SCHEDULE_DAYS_BETWEEN": "7", "REAPER_JMX_AUTH_USERNAME": "controlRole", "REAPER_DATACENTER_AVAILABILITY": "ALL"} {
		if env[name].Value != want {
			t.Errorf("%s = %q; want %q", name, env[name].Value, want)
		}
	}
	for name, want := range map[string]string{"REAPER_AUTH_PASSWORD": "reaper-auth/password", "JWT_SECRET": "reaper-auth/jwt-secret", "REAPER_JMX_AUTH_PASSWORD": "cassandra-jmx/control-password"} {
		ref := env[name].ValueFrom
		if ref == nil || ref.SecretKeyRef == nil || ref.SecretKeyRef.Name+"/"+ref.SecretKeyRef.Key != want {
			t.Errorf("%s from %+v; want Secret %s", name, ref, want)
		}
	}
	var jwtLen int
	for _, sec := range out.Secrets {
		for _, k := range sec.Keys {
			if sec.Name == "reaper-auth" && k.Key == "jwt-secret" {
				jwtLen = k.Length
			}
		}
	}
	if jwtLen < 32 {
		t.Errorf("jwt-secret length %d; HS256 needs at least 32 bytes", jwtLen)
	}
	if h.Service != "reaper" || h.Port != AppPort {
		t.Errorf("handle %+v", h)
	}
	var names []string
	for _, r := range h.Component.Alerts() {
		names = append(names, r.Alert)
	}
	if strings.Join(names, " ") != "ReaperDown CassandraRepairOverdue CassandraRepairNeverCompleted ReaperNoRepairSchedule" {
		t.Errorf("alerts %v", names)
	}
	stacktest.CheckScripts(t, out)
}

func TestValidation(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{DaysBetween: 10}, "reaper: daysBetween 10; allowed 1 to 8"},
		{Config{HeapMiB: 1024}, "reaper: heapMiB 1024; must be 128 to 768"},
		{Config{Image: "thelastpickle/cassandra-reaper"}, "reaper: image"},
		{Config{Pool: "db"}, `reaper: pool: topology: no node pool "db"`},
	} {
		t.Run(tc.want, func(t *testing.T) {
			s := stacktest.NewStack(t, stacktest.ThreeZones())
			cs, err := cassandra.New(s, cassandra.Config{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := New(s, cs, tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v; want %q", err, tc.want)
			}
			if s.ComponentByName("reaper") != nil {
				t.Error("a rejected Config added a component")
			}
		})
	}
}

// TestRegisterScript runs the registration script against a loopback
// HTTP server that answers like Reaper 4.2.3's AuthLoginResource and
// ClusterResource (read in its sources; no Reaper runs here): it logs in
// with the form fields, sends the token as a Bearer header and the nodes
// as seedHost, and puts no password or token on a command line.
func TestRegisterScript(t *testing.T) {
	const password, token = "Reaper1Pw+&=", "eyJhbGciOiJIUzI1NiJ9.test.sig"
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/login":
			form, _ := url.ParseQuery(string(body))
			if r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" || form.Get("username") != "admin" || form.Get("password") != password {
				http.Error(w, "Invalid credentials", http.StatusUnauthorized)
				return
			}
			fmt.Fprintf(w, `{"token":%q,"username":"admin","roles":["operator"]}`, token)
		case r.Method == http.MethodPost && r.URL.Path == "/cluster":
			if r.Header.Get("Authorization") != "Bearer "+token {
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			got = append(got, r.URL.Query().Get("seedHost")+" "+r.URL.Query().Get("jmxPort"))
			w.WriteHeader(http.StatusCreated)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	dir := t.TempDir()
	script := filepath.Join(dir, "register.sh")
	os.WriteFile(script, []byte(registerScript), 0o755)
	// ps records every process's arguments while the script runs: a
	// wrapper around curl logs them.
	bin := filepath.Join(dir, "bin")
	os.MkdirAll(bin, 0o755)
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl not installed")
	}
	os.WriteFile(filepath.Join(bin, "curl"), []byte("#!/bin/bash\necho \"$*\" >> "+filepath.Join(dir, "argv")+"\nexec "+curl+" \"$@\"\n"), 0o755)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	run := func(pw string) (string, error) {
		cmd := exec.CommandContext(ctx, "bash", script)
		cmd.Env = []string{"PATH=" + bin + ":" + os.Getenv("PATH"), "HOME=" + dir, "SEEDS=c-a-0.x,c-b-0.x,c-c-0.x", "REAPER_AUTH_USER=admin",
			"REAPER_AUTH_PASSWORD=" + pw, "REAPER_URL=" + srv.URL, "REGISTER_ONCE=1"}
		b, err := cmd.CombinedOutput()
		return string(b), err
	}
	out, err := run(password)
	if err != nil || !strings.Contains(out, "cluster registered (HTTP 201)") {
		t.Fatalf("register.sh: %v\n%s", err, out)
	}
	if len(got) != 1 || got[0] != "c-a-0.x,c-b-0.x,c-c-0.x 7199" {
		t.Errorf("registered %v", got)
	}
	if out, err := run("wrong"); err == nil {
		t.Errorf("a refused login succeeded:\n%s", out)
	}
	argv, _ := os.ReadFile(filepath.Join(dir, "argv"))
	if strings.Contains(string(argv), password) || strings.Contains(string(argv), token) {
		t.Errorf("a password or token is a curl argument:\n%s", argv)
	}
}

func FuzzConfig(f *testing.F) {
	f.Add("reaper", 512, 7, "1Gi", "")
	f.Add("", 0, 0, "", "")
	f.Add("r b", -1, 99, "-1Gi", "db")
	f.Fuzz(func(t *testing.T, name string, heap, days int, size, pool string) {
		cfg := Config{Enabled: true, Name: name, HeapMiB: heap, DaysBetween: days, Pool: pool}
		if q, err := resource.ParseQuantity(size); err == nil {
			cfg.Storage.Size = q
		}
		stacktest.AcceptedSynthesizes(t, func(s *stack.Stack) error {
			cs, err := cassandra.New(s, cassandra.Config{Name: "cassandra"})
			if err != nil {
				return err
			}
			_, err = New(s, cs, cfg)
			return err
		})
	})
}
