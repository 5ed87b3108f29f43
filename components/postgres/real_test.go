package postgres

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/iotstack/iotstack/stack"
)

// These tests run the generated scripts against real PostgreSQL 15 and
// PgBouncer from Debian (`go tool mage test` installs them). Both refuse
// to run as root, so as root the servers run as the postgres user.

const pgBin = "/usr/lib/postgresql/15/bin"

func requirePostgres(t *testing.T) {
	t.Helper()
	_, errPg := os.Stat(filepath.Join(pgBin, "initdb"))
	_, errBouncer := exec.LookPath("pgbouncer")
	_, errPsql := exec.LookPath("psql")
	if errPg != nil || errBouncer != nil || errPsql != nil {
		if os.Getenv("IOTSTACK_REQUIRE_TOOLS") != "" {
			t.Fatalf("postgresql, pgbouncer and postgresql-client are required (go tool mage test installs them): %v %v %v", errPg, errBouncer, errPsql)
		}
		t.Skip("postgresql, pgbouncer or psql not installed; `go tool mage test` installs them")
	}
}

// asServer runs a server command, as the postgres user when we are root,
// in a process group of its own so that stop ends it and its children.
func asServer(t *testing.T, dir string, name string, args ...string) *exec.Cmd {
	t.Helper()
	var cmd *exec.Cmd
	if os.Geteuid() == 0 {
		if out, err := exec.Command("chown", "-R", "postgres:postgres", dir).CombinedOutput(); err != nil {
			t.Fatalf("chown: %v %s", err, out)
		}
		cmd = exec.Command("runuser", append([]string{"-u", "postgres", "--", name}, args...)...)
	} else {
		cmd = exec.Command(name, args...)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// stop ends a server started with asServer: SIGINT to its group (a fast
// shutdown for PostgreSQL), SIGKILL if it is still there after 5 s.
func stop(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

// serverDir is a scratch directory the postgres user can reach (the test's
// own temporary directories are private to the test's user).
func serverDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "iotstack-pg-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func waitPort(t *testing.T, port int) {
	t.Helper()
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("nothing listens on %d", port)
}

// startPostgres initialises and starts a server with SCRAM password
// authentication and superuser postgres/password.
func startPostgres(t *testing.T, password string) int {
	t.Helper()
	port, _ := startPostgresWith(t, password)
	return port
}

// startPostgresWith is startPostgres with extra server settings (-c
// name=value); it returns the port and the directory holding the data
// directory and the server's own output (server.log).
func startPostgresWith(t *testing.T, password string, settings ...string) (int, string) {
	t.Helper()
	dir := serverDir(t)
	data := filepath.Join(dir, "data")
	pwfile := filepath.Join(dir, "pw")
	os.WriteFile(pwfile, []byte(password+"\n"), 0o644)
	if out, err := asServer(t, dir, filepath.Join(pgBin, "initdb"), "-D", data, "-U", "postgres", "--pwfile", pwfile, "--auth=scram-sha-256").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	port := freePort(t)
	args := []string{"-D", data, "-p", fmt.Sprint(port), "-k", dir, "-c", "listen_addresses=127.0.0.1"}
	for _, s := range settings {
		args = append(args, "-c", s)
	}
	cmd := asServer(t, dir, filepath.Join(pgBin, "postgres"), args...)
	logFile, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop(cmd); logFile.Close() })
	waitPort(t, port)
	return port, dir
}

