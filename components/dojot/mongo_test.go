package dojot

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/iotstack/iotstack/components/x509"
)

// TestMongoAuthentication: mongod runs with --auth; the users sidecar
// creates one user per consumer with the roles it needs; history and
// persister get a URI with their own user (expanded by the kubelet from
// their Secret), x509-identity-mgmt its user, password and authentication
// database in the variables v0.5.0 reads; no Secret value is rendered.
func TestMongoAuthentication(t *testing.T) {
	out := build(t, Config{})
	deploys := map[string]corev1.Container{}
	var mongo *appsv1.StatefulSet
	var script string
	for _, o := range out.Objects {
		switch x := o.Object.(type) {
		case *appsv1.Deployment:
			deploys[x.Name] = x.Spec.Template.Spec.Containers[0]
		case *appsv1.StatefulSet:
			if x.Name == "mongodb" {
				mongo = x
			}
		case *corev1.ConfigMap:
			if x.Name == "mongodb-users" {
				script = x.Data["users.sh"]
			}
		}
	}
	if mongo == nil || script == "" {
		t.Fatal("no mongodb StatefulSet or users script")
	}
	containers := mongo.Spec.Template.Spec.Containers
	if len(containers) != 2 || strings.Join(containers[0].Args, " ") != "mongod --auth" || containers[1].Name != "users" {
		t.Fatalf("mongodb containers: %+v", containers)
	}
	// Resolve each container's variables as the kubelet does, with a
	// stand-in value per Secret key.
	resolve := func(c corev1.Container) map[string]string {
		vals := map[string]string{}
		for _, e := range c.Env {
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				vals[e.Name] = "S_" + e.ValueFrom.SecretKeyRef.Name + "_" + e.ValueFrom.SecretKeyRef.Key
				continue
			}
			vals[e.Name] = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`).ReplaceAllStringFunc(e.Value, func(m string) string {
				if v, ok := vals[m[2:len(m)-1]]; ok {
					return v
				}
				return m
			})
		}
		return vals
	}
	for svc, user := range map[string]string{"history": "history", "persister": "persister"} {
		v := resolve(deploys[svc])
		// history/conf.py: db_host = HISTORY_DB_ADDRESS + ":" + HISTORY_DB_PORT.
		want := "mongodb://" + user + ":S_mongodb-auth_" + user + "-password@mongodb.iot.svc.cluster.local:27017"
		if got := v["HISTORY_DB_ADDRESS"] + ":" + v["HISTORY_DB_PORT"]; got != want {
			t.Errorf("%s connects to %q; want %q", svc, got, want)
		}
		for _, e := range deploys[svc].Env {
			if strings.Contains(e.Value, "S_") {
				t.Errorf("%s renders a value: %s", svc, e.Value)
			}
		}
	}
	ca := resolve(deploys["x509-identity-mgmt"])
	if ca["MONGO_USER"] != x509.MongoUser || ca["MONGO_PASS"] != "S_x509-identity-mgmt-mongo_password" || ca["MONGO_AUTH_DB"] != "admin" || strings.Contains(ca["MONGO_URI"], "@") {
		t.Errorf("x509-identity-mgmt's MongoDB login: %v", ca)
	}
	// The sidecar holds the same passwords the consumers use.
	side := resolve(containers[1])
	for v, want := range map[string]string{
		"MONGO_ROOT_PASSWORD":         "S_mongodb-auth_root-password",
		"PASSWORD_HISTORY":            "S_mongodb-auth_history-password",
		"PASSWORD_PERSISTER":          "S_mongodb-auth_persister-password",
		"PASSWORD_X509_IDENTITY_MGMT": "S_x509-identity-mgmt-mongo_password",
	} {
		if side[v] != want {
			t.Errorf("users sidecar %s = %q; want %q", v, side[v], want)
		}
	}
	for _, want := range []string{
		`ensure('history', '${PASSWORD_HISTORY}', [{role: 'read', db: 'device_history'}]);`,
		`ensure('persister', '${PASSWORD_PERSISTER}', [{role: 'readWrite', db: 'device_history'}]);`,
		`ensure('x509-identity-mgmt', '${PASSWORD_X509_IDENTITY_MGMT}', [{role: 'readWrite', db: 'x509-identity-mgmt'}]);`,
	} {
		if !strings.Contains(script, want) {
			t.Errorf("users.sh lacks %s", want)
		}
	}
	// 100k runs no history or persister: only the CA's user.
	out = build(t, Config{Services: HundredServices()})
	for _, o := range out.Objects {
		if cm, ok := o.Object.(*corev1.ConfigMap); ok && cm.Name == "mongodb-users" && (strings.Contains(cm.Data["users.sh"], "'history'") || !strings.Contains(cm.Data["users.sh"], "'x509-identity-mgmt'")) {
			t.Errorf("100k users.sh:\n%s", cm.Data["users.sh"])
		}
	}
}

// TestMongoUsersScriptKeepsPasswordsOffArgv runs the rendered users script
// with a stand-in mongo shell (MongoDB does not run here) that records its
// command lines and its standard input: the passwords must reach the
// shell on stdin only, never on a command line or in the script's output,
// and the JavaScript it receives must parse (node --check).
func TestMongoUsersScriptKeepsPasswordsOffArgv(t *testing.T) {
	out := build(t, Config{})
	var script string
	for _, o := range out.Objects {
		if cm, ok := o.Object.(*corev1.ConfigMap); ok && cm.Name == "mongodb-users" {
			script = cm.Data["users.sh"]
		}
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	os.MkdirAll(bin, 0o755)
	stub := `#!/bin/bash
echo "$*" >> "` + dir + `/argv"
case "$*" in
  *--eval*) echo 1 ;;
  *) cat > "` + dir + `/stdin.js"; echo "user root: created"
     # The real shell prints what the script prints; the stand-in only
     # the last line, when the script ends with it.
     if [ -z "${FAIL_USERS:-}" ] && grep -q "print('users applied');" "` + dir + `/stdin.js"; then echo "users applied"; fi ;;
