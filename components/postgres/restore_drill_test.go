package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/iotstack/iotstack/components/backup"
	"github.com/iotstack/iotstack/internal/s3test"
)

// The restore, proven for real: Debian's PostgreSQL 15 archives its WAL
// and takes a base backup into a real S3 server (versitygw on loopback),
// rows are written, the time is noted (with a zone offset), the rows are
// deleted, and a fresh data directory restored to the noted time has
// them back. WAL-G (what Spilo runs) cannot be obtained here (the module
// proxy refuses it), so the nearest real tool does the transfers:
// barman-cloud (Debian's barman-cli-cloud, boto3), against the same
// server and protocol (S3, path style, SigV4). What comes from the
// rendered configuration: the archive's location (WALG_S3_PREFIX),
// endpoint and region from the StatefulSet's variables, and the
// restored server's whole postgresql.conf (DrillConf, with the target
// time formatted by RecoveryTargetTime as CLONE_TARGET_TIME is). See the
// README ("Backups and restore") for what differs from Spilo and WAL-G.
func TestRestoreToPointInTime(t *testing.T) {
	requirePostgres(t)
	requireBarman(t)
	srv := s3test.Start(t)

	// The configuration the cluster would run with, for this server.
	cfg := Config{Backup: Backup{Enabled: true, Store: backup.Store{Bucket: srv.Bucket, Endpoint: srv.Endpoint, Region: srv.Region}}}
	_, _, out := synth(t, cfg)
	var rendered map[string]string
	for _, o := range out.Objects {
		if set, ok := o.Object.(*appsv1.StatefulSet); ok {
			rendered = map[string]string{}
			for _, e := range set.Spec.Template.Spec.Containers[0].Env {
				rendered[e.Name] = e.Value
			}
		}
	}
	archive, endpoint := rendered["WALG_S3_PREFIX"], rendered["AWS_ENDPOINT"]
	if !strings.HasPrefix(archive, "s3://"+srv.Bucket+"/") || endpoint != srv.Endpoint || rendered["AWS_REGION"] != srv.Region {
		t.Fatalf("rendered WALG_S3_PREFIX %q, AWS_ENDPOINT %q, AWS_REGION %q do not point at the test server", archive, endpoint, rendered["AWS_REGION"])
	}
	// barman-cloud keeps <destination>/<server name>/{base,wals}; WAL-G
	// keeps <WALG_S3_PREFIX>/{basebackups_005,wal_005}. The test's server
	// name is the cluster's, below the rendered prefix.
	const server = "postgres"
	env := append(os.Environ(), srv.Env()...)
	barman := func(args ...string) []string {
		return append([]string{"--endpoint-url", endpoint}, args...)
	}

	dir := serverDir(t)
	primary := filepath.Join(dir, "primary")
	run := filepath.Join(dir, "run")
	for _, d := range []string{run, filepath.Join(dir, "restored-run")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	initdb := asServer(t, dir, filepath.Join(pgBin, "initdb"), "-D", primary, "-U", "postgres", "--auth=trust", "-E", "UTF8")
	if b, err := initdb.CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, b)
	}
	port := freePort(t)
	archiveCommand := "barman-cloud-wal-archive " + strings.Join(barman(archive, server, "%p"), " ")
	pg := asServer(t, dir, filepath.Join(pgBin, "postgres"), "-D", primary,
		"-c", fmt.Sprintf("port=%d", port), "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="+run,
		"-c", "wal_level=replica", "-c", "archive_mode=on", "-c", "archive_command="+archiveCommand,
		// Spilo's archive_timeout (configure_spilo.py, 4.0-p3).
		"-c", "archive_timeout=1800s")
	pg.Env = env
	logPrimary := logTo(t, pg, filepath.Join(dir, "primary.log"))
	if err := pg.Start(); err != nil {
		t.Fatal(err)
	}
	defer stop(pg)
	waitPort(t, port)
	sql := func(socketDir, query string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		b, err := exec.CommandContext(ctx, "psql", "-h", socketDir, "-p", fmt.Sprint(port), "-U", "postgres", "-d", "postgres", "-XAtqv", "ON_ERROR_STOP=1", "-c", query).CombinedOutput()
		if err != nil {
			t.Fatalf("psql %q: %v\n%s", query, err, b)
		}
		return strings.TrimSpace(string(b))
	}
	sql(run, "CREATE TABLE telemetry (id int PRIMARY KEY, v text); INSERT INTO telemetry SELECT g, 'before the backup' FROM generate_series(1, 500) g")

	// The base backup (as barman-cloud-backup reads PGDATA, as root here).
	start := time.Now()
	command(t, env, "barman-cloud-backup", barman("--host", run, "--port", fmt.Sprint(port), "--user", "postgres", archive, server)...)
	t.Logf("base backup: %s", time.Since(start).Round(time.Millisecond))

	sql(run, "INSERT INTO telemetry SELECT g, 'after the backup' FROM generate_series(501, 1500) g")
	// The noted time, in a zone with an offset (not UTC), as an operator
	// would write it.
	zone := time.FixedZone("UTC+01", 3600)
	noted := time.Now().In(zone)
	time.Sleep(20 * time.Millisecond) // the DELETE commits strictly after the noted time
	sql(run, "DELETE FROM telemetry")
	if n := sql(run, "SELECT count(*) FROM telemetry"); n != "0" {
		t.Fatalf("%s rows after DELETE", n)
	}
	// Archive the segment holding the DELETE, and wait (bounded) for it.
	seg := sql(run, "SELECT pg_walfile_name(pg_switch_wal())")
	deadline := time.Now().Add(3 * time.Minute)
	for sql(run, "SELECT coalesce(last_archived_wal, '') >= '"+seg+"' FROM pg_stat_archiver") != "t" {
		if time.Now().After(deadline) {
			t.Fatalf("segment %s not archived within 3 minutes; pg_stat_archiver: %s\n%s", seg, sql(run, "SELECT * FROM pg_stat_archiver"), logPrimary())
		}
		time.Sleep(200 * time.Millisecond)
	}
	stop(pg)
	keys, err := srv.List("")
	if err != nil {
		t.Fatal(err)
	}
	prefix := strings.TrimPrefix(archive, "s3://"+srv.Bucket+"/") + "/" + server + "/"
	var wals, base int
	for _, k := range keys {
		switch {
		case strings.HasPrefix(k, prefix+"wals/"):
			wals++
		case strings.HasPrefix(k, prefix+"base/"):
			base++
		default:
			t.Errorf("object %s outside the rendered prefix %s", k, prefix)
		}
	}
	if wals == 0 || base == 0 {
		t.Fatalf("archive holds %d WAL and %d base backup objects under %s: %v", wals, base, prefix, keys)
	}

	// Restore into a fresh directory, to the noted time.
	var list struct {
		Backups []struct {
			ID string `json:"backup_id"`
		} `json:"backups_list"`
	}
	if err := json.Unmarshal([]byte(command(t, env, "barman-cloud-backup-list", barman("--format", "json", archive, server)...)), &list); err != nil || len(list.Backups) != 1 {
		t.Fatalf("backup list: %v, %+v", err, list)
	}
	restored := filepath.Join(dir, "restored")
	began := time.Now()
	command(t, env, "barman-cloud-restore", barman(archive, server, list.Backups[0].ID, restored)...)
	fetched := time.Since(began)
	restoreRun := filepath.Join(dir, "restored-run")
	restoreCommand := "barman-cloud-wal-restore " + strings.Join(barman(archive, server, "%f", "%p"), " ")
	conf := DrillConf(restoreRun, restoreCommand, RecoveryTargetTime(noted)) + fmt.Sprintf("port = %d\n", port)
	for name, data := range map[string]string{
		filepath.Join(restored, "postgresql.conf"):      conf,
		filepath.Join(restored, "postgresql.auto.conf"): "",
		filepath.Join(restored, "recovery.signal"):      "",
		filepath.Join(restoreRun, "pg_hba.conf"):        "local all all trust\n",
	} {
		if err := os.WriteFile(name, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(restored, 0o700); err != nil {
		t.Fatal(err)
	}
	replayStart := time.Now()
	rs := asServer(t, dir, filepath.Join(pgBin, "postgres"), "-D", restored)
	rs.Env = env
	logRestored := logTo(t, rs, filepath.Join(dir, "restored.log"))
	if err := rs.Start(); err != nil {
		t.Fatal(err)
	}
	defer stop(rs)
	// Ready means recovered and promoted: hot_standby is off, so the
	// server accepts connections only after recovery (bounded wait).
	deadline = time.Now().Add(2 * time.Minute)
	for {
		b, err := exec.Command("psql", "-h", restoreRun, "-p", fmt.Sprint(port), "-U", "postgres", "-d", "postgres", "-XAtc", "SELECT pg_is_in_recovery()").CombinedOutput()
		if err == nil && strings.TrimSpace(string(b)) == "f" {
			break
		}
		// A failed recovery ends the startup process and the server.
		if log := logRestored(); strings.Contains(log, "database system is shut down") || strings.Contains(log, "exited with exit code") || time.Now().After(deadline) {
			t.Fatalf("restored server not ready (within 2 minutes): %v %s\n%s", err, b, log)
		}
		time.Sleep(100 * time.Millisecond)
	}
	replay := time.Since(replayStart)
	if n := sql(restoreRun, "SELECT count(*) FROM telemetry"); n != "1500" {
		t.Fatalf("restored to %s: %s rows, want the 1500 before the DELETE\n%s", RecoveryTargetTime(noted), n, logRestored())
	}
	if !strings.Contains(logRestored(), "recovery stopping before commit of transaction") {
		t.Errorf("the server did not stop at the target time:\n%s", logRestored())
	}
	t.Logf("restored to %s: 1500 rows back; fetch %s, replay to the target and promotion %s, recovery time %s",
		RecoveryTargetTime(noted), fetched.Round(time.Millisecond), replay.Round(time.Millisecond), (fetched + replay).Round(time.Millisecond))
}

func requireBarman(t *testing.T) {
	t.Helper()
	for _, p := range []string{"barman-cloud-backup", "barman-cloud-wal-archive", "barman-cloud-restore", "barman-cloud-wal-restore", "barman-cloud-backup-list"} {
		if _, err := exec.LookPath(p); err != nil {
			if os.Getenv("IOTSTACK_REQUIRE_TOOLS") != "" {
				t.Fatalf("%s is required (go tool mage deps installs barman-cli-cloud): %v", p, err)
			}
			t.Skipf("%s not installed (apt-get install barman-cli-cloud)", p)
		}
	}
}

// command runs a program with env (bounded) and returns its output.
func command(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, b)
	}
	return string(b)
}

// logTo sends a server's output to a file and returns a reader of it.
func logTo(t *testing.T, cmd *exec.Cmd, path string) func() string {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	cmd.Stdout, cmd.Stderr = f, f
	return func() string {
		b, _ := os.ReadFile(path)
		return string(b)
	}
}
