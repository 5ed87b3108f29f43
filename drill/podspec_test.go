package drill

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// PrepareContainer reproduces the rendered pod spec: ConfigMap files with
// their modes, the pod's fields and the generated Secrets in the
// environment, $(VAR) expansion, the pod's user; and it refuses what it
// cannot reproduce, naming the rendered object. No root needed.
func TestPrepareContainer(t *testing.T) {
	r, err := Render("minimal-3az")
	if err != nil {
		t.Fatal(err)
	}
	p := &Pod{Name: "redis-a-0", Namespace: "thingsboard", Addr: netip.MustParseAddr("10.213.1.11"), Dir: t.TempDir()}
	sts, err := r.StatefulSet("redis-a")
	if err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() != 0 {
		t.Skip("chown to the pod's user needs root")
	}
	c, err := r.PrepareContainer(p, sts, "valkey")
	if err != nil {
		t.Fatal(err)
	}
	env := strings.Join(c.Start.Env, "\n")
	for _, want := range []string{"POD_NAME=redis-a-0", "POD_NAMESPACE=thingsboard", "POD_IP=10.213.1.11", "REDIS_PASSWORD=" + r.Secrets["redis-auth"]["password"]} {
		if !strings.Contains(env, want+"\n") && !strings.HasSuffix(env, want) {
			t.Errorf("env lacks %q:\n%s", want, env)
		}
	}
	if len(r.Secrets["redis-auth"]["password"]) < 16 {
		t.Errorf("generated password too short: %d characters", len(r.Secrets["redis-auth"]["password"]))
	}
	if c.Start.UID != 999 || c.Start.GID != 999 {
		t.Errorf("user %d:%d, want the pod's 999:999", c.Start.UID, c.Start.GID)
	}
	st, err := os.Stat(filepath.Join(c.Volumes["config"], "start.sh"))
	if err != nil || st.Mode().Perm() != 0o555 {
		t.Errorf("start.sh from the ConfigMap with defaultMode 365 (0555): %v %v", st.Mode(), err)
	}
	if strings.Join(c.Start.Argv, " ") != "/config/start.sh" {
		t.Errorf("argv %q, want the rendered command", c.Start.Argv)
	}

	bad := sts.DeepCopy()
	bad.Spec.Template.Spec.Containers[0].Env = append(bad.Spec.Template.Spec.Containers[0].Env, corev1.EnvVar{Name: "X", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "nosuch"}, Key: "k"}}})
	_, err = r.PrepareContainer(p, bad, "valkey")
	if err == nil || !strings.Contains(err.Error(), "StatefulSet/thingsboard/redis-a (dist/minimal-3az/04-redis.yaml) env X: Secret nosuch key k is not generated") {
		t.Errorf("unknown Secret: %v", err)
	}
	_, err = r.PrepareContainer(p, sts, "nosuch")
	if err == nil || !strings.Contains(err.Error(), "has no container nosuch") {
		t.Errorf("unknown container: %v", err)
	}
}

func TestExpand(t *testing.T) {
	env := []string{"A=1", "B=x$(A)"}
	for in, want := range map[string]string{
		"$(B)-$(A)-$(C)": "x$(A)-1-$(C)", // substituted text is not expanded again
		"$$(A)":          "$(A)",
		"a$":             "a$",
		"$(A":            "$(A",
	} {
		if got := expand(in, env); got != want {
			t.Errorf("expand(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLSN(t *testing.T) {
	v, err := parseLSN("1A/3000060")
	if err != nil || v != 0x1A<<32|0x3000060 || formatLSN(v) != "1A/3000060" {
		t.Fatalf("parseLSN: %x %v", v, err)
	}
	for _, bad := range []string{"", "3000060", "x/1", "1/yy"} {
		if _, err := parseLSN(bad); err == nil {
			t.Errorf("parseLSN(%q) accepted", bad)
		}
	}
	sp, err := lastSwitchPoint("1\t0/5000060\tno recovery target specified\n\n2\t0/7000A8\tno recovery target specified\n")
	if err != nil || sp != 0x7000A8 {
		t.Fatalf("lastSwitchPoint: %x %v", sp, err)
	}
	if _, err := lastSwitchPoint(""); err == nil {
		t.Error("an empty history file gave a switch point")
	}
}