esac
`
	os.WriteFile(filepath.Join(bin, "mongo"), []byte(stub), 0o755)
	// The script ends by waiting forever: stop it once it is ready.
	script = strings.Replace(script, "while :; do sleep 3600; done", "exit 0", 1)
	p := filepath.Join(dir, "users.sh")
	os.WriteFile(p, []byte(strings.ReplaceAll(script, mongoReady, filepath.Join(dir, "ready"))), 0o755)
	passwords := map[string]string{"MONGO_ROOT_PASSWORD": "RootPw1x", "PASSWORD_HISTORY": "HistPw2x", "PASSWORD_PERSISTER": "PersPw3x", "PASSWORD_X509_IDENTITY_MGMT": "CaPw4x"}
	cmd := exec.Command("bash", p)
	cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"))
	for k, v := range passwords {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 5 * time.Second
	timer := time.AfterFunc(time.Minute, func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	output, err := cmd.CombinedOutput()
	timer.Stop()
	if err != nil {
		t.Fatalf("users.sh: %v\n%s", err, output)
	}
	if _, err := os.Stat(filepath.Join(dir, "ready")); err != nil {
		t.Errorf("users.sh did not mark itself ready:\n%s", output)
	}
	argv, _ := os.ReadFile(filepath.Join(dir, "argv"))
	js, _ := os.ReadFile(filepath.Join(dir, "stdin.js"))
	for _, pw := range passwords {
		if strings.Contains(string(argv), pw) {
			t.Errorf("password %s on a mongo command line:\n%s", pw, argv)
		}
		if strings.Contains(string(output), pw) {
			t.Errorf("password %s in the script's output:\n%s", pw, output)
		}
		if !strings.Contains(string(js), "'"+pw+"'") {
			t.Errorf("password %s never reaches mongo's stdin:\n%s", pw, js)
		}
	}
	if node, err := exec.LookPath("node"); err == nil {
		if out, err := exec.Command(node, "--check", filepath.Join(dir, "stdin.js")).CombinedOutput(); err != nil {
			t.Errorf("the JavaScript sent to mongo does not parse: %v\n%s\n%s", err, out, js)
		}
	}
	// A script that does not reach its end is a failure, not readiness.
	os.Remove(filepath.Join(dir, "ready"))
	failing := exec.Command("bash", p)
	failing.Env = append(cmd.Env, "FAIL_USERS=1")
	if out, err := failing.CombinedOutput(); err == nil || !strings.Contains(string(out), "the users were not all applied") {
		t.Errorf("an unfinished users script succeeded: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "ready")); err == nil {
		t.Error("an unfinished users script marked itself ready")
	}
	// A password with other characters is refused before anything runs.
	bad := exec.Command("bash", p)
	bad.Env = append(cmd.Env, "PASSWORD_HISTORY=a'b")
	if out, err := bad.CombinedOutput(); err == nil || !strings.Contains(string(out), "PASSWORD_HISTORY is empty or holds characters") {
		t.Errorf("a quote in a password was accepted: %v\n%s", err, out)
	}
}
