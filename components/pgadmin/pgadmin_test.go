package pgadmin

import (
	"encoding/json"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/iotstack/iotstack/components/postgres"
	"github.com/iotstack/iotstack/stack"
	"github.com/iotstack/iotstack/stack/stacktest"
)

func build(t *testing.T, cfg Config) (*Handle, *stack.Output) {
	t.Helper()
	var h *Handle
	_, out := stacktest.Build(t, func(s *stack.Stack) error {
		pg, err := postgres.New(s, postgres.Config{})
		if err != nil {
			return err
		}
		for _, db := range []string{"kong", "auth"} {
			if _, err := pg.Database(postgres.DatabaseSpec{Name: db}); err != nil {
				return err
			}
		}
		h, err = New(s, pg, cfg)
		return err
	})
	return h, out
}

func TestServersLoginAndSecret(t *testing.T) {
	_, out := build(t, Config{})
	var servers string
	var pod *corev1.PodSpec
	for _, r := range out.Objects {
		switch o := r.Object.(type) {
		case *corev1.ConfigMap:
			if o.Name == "pgadmin-servers" {
				servers = o.Data["servers.json"]
			}
		case *appsv1.Deployment:
			if o.Name == "pgadmin" {
				pod = &o.Spec.Template.Spec
			}
		}
	}
	var doc struct {
		Servers map[string]map[string]any
	}
	if err := json.Unmarshal([]byte(servers), &doc); err != nil {
		t.Fatalf("servers.json: %v\n%s", err, servers)
	}
	want := map[string][2]string{"1": {"postgres", Superuser}, "2": {"kong", "kong"}, "3": {"auth", "auth"}}
	if len(doc.Servers) != len(want) {
		t.Fatalf("servers %v; want %d", doc.Servers, len(want))
	}
	for id, w := range want {
		s := doc.Servers[id]
		// The attributes import_export_servers.rst requires, and no password.
		for _, k := range []string{"Name", "Group", "Port", "Username", "SSLMode", "MaintenanceDB", "Host"} {
			if _, ok := s[k]; !ok {
				t.Errorf("server %s lacks %s", id, k)
			}
		}
		if s["MaintenanceDB"] != w[0] || s["Username"] != w[1] || s["Host"] != "postgres.iot.svc.cluster.local" || s["Port"] != float64(postgres.Port) {
			t.Errorf("server %s = %v; want db %s user %s on the primary", id, s, w[0], w[1])
		}
	}
	if strings.Contains(strings.ToLower(servers), "password") {
		t.Errorf("servers.json mentions a password:\n%s", servers)
	}
	env := map[string]string{}
	for _, e := range pod.Containers[0].Env {
		if e.ValueFrom != nil {
			t.Errorf("%s from a Secret key in the environment; the password is read from a file", e.Name)
		}
		env[e.Name] = e.Value
	}
	if env["PGADMIN_DEFAULT_PASSWORD_FILE"] != secretDir+"/password" || env["PGADMIN_DEFAULT_EMAIL"] != "admin@iotstack.io" || env["PGADMIN_LISTEN_PORT"] != "8080" || env["PGADMIN_DISABLE_POSTFIX"] == "" {
		t.Errorf("env %v", env)
	}
	if _, ok := env["SCRIPT_NAME"]; ok {
		t.Errorf("SCRIPT_NAME without a path")
	}
	found := false
	for _, v := range pod.Volumes {
		if v.Secret != nil && v.Secret.SecretName == "pgadmin-auth" {
			found = true
		}
	}
	if !found {
		t.Errorf("the Secret pgadmin-auth is not mounted")
	}
}

func TestPath(t *testing.T) {
	h, out := build(t, Config{Path: "/pgadmin/"})
	if h.HealthPath != "/pgadmin/misc/ping" {
		t.Errorf("health %q", h.HealthPath)
	}
	for _, r := range out.Objects {
		if d, ok := r.Object.(*appsv1.Deployment); ok && d.Name == "pgadmin" {
			for _, e := range d.Spec.Template.Spec.Containers[0].Env {
				if e.Name == "SCRIPT_NAME" && e.Value == "/pgadmin" {
					return
				}
			}
		}
	}
	t.Errorf("no SCRIPT_NAME=/pgadmin")
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Email: "admin"}, `email "admin"`},
		{Config{Email: "Admin <a@b.org>"}, "email"},
		{Config{Email: "a@localhost"}, "email"},
		{Config{Email: "a'b@example.org"}, "email"},
		{Config{Path: "/"}, `path "/"`},
		{Config{Name: "1pg"}, `name "1pg"`},
	} {
		if err := tc.cfg.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v; want %q", tc.cfg, err, tc.want)
		}
	}
	if err := (Config{Email: "dba@example.org", Path: "/pgadmin/"}).Validate(); err != nil {
		t.Error(err)
	}
}

func FuzzConfig(f *testing.F) {
	f.Add("pgadmin", "", "500m", "256Mi", "/pgadmin/", "admin@iotstack.io")
	f.Add("", "", "", "", "", "")
	f.Add("x", "main", "-1", "1Ei", "/a b/", "a'b@c.d")
	f.Fuzz(func(t *testing.T, name, pool, cpu, mem, path, email string) {
		cfg := Config{Name: name, Pool: pool, Path: path, Email: email}
		if c, err := resource.ParseQuantity(cpu); err == nil {
			if m, err := resource.ParseQuantity(mem); err == nil {
				cfg.Resources = stack.FromLimits(c, m)
			}
		}
		stacktest.AcceptedSynthesizes(t, func(s *stack.Stack) error {
			pg, err := postgres.New(s, postgres.Config{})
			if err != nil {
				return err
			}
			_, err = New(s, pg, cfg)
			return err
		})
	})
}
