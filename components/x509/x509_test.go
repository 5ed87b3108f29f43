package x509

import (
	"k8s.io/apimachinery/pkg/api/resource"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/iotstack/iotstack/components/postgres"
	"github.com/iotstack/iotstack/stack"
	"github.com/iotstack/iotstack/stack/stacktest"
)

func TestWiring(t *testing.T) {
	var h *Handle
	_, out := stacktest.Build(t, func(s *stack.Stack) error {
		pg, err := postgres.New(s, postgres.Config{Instances: 1})
		if err != nil {
			return err
		}
		h, err = New(s, pg, Config{Image: "dojot/x509-identity-mgmt:v0.5.0", MongoURI: "mongodb://mongodb:27017/x509-identity-mgmt"})
		return err
	})
	if h.Address != "x509-identity-mgmt.iot.svc.cluster.local:3000" {
		t.Errorf("address %s", h.Address)
	}
	for _, o := range out.Objects {
		d, ok := o.Object.(*appsv1.Deployment)
		if !ok || d.Name != "x509-identity-mgmt" {
			continue
		}
		env := map[string]string{}
		for _, e := range d.Spec.Template.Spec.Containers[0].Env {
			env[e.Name] = e.Value
			if e.Name == "DATABASE_PASSWORD" && (e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil) {
				t.Error("the database password is not a Secret reference")
			}
		}
		if env["DATABASE_JDBC_URL"] != "jdbc:postgresql://postgres.iot.svc.cluster.local:5432/ejbca?characterEncoding=UTF-8" || env["EJBCA_PERFORM_DOJOT_SETUP"] != "true" {
			t.Errorf("env %v", env)
		}
		if d.Spec.Template.Spec.Containers[0].ReadinessProbe.HTTPGet.Path != "/healthcheck" {
			t.Error("readiness is not /healthcheck")
		}
	}
}

func TestValidation(t *testing.T) {
	s := stacktest.NewStack(t, stacktest.ThreeZones())
	pg, _ := postgres.New(s, postgres.Config{Instances: 1})
	cases := []struct {
		name string
		pg   *postgres.Handle
		cfg  Config
		want string
	}{
		{"nil postgres", nil, Config{Image: "x:1", MongoURI: "mongodb://m/x"}, "x509: pg is nil; the CA keeps its database (ejbca) on a PostgreSQL handle from postgres.New"},
		{"no mongo", pg, Config{Image: "x:1"}, "x509: mongoURI is required"},
		{"no image", pg, Config{MongoURI: "mongodb://m/x"}, "x509: image: empty; want name:tag"},
		{"digest without tag", pg, Config{Image: "dojot/x509@sha256:" + strings.Repeat("ab", 32), MongoURI: "mongodb://m/x"}, "x509: image: \"dojot/x509@sha256:abab"},
	}
	for _, tc := range cases {
		if _, err := New(s, tc.pg, tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v; want an error containing %q", tc.name, err, tc.want)
		}
	}
	if _, err := New(nil, pg, Config{Image: "x:1", MongoURI: "mongodb://m/x"}); err == nil || !strings.Contains(err.Error(), "x509: stack is nil") {
		t.Errorf("nil stack: %v", err)
	}
}

// FuzzConfig: whatever New accepts synthesizes; the rest is refused.
func FuzzConfig(f *testing.F) {
	f.Add("dojot/x509-identity-mgmt:v0.5.0", "mongodb://mongodb:27017/x509", "1", "1536Mi", "10Mi")
	f.Add("", "", "", "", "")
	f.Add("x@sha256:1", "m", "80", "1e20", "-1")
	f.Fuzz(func(t *testing.T, image, mongo, cpu, mem, size string) {
		cfg := Config{Image: image, MongoURI: mongo}
		if c, err := resource.ParseQuantity(cpu); err == nil {
			if m, err := resource.ParseQuantity(mem); err == nil {
				cfg.Resources = stack.FromLimits(c, m)
			}
		}
		if q, err := resource.ParseQuantity(size); err == nil {
			cfg.Storage.Size = q
		}
		stacktest.AcceptedSynthesizes(t, func(s *stack.Stack) error {
			pg, err := postgres.New(s, postgres.Config{Instances: 1})
			if err != nil {
				t.Fatal(err)
			}
			_, err = New(s, pg, cfg)
			return err
		})
	})
}

// TestReplicasAndEphemeral: Ephemeral renders no claim and an emptyDir at
// /mnt/persistent; more than one replica shares the claim with a budget,
// and is refused without it (the setup lock lives there).
func TestReplicasAndEphemeral(t *testing.T) {
	kinds := func(cfg Config) (map[string]int, *appsv1.Deployment) {
		var d *appsv1.Deployment
		got := map[string]int{}
		_, out := stacktest.Build(t, func(s *stack.Stack) error {
			pg, err := postgres.New(s, postgres.Config{Instances: 1})
			if err != nil {
				return err
			}
			_, err = New(s, pg, cfg)
			return err
		})
		for _, o := range out.Objects {
			if o.Component != "x509-identity-mgmt" {
				continue
			}
			got[o.Object.GetObjectKind().GroupVersionKind().Kind]++
			if x, ok := o.Object.(*appsv1.Deployment); ok {
				d = x
			}
		}
		return got, d
	}
	base := Config{Image: "dojot/x509-identity-mgmt:v0.5.0", MongoURI: "mongodb://mongodb:27017/x509-identity-mgmt"}
	eph := base
	eph.Ephemeral = true
	got, d := kinds(eph)
	if got["PersistentVolumeClaim"] != 0 {
		t.Errorf("ephemeral: %d claims", got["PersistentVolumeClaim"])
	}
	if v := d.Spec.Template.Spec.Volumes; len(v) != 1 || v[0].EmptyDir == nil || v[0].EmptyDir.SizeLimit.String() != "10Mi" {
		t.Errorf("ephemeral: volumes %+v; want one 10Mi emptyDir", v)
	}
	two := base
	two.Replicas = 2
	got, d = kinds(two)
	if got["PersistentVolumeClaim"] != 1 || got["PodDisruptionBudget"] != 1 || *d.Spec.Replicas != 2 {
		t.Errorf("2 replicas: objects %v, replicas %d; want the claim, a budget and 2", got, *d.Spec.Replicas)
	}
	s := stacktest.NewStack(t, stacktest.ThreeZones())
	pg, _ := postgres.New(s, postgres.Config{Instances: 1})
	two.Ephemeral = true
	if _, err := New(s, pg, two); err == nil || !strings.Contains(err.Error(), "x509: replicas 2 without a volume") {
		t.Errorf("2 ephemeral replicas: %v", err)
	}
	two.Ephemeral, two.Replicas = false, 21
	if _, err := New(s, pg, two); err == nil || !strings.Contains(err.Error(), "x509: replicas 21; allowed 1 to 20") {
		t.Errorf("21 replicas: %v", err)
	}
}
