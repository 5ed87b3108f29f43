package postgres

import (
	"regexp"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// expandEnv applies the kubelet's $(VAR) expansion to value with the
// variables defined before it (only those; unknown references stay).
func expandEnv(value string, before map[string]string) string {
	return regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`).ReplaceAllStringFunc(value, func(m string) string {
		if v, ok := before[m[2:len(m)-1]]; ok {
			return v
		}
		return m
	})
}

// TestRESTAPIAuthentication: Patroni's REST API requires basic
// authentication on its unsafe endpoints, with a password from a declared
// Secret of its own that the StatefulSet references but never holds, and
// the probes stay on the GET endpoints Patroni leaves open.
func TestRESTAPIAuthentication(t *testing.T) {
	_, _, out := synth(t, Config{})
	var set *appsv1.StatefulSet
	for _, o := range out.Objects {
		if x, ok := o.Object.(*appsv1.StatefulSet); ok {
			set = x
		}
		if cm, ok := o.Object.(*corev1.ConfigMap); ok && cm.Name == "postgres-config" {
			t.Errorf("the Patroni configuration is in a ConfigMap too; it must have one source, SPILO_CONFIGURATION")
		}
	}
	if set == nil {
		t.Fatal("no StatefulSet")
	}
	var declared bool
	for _, sec := range out.Secrets {
		if sec.Name == "postgres-patroni-api" && len(sec.Keys) == 1 && sec.Keys[0].Key == "password" {
			declared = true
		}
	}
	if !declared {
		t.Fatalf("Secret postgres-patroni-api with key password not declared: %+v", out.Secrets)
	}
	c := set.Spec.Template.Spec.Containers[0]
	// Simulated values for the variables from Secrets, as the kubelet
	// would resolve them, then expansion in order.
	env := map[string]string{}
	var spilo string
	for _, e := range c.Env {
		switch {
		case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil:
			if e.Name == restAPIPasswordVar && e.ValueFrom.SecretKeyRef.Name != "postgres-patroni-api" {
				t.Errorf("%s comes from %s", e.Name, e.ValueFrom.SecretKeyRef.Name)
			}
			env[e.Name] = "value-of-" + e.ValueFrom.SecretKeyRef.Name
		case e.ValueFrom != nil:
			env[e.Name] = "field"
		default:
			env[e.Name] = expandEnv(e.Value, env)
			if e.Name == "SPILO_CONFIGURATION" {
				spilo = env[e.Name]
			}
		}
	}
	var conf struct {
		RESTAPI struct {
			Authentication struct{ Username, Password string }
		}
		Bootstrap map[string]any
	}
	if err := yaml.Unmarshal([]byte(spilo), &conf); err != nil {
		t.Fatalf("SPILO_CONFIGURATION: %v\n%s", err, spilo)
	}
	if a := conf.RESTAPI.Authentication; a.Username != RESTAPIUser || a.Password != "value-of-postgres-patroni-api" {
		t.Errorf("restapi.authentication after expansion = %+v; want %s and the Secret's value", a, RESTAPIUser)
	}
	if conf.Bootstrap == nil {
		t.Error("SPILO_CONFIGURATION lost its bootstrap section")
	}
	// Unexpanded, the object holds only the reference.
	for _, e := range c.Env {
		if e.Name == "SPILO_CONFIGURATION" && !regexp.MustCompile(`password: "\$\(RESTAPI_PASSWORD\)"`).MatchString(e.Value) {
			t.Errorf("SPILO_CONFIGURATION does not reference $(RESTAPI_PASSWORD):\n%s", e.Value)
		}
	}
	// Probes: GET on /liveness and /readiness, which check_access does
	// not guard.
	for name, p := range map[string]*corev1.Probe{"startup": c.StartupProbe, "readiness": c.ReadinessProbe, "liveness": c.LivenessProbe} {
		if p == nil || p.HTTPGet == nil || (p.HTTPGet.Path != "/liveness" && p.HTTPGet.Path != "/readiness") {
			t.Errorf("%s probe %+v; want an HTTP GET on /liveness or /readiness", name, p)
		}
	}
}
