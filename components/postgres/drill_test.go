package postgres

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/iotstack/iotstack/components/backup"
	"github.com/iotstack/iotstack/internal/s3test"
)

// walgShim answers the three WAL-G commands the drill runs (WAL-G itself
// cannot be obtained here) with barman-cloud on the same S3 server:
// backup-list --json as WAL-G v3.0.5 prints it (a JSON array of
// backup_name and time, oldest first, the time being the backup's
// metadata object's LastModified as WAL-G takes its sentinel's; nothing
// on stdout when there is no backup), backup-fetch DIR NAME and
// wal-fetch NAME PATH. DRILL_TEST_AGE shifts the listed times into the
// past, for the stale-backup case.
const walgShim = `#!/usr/bin/env python3
import datetime, json, os, subprocess, sys
import boto3
from botocore.config import Config
prefix, endpoint, server = os.environ["WALG_S3_PREFIX"], os.environ["AWS_ENDPOINT"], os.environ["DRILL_TEST_SERVER"]
base = ["--endpoint-url", endpoint, prefix, server]
args = sys.argv[1:]
if args == ["backup-list", "--json"]:
    out = subprocess.run(["barman-cloud-backup-list", "--format", "json"] + base, check=True, capture_output=True).stdout
    s3 = boto3.client("s3", endpoint_url=endpoint, config=Config(s3={"addressing_style": "path"}))
    bucket, _, key = prefix[len("s3://"):].partition("/")
    shift = datetime.timedelta(seconds=int(os.environ.get("DRILL_TEST_AGE", "0")))
    backups = []
    for b in json.loads(out)["backups_list"]:
        info = s3.head_object(Bucket=bucket, Key="%s/%s/base/%s/backup.info" % (key, server, b["backup_id"]))
        t = (info["LastModified"] - shift).astimezone(datetime.timezone.utc)
        backups.append({"backup_name": b["backup_id"], "time": t.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "wal_file_name": b.get("begin_wal", ""), "storage_name": "default"})
    backups.sort(key=lambda b: b["time"])
    if backups:
        print(json.dumps(backups))
elif len(args) == 3 and args[0] == "backup-fetch":
    os.execvp("barman-cloud-restore", ["barman-cloud-restore", "--endpoint-url", endpoint, prefix, server, args[2], args[1]])
elif len(args) == 3 and args[0] == "wal-fetch":
    os.execvp("barman-cloud-wal-restore", ["barman-cloud-wal-restore"] + base + [args[1], args[2]])
else:
    sys.exit("wal-g stand-in: unsupported command %r" % args)
`