func runScript(t *testing.T, script string, env ...string) (string, error) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "s.sh")
	os.WriteFile(p, []byte(script), 0o755)
	cmd := exec.Command("bash", p)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func psql(t *testing.T, port int, user, password, db, sql string) (string, error) {
	t.Helper()
	cmd := exec.Command("psql", "-h", "127.0.0.1", "-p", fmt.Sprint(port), "-U", user, "-d", db, "-tAc", sql)
	cmd.Env = append(os.Environ(), "PGPASSWORD="+password, "PGCONNECT_TIMEOUT=5")
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// TestDatabasesAndPoolerAgainstPostgres runs the databases Job's script
// twice against a real server (create, then keep), then the pooler's
// start script with a real PgBouncer, and logs in through it as each user.
func TestDatabasesAndPoolerAgainstPostgres(t *testing.T) {
	requirePostgres(t)
	port := startPostgres(t, "Super1")
	dbs := []Database{{Name: "thingsboard", User: "thingsboard"}, {Name: "kong", User: "kong"}, {Name: "auth", User: "kong"}}
	script := strings.Replace(databasesScript("127.0.0.1", dbs), "PGPORT=5432", fmt.Sprintf("PGPORT=%d", port), 1)
	env := []string{"SUPERUSER_PASSWORD=Super1", "PASSWORD_THINGSBOARD=tbPass1", "PASSWORD_KONG=kongPass1"}
	out, err := runScript(t, script, env...)
	if err != nil {
		t.Fatalf("databases.sh: %v\n%s", err, out)
	}
	for _, want := range []string{"user thingsboard: created", "database thingsboard: created", "user kong: created", "database auth: created", "databases applied"} {
		if !strings.Contains(out, want) {
			t.Errorf("first run lacks %q:\n%s", want, out)
		}
	}
	if owner, err := psql(t, port, "postgres", "Super1", "postgres", "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'auth'"); err != nil || owner != "kong" {
		t.Errorf("owner of auth: %q %v", owner, err)
	}
	// A rotated Secret value is applied on the next run; nothing is recreated.
	env[1] = "PASSWORD_THINGSBOARD=tbPass2"
	out, err = runScript(t, script, env...)
	if err != nil || !strings.Contains(out, "user thingsboard: password kept in step with its Secret") || strings.Contains(out, "created") {
		t.Fatalf("second run: %v\n%s", err, out)
	}
	if got, err := psql(t, port, "thingsboard", "tbPass2", "thingsboard", "SELECT current_user"); err != nil || got != "thingsboard" {
		t.Fatalf("login as thingsboard: %q %v", got, err)
	}

	// PgBouncer in front, with the generated start script.
	dir := serverDir(t)
	bport := freePort(t)
	cfg := Config{}
	cfg.Default()
	start := poolerStart(cfg, "127.0.0.1", []string{"thingsboard", "kong", poolerStatsUser}, poolerStatsUser)
	start = strings.ReplaceAll(start, "/tmp/", dir+"/")
	start = strings.Replace(start, "unix_socket_dir = /tmp", "unix_socket_dir = "+dir, 1)
	start = strings.Replace(start, fmt.Sprintf("port=%d", Port), fmt.Sprintf("port=%d", port), 1)
	start = strings.Replace(start, fmt.Sprintf("listen_port = %d", Port), fmt.Sprintf("listen_port = %d", bport), 1)
	startPath := filepath.Join(dir, "pooler.sh")
	os.WriteFile(startPath, []byte(start), 0o755)
	cmd := asServer(t, dir, "bash", startPath)
	if os.Geteuid() == 0 {
		// runuser resets the environment; pass the passwords through env(1).
		cmd = asServer(t, dir, "env", "PASSWORD_THINGSBOARD=tbPass2", "PASSWORD_KONG=kongPass1", "PASSWORD_PGBOUNCER_STATS=stats/Pass=1", "bash", startPath)
	}
	cmd.Env = append(os.Environ(), "PASSWORD_THINGSBOARD=tbPass2", "PASSWORD_KONG=kongPass1", "PASSWORD_PGBOUNCER_STATS=stats/Pass=1")
	logFile, err := os.Create(filepath.Join(t.TempDir(), "pgbouncer.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop(cmd); logFile.Close() })
	logs := func() string { b, _ := os.ReadFile(logFile.Name()); return string(b) }
	waitPort(t, bport)
	for _, login := range []struct{ user, pass, db string }{{"thingsboard", "tbPass2", "thingsboard"}, {"kong", "kongPass1", "auth"}} {
		got, err := psql(t, bport, login.user, login.pass, login.db, "SELECT current_database()")
		if err != nil || got != login.db {
			t.Errorf("through PgBouncer as %s: %q %v\n%s", login.user, got, err, logs())
		}
	}
	if _, err := psql(t, bport, "kong", "wrong", "auth", "SELECT 1"); err == nil {
		t.Error("PgBouncer accepted a wrong password")
	}
	// The exporter's login: the stats user reads the admin console's
	// SHOW commands pgbouncer_exporter v0.12.1 runs (SHOW LISTS, SHOW
	// CONFIG, SHOW POOLS, ...), and may not pause or stop anything.
	for _, q := range []string{"SHOW LISTS", "SHOW CONFIG", "SHOW POOLS", "SHOW STATS", "SHOW DATABASES"} {
		if _, err := psql(t, bport, poolerStatsUser, "stats/Pass=1", "pgbouncer", q); err != nil {
			t.Errorf("%s as %s: %v\n%s", q, poolerStatsUser, err, logs())
		}
	}
	if _, err := psql(t, bport, poolerStatsUser, "stats/Pass=1", "pgbouncer", "PAUSE"); err == nil {
		t.Errorf("the stats user may PAUSE the pooler")
	}
	checkPoolerExporter(t, bport, "stats/Pass=1")
}

// checkPoolerExporter runs pgbouncer_exporter v0.12.1 (a binary built
// from its source, named by IOTSTACK_PGBOUNCER_EXPORTER; Debian ships no
// build of it) with the sidecar's rendered connection string against the
// real PgBouncer on port, and checks that it logs in (pgbouncer_up 1) and
// exposes every series the pooler's alert rules read. Without the
// variable this part is skipped with a log line.
func checkPoolerExporter(t *testing.T, port int, password string) {
	t.Helper()
	bin := os.Getenv("IOTSTACK_PGBOUNCER_EXPORTER")
	if bin == "" {
		t.Log("IOTSTACK_PGBOUNCER_EXPORTER unset: pgbouncer_exporter not run")
		return
	}
	h := &Handle{cfg: Config{PoolerExporterImage: PoolerExporterImage}, poolerStats: stack.SecretKeyRef{Name: "x", Key: "password"}}
	c := h.poolerExporter()
	var dsn string
	for _, e := range c.Env {
		if e.Name == "PGBOUNCER_EXPORTER_CONNECTION_STRING" {
			dsn = e.Value
		}
	}
	// What the kubelet does: expand $(VAR) from the variable above it.
	dsn = strings.Replace(dsn, "$("+passwordVar(poolerStatsUser)+")", password, 1)
	dsn = strings.Replace(dsn, fmt.Sprintf("port=%d", Port), fmt.Sprintf("port=%d", port), 1)
	mport := freePort(t)
	cmd := exec.Command(bin, fmt.Sprintf("--web.listen-address=127.0.0.1:%d", mport))
	cmd.Env = append(os.Environ(), "PGBOUNCER_EXPORTER_CONNECTION_STRING="+dsn)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // stop signals the group
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop(cmd) })
	waitPort(t, mport)
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", mport))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"pgbouncer_up 1", "pgbouncer_pools_client_maxwait_seconds{", "pgbouncer_pools_client_waiting_connections{", "pgbouncer_used_clients ", "pgbouncer_config_max_client_connections "} {
		if !strings.Contains(string(body), want) {
			t.Errorf("pgbouncer_exporter's /metrics lacks %q", want)
		}
	}
}
