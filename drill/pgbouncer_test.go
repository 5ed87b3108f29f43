package drill

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A pooler whose [databases] entry names a Service that is not rendered
// (here the read-write Service misspelt) fails as soon as its pods have
// written their configuration, with a message naming the rendered
// ConfigMap, the Deployment and the Service it should name. It needs no
// database: the check reads the pgbouncer.ini the rendered script wrote
// in the running pods, before any connection.
func TestPoolerWrongServiceHost(t *testing.T) {
	needDrill(t, "/usr/sbin/pgbouncer")
	r, err := Render("minimal-3az")
	if err != nil {
		t.Fatal(err)
	}
	replaceInConfigMap(t, r, "postgres-databases", "pooler.sh", "* = host=postgres.thingsboard.svc.cluster.local port=5432", "* = host=postgres-rw.thingsboard.svc.cluster.local port=5432")
	h := newHarness(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	client, err := h.AddPod("postgres-client", "thingsboard", "")
	if err != nil {
		t.Fatal(err)
	}
	// StartPooler would go on to the databases Job and the read-write
	// Service's Endpoints; with no API server (nil), it must stop before.
	_, err = StartPooler(ctx, h, r, nil, "thingsboard", client)
	if err == nil {
		t.Fatal("the pooler started with a [databases] host that names no Service")
	}
	t.Log(err)
	for _, want := range []string{
		"ConfigMap/thingsboard/postgres-databases (dist/minimal-3az/06-postgres.yaml) (run by Deployment/thingsboard/postgres-pooler (dist/minimal-3az/06-postgres.yaml)) pooler.sh: /tmp/pgbouncer.ini of postgres-pooler-0",
		"host postgres-rw.thingsboard.svc.cluster.local names no rendered Service; want the read-write Service postgres.thingsboard.svc.cluster.local (Service/thingsboard/postgres (dist/minimal-3az/06-postgres.yaml))",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q:\n%v", want, err)
		}
	}
}

// The pooler pods run the rendered script with the generated Secrets:
// the user list they write holds the application user (the first that
// is not a stats user) with exactly the password of its Secret, which is
// who the drill writes as.
func TestPoolerUserFromRenderedScript(t *testing.T) {
	needDrill(t, "/usr/sbin/pgbouncer")
	for _, c := range []struct{ profile, ns, user string }{{"minimal-3az", "thingsboard", "thingsboard"}, {"small", "dojot", "ejbca"}} {
		t.Run(c.profile, func(t *testing.T) {
			r, err := Render(c.profile)
			if err != nil {
				t.Fatal(err)
			}
			h := newHarness(t)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			pl, _, err := newPooler(h, r, c.ns, nil)
			if err != nil || pl == nil {
				t.Fatalf("no pooler: %v", err)
			}
			if err := pl.startPods(ctx); err != nil {
				t.Fatal(err)
			}
			want := r.Secrets["postgres-user-"+c.user]["password"]
			if pl.user != c.user || want == "" || pl.pass != want {
				t.Errorf("the drill would write as %q (password from its Secret: %v); want %s with the password of Secret postgres-user-%s", pl.user, pl.pass == want && want != "", c.user, c.user)
			}
		})
	}
}

// serverLog keeps what PgBouncer logged about its server connections
// since the probe started and counts the clients refused during
// server_login_retry (lines as PgBouncer 1.18 wrote them in a drill).
func TestPoolerServerLog(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "log-pgbouncer.txt")
	before := "2026-12-01 16:38:00.000 UTC [1] LOG S-0x1: thingsboard/thingsboard@10.213.87.2:5432 new connection to server (from 10.213.87.15:33000)\n"
	after := `2026-12-01 16:38:26.700 UTC [1] LOG S-0x2: thingsboard/thingsboard@10.213.87.2:5432 closing because: server conn crashed? (age=0s)
2026-12-01 16:38:53.578 UTC [1] LOG C-0x3: thingsboard/thingsboard@10.213.87.1:41016 closing because: server login has been failing, try again later (server_login_retry) (age=0s)
2026-12-01 16:38:53.578 UTC [1] WARNING C-0x3: thingsboard/thingsboard@10.213.87.1:41016 pooler error: server login has been failing, try again later (server_login_retry)
2026-12-01 16:38:53.859 UTC [1] LOG C-0x3: thingsboard/thingsboard@10.213.87.1:41026 closing because: server login has been failing, try again later (server_login_retry) (age=0s)
2026-12-01 16:38:53.859 UTC [1] WARNING C-0x3: thingsboard/thingsboard@10.213.87.1:41026 pooler error: server login has been failing, try again later (server_login_retry)
2026-12-01 16:38:57.245 UTC [1] LOG S-0x4: thingsboard/thingsboard@10.213.87.2:5432 new connection to server (from 10.213.87.15:33328)
2026-12-01 16:38:58.000 UTC [1] LOG stats: 1 xacts/s, 1 queries/s, in 100 B/s, out 100 B/s, xact 1000 us, query 1000 us, wait 0 us
`
	if err := os.WriteFile(logPath, []byte(before+after), 0o644); err != nil {
		t.Fatal(err)
	}
	pl := &Pooler{
		Pods:    []*Pod{{Name: "postgres-pooler-0", Zone: "eu-west-1a"}},
		procs:   []*Proc{{LogPath: logPath}},
		offsets: []int64{int64(len(before))},
	}
	got := pl.serverLog(30)
	want := `postgres-pooler-0 (eu-west-1a, running):
2026-12-01 16:38:26.700 UTC [1] LOG S-0x2: thingsboard/thingsboard@10.213.87.2:5432 closing because: server conn crashed? (age=0s)
2026-12-01 16:38:57.245 UTC [1] LOG S-0x4: thingsboard/thingsboard@10.213.87.2:5432 new connection to server (from 10.213.87.15:33328)
2 clients refused with "server login has been failing, try again later (server_login_retry)" from 2026-12-01 16:38:53.578 to 2026-12-01 16:38:53.859`
	if got != want {
		t.Errorf("serverLog:\n%s\nwant:\n%s", got, want)
	}
}