// TestRestoreDrillScript runs the rendered drill.sh for real: PostgreSQL
// 15 archives into versitygw, a base backup is taken, more rows are
// written and archived; the drill (as the postgres user, with the
// CronJob's rendered environment) restores the newest backup and all the
// WAL after it, promotes, and reports success, the rows there. With the
// backup older than the schedule allows, or no backup at all, it fails.
func TestRestoreDrillScript(t *testing.T) {
	requirePostgres(t)
	requireBarman(t)
	srv := s3test.Start(t)
	cfg := Config{Backup: Backup{Enabled: true, Store: backup.Store{Bucket: srv.Bucket, Endpoint: srv.Endpoint, Region: srv.Region}}}
	_, _, out := synth(t, cfg)
	var script, conf string
	drillEnv := map[string]string{}
	for _, o := range out.Objects {
		switch x := o.Object.(type) {
		case *corev1.ConfigMap:
			if x.Name == "postgres-restore-drill" {
				script, conf = x.Data["drill.sh"], x.Data["postgresql.conf"]
			}
		case *batchv1.CronJob:
			for _, e := range x.Spec.JobTemplate.Spec.Template.Spec.Containers[0].Env {
				if e.ValueFrom == nil {
					drillEnv[e.Name] = e.Value
				}
			}
		}
	}
	restoreCommand := `wal-g wal-fetch "%f" "%p"`
	if conf != DrillConf("/drill/run", restoreCommand, "") {
		t.Fatalf("the rendered postgresql.conf is not DrillConf:\n%s", conf)
	}
	const server = "postgres"
	archive := drillEnv["WALG_S3_PREFIX"]
	env := append(os.Environ(), srv.Env()...)

	dir := serverDir(t)
	bin := filepath.Join(dir, "bin")
	scripts := filepath.Join(dir, "scripts")
	work := filepath.Join(dir, "drill")
	run := filepath.Join(dir, "run")
	for _, d := range []string{bin, scripts, work, run} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, data := range map[string]string{
		filepath.Join(bin, "wal-g"):               walgShim,
		filepath.Join(scripts, "drill.sh"):        script,
		filepath.Join(scripts, "postgresql.conf"): DrillConf(filepath.Join(work, "run"), restoreCommand, ""),
	} {
		if err := os.WriteFile(name, []byte(data), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	drill := func(extra ...string) (string, error) {
		cmd := asServer(t, dir, "bash", filepath.Join(scripts, "drill.sh"))
		cmd.Env = append(env, "PATH="+bin+":"+os.Getenv("PATH"), "HOME="+dir, "DRILL_PG_BIN="+pgBin, "DRILL_DIR="+work, "DRILL_SCRIPTS="+scripts, "DRILL_TEST_SERVER="+server)
		for k, v := range drillEnv {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		cmd.Env = append(cmd.Env, extra...)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		go func() { <-ctx.Done(); stop(cmd) }()
		b, err := cmd.CombinedOutput()
		return string(b), err
	}

	// No backup yet: the drill fails.
	if out, err := drill(); err == nil || !strings.Contains(out, "no base backup under "+archive) {
		t.Fatalf("drill without a backup: %v\n%s", err, out)
	}

	initdb := asServer(t, dir, filepath.Join(pgBin, "initdb"), "-D", filepath.Join(dir, "primary"), "-U", "postgres", "--auth=trust")
	if b, err := initdb.CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, b)
	}
	port := freePort(t)
	pg := asServer(t, dir, filepath.Join(pgBin, "postgres"), "-D", filepath.Join(dir, "primary"),
		"-c", fmt.Sprintf("port=%d", port), "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="+run,
		"-c", "archive_mode=on", "-c", "archive_command=barman-cloud-wal-archive --endpoint-url "+srv.Endpoint+" "+archive+" "+server+" %p")
	pg.Env = env
	logTo(t, pg, filepath.Join(dir, "primary.log"))
	if err := pg.Start(); err != nil {
		t.Fatal(err)
	}
	defer stop(pg)
	waitPort(t, port)
	sql := func(q string) string {
		t.Helper()
		b, err := exec.Command("psql", "-h", run, "-p", fmt.Sprint(port), "-U", "postgres", "-d", "postgres", "-XAtqv", "ON_ERROR_STOP=1", "-c", q).CombinedOutput()
		if err != nil {
			t.Fatalf("psql %q: %v\n%s", q, err, b)
		}
		return strings.TrimSpace(string(b))
	}
	sql("CREATE DATABASE drilled STRATEGY = FILE_COPY") // little WAL: a faster backup
	began := time.Now()
	command(t, env, "barman-cloud-backup", "--endpoint-url", srv.Endpoint, "--host", run, "--port", fmt.Sprint(port), "--user", "postgres", archive, server)
	t.Logf("base backup: %s", time.Since(began).Round(time.Millisecond))
	sql("CREATE DATABASE after_the_backup STRATEGY = FILE_COPY")
	seg := sql("SELECT pg_walfile_name(pg_switch_wal())")
	deadline := time.Now().Add(3 * time.Minute)
	for sql("SELECT coalesce(last_archived_wal, '') >= '"+seg+"' FROM pg_stat_archiver") != "t" {
		if time.Now().After(deadline) {
			t.Fatalf("segment %s not archived within 3 minutes", seg)
		}
		time.Sleep(200 * time.Millisecond)
	}
	stop(pg)

	began = time.Now()
	out1, err := drill()
	if err != nil {
		t.Fatalf("drill: %v\n%s", err, out1)
	}
	t.Logf("drill (%s):\n%s", time.Since(began).Round(time.Millisecond), out1)
	// template0, template1, postgres, drilled and the database created
	// after the backup, replayed from the archived WAL.
	if !strings.Contains(out1, "restored and consistent; databases and last replayed commit: 5|") {
		t.Errorf("the drill did not replay the WAL after the backup (5 databases):\n%s", out1)
	}

	// The newest backup a day and four hours old: older than the daily
	// schedule allows (24 h + 3 h).
	out2, err := drill("DRILL_TEST_AGE=" + fmt.Sprint(28*3600))
	if err == nil || !strings.Contains(out2, "older than the schedule allows") {
		t.Fatalf("drill with a stale backup: %v\n%s", err, out2)
	}
}
