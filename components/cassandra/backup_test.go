package cassandra

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/iotstack/iotstack/components/backup"
	"github.com/iotstack/iotstack/internal/s3test"
	"github.com/iotstack/iotstack/stack"
	"github.com/iotstack/iotstack/stack/stacktest"
)

var testStore = backup.Store{Bucket: "iot-backups", Endpoint: "http://s3.example.com"}

func withBackup(st backup.Store) Config {
	return Config{Pool: "main", Backup: Backup{Enabled: true, Store: st}}
}

func cronJobs(out *stack.Output) map[string]*batchv1.CronJob {
	m := map[string]*batchv1.CronJob{}
	for _, o := range out.Objects {
		if cj, ok := o.Object.(*batchv1.CronJob); ok {
			m[cj.Name] = cj
		}
	}
	return m
}

// TestBackupRender: one backup CronJob per node (one per zone here),
// staggered an hour apart, each pod pinned to its node's host and zone and
// mounting that node's claim read-only; a suspended restore CronJob per
// node mounting it read-write; the store's credentials Secret declared;
// the scripts parse.
func TestBackupRender(t *testing.T) {
	_, h, out := synth(t, withBackup(testStore))
	cjs := cronJobs(out)
	want := map[string]string{"cassandra-backup-a-0": "0 2 * * *", "cassandra-backup-b-0": "0 3 * * *", "cassandra-backup-c-0": "0 4 * * *"}
	for name, sched := range want {
		cj := cjs[name]
		if cj == nil {
			t.Fatalf("no CronJob %s (have %v)", name, slices.Sorted(func(yield func(string) bool) {
				for k := range cjs {
					if !yield(k) {
						return
					}
				}
			}))
		}
		if cj.Spec.Schedule != sched || *cj.Spec.TimeZone != "Etc/UTC" || cj.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent || *cj.Spec.Suspend {
			t.Errorf("%s: schedule %q tz %v policy %s suspend %v", name, cj.Spec.Schedule, *cj.Spec.TimeZone, cj.Spec.ConcurrencyPolicy, *cj.Spec.Suspend)
		}
		if d := *cj.Spec.JobTemplate.Spec.ActiveDeadlineSeconds; d != 55*60 {
			t.Errorf("%s: deadline %d s; want 55 min, inside the hour before the next zone starts", name, d)
		}
	}
	if len(h.BackupJobs()) != 3 {
		t.Fatalf("%d backup jobs", len(h.BackupJobs()))
	}
	for _, j := range h.BackupJobs() {
		for _, cj := range []*batchv1.CronJob{j.Backup, j.Restore} {
			spec := cj.Spec.JobTemplate.Spec.Template.Spec
			aff := spec.Affinity.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution
			if len(aff) != 1 || aff[0].TopologyKey != "kubernetes.io/hostname" || aff[0].LabelSelector.MatchLabels[podNameLabel] != j.Node.Pod {
				t.Errorf("%s: pod affinity %+v; want the host of %s", cj.Name, aff, j.Node.Pod)
			}
			var claim *corev1.PersistentVolumeClaimVolumeSource
			for _, v := range spec.Volumes {
				if v.PersistentVolumeClaim != nil {
					claim = v.PersistentVolumeClaim
				}
			}
			readOnly := cj == j.Backup
			if claim == nil || claim.ClaimName != "data-"+j.Node.Pod || claim.ReadOnly != readOnly {
				t.Errorf("%s: claim %+v; want data-%s read-only %v", cj.Name, claim, j.Node.Pod, readOnly)
			}
			env := map[string]corev1.EnvVar{}
			for _, e := range spec.Containers[0].Env {
				env[e.Name] = e
			}
			if got := env["REMOTE"].Value; got != "store:iot-backups/iot/cassandra/"+j.Node.Zone+"/"+j.Node.Pod {
				t.Errorf("%s: REMOTE %q", cj.Name, got)
			}
			if env["AWS_SECRET_ACCESS_KEY"].ValueFrom == nil || env["AWS_SECRET_ACCESS_KEY"].ValueFrom.SecretKeyRef.Name != "cassandra-backup-s3" {
				t.Errorf("%s: AWS_SECRET_ACCESS_KEY %+v", cj.Name, env["AWS_SECRET_ACCESS_KEY"])
			}
			if env["RCLONE_CONFIG_STORE_ENDPOINT"].Value != "http://s3.example.com" || env["RCLONE_CONFIG_STORE_REGION"].Value != "us-east-1" {
				t.Errorf("%s: rclone remote %+v", cj.Name, env)
			}
		}
		if !*j.Restore.Spec.Suspend {
			t.Errorf("%s is not suspended: it would restore on a schedule", j.Restore.Name)
		}
	}
	var declared bool
	for _, sec := range out.Secrets {
		declared = declared || (sec.Name == "cassandra-backup-s3" && len(sec.Keys) == 2)
	}
	if !declared {
		t.Error("Secret cassandra-backup-s3 is not declared")
	}
	var rules []string
	for _, r := range h.Component.Alerts() {
		rules = append(rules, r.Alert)
	}
	if !slices.Contains(rules, "CassandraBackupStale") || !slices.Contains(rules, "CassandraBackupFailed") {
		t.Errorf("alerts %v", rules)
	}
	for _, o := range out.Objects {
		if set, ok := o.Object.(*appsv1.StatefulSet); ok {
			for _, m := range set.Spec.Template.Spec.Containers[0].VolumeMounts {
				if m.Name == "data" && m.MountPath != dataDir {
					t.Errorf("%s mounts its data at %s, the backup and restore pods at %s: nodetool import would name a path the server does not have", set.Name, m.MountPath, dataDir)
				}
			}
		}
	}
	if !strings.Contains(cassandraYAML(h.cfg, nil), "data_file_directories:\n  - "+dataDir+"/data\n") {
		t.Errorf("the backup reads snapshots under %s/data, which is not the nodes' data directory", dataDir)
	}
	stacktest.CheckScripts(t, out)
	for _, script := range []string{backupScript, restoreScript} {
		for _, line := range strings.Split(script, "\n") {
			if strings.Contains(line, "PASSWORD") && !strings.Contains(line, "printf ") && !strings.HasPrefix(line, "[ -n ") {
				t.Errorf("a password is used outside printf: %s", line)
			}
		}
	}
}

// TestBackupRole: with a role, the pods run as a ServiceAccount annotated
// with it and no credentials Secret is declared or referenced.
func TestBackupRole(t *testing.T) {
	st := backup.Store{Bucket: "iot-backups", Region: "eu-west-1", RoleARN: "arn:aws:iam::123456789012:role/iot-backup"}
	_, h, out := synth(t, withBackup(st))
	for _, sec := range out.Secrets {
		if sec.Name == "cassandra-backup-s3" {
			t.Error("a credentials Secret is declared although a role is set")
		}
	}
	var sa *corev1.ServiceAccount
	for _, o := range out.Objects {
		if x, ok := o.Object.(*corev1.ServiceAccount); ok && x.Name == "cassandra-backup" {
			sa = x
		}
	}
	if sa == nil || sa.Annotations[backup.RoleARNAnnotation] != st.RoleARN {
		t.Fatalf("ServiceAccount %+v", sa)
	}
	spec := h.BackupJobs()[0].Backup.Spec.JobTemplate.Spec.Template.Spec
	if spec.ServiceAccountName != "cassandra-backup" {
		t.Errorf("serviceAccountName %q", spec.ServiceAccountName)
	}
	for _, e := range spec.Containers[0].Env {
		if e.Name == "AWS_ACCESS_KEY_ID" || e.Name == "RCLONE_CONFIG_STORE_ENDPOINT" {
			t.Errorf("env %s set with a role on AWS S3", e.Name)
		}
		if e.Name == "RCLONE_CONFIG_STORE_PROVIDER" && e.Value != "AWS" {
			t.Errorf("provider %q", e.Value)
		}
	}
}

func TestBackupValidation(t *testing.T) {
	cases := []struct {
		name string
		b    Backup
		want string
	}{
		{"no store", Backup{Enabled: true}, "cassandra: backup.enabled is true but backup.store.bucket is empty"},
		{"bad store", Backup{Enabled: true, Store: backup.Store{Bucket: "IoT", Region: "us-east-1"}}, `cassandra: backup.store: bucket: "IoT"`},
		{"not cron", Backup{Enabled: true, Store: testStore, Schedule: "daily"}, `cassandra: backup.schedule "daily": not a cron schedule`},
		{"ranges", Backup{Enabled: true, Store: testStore, Schedule: "*/30 * * * *"}, `its minute and hour must be single numbers`},
		{"descriptor", Backup{Enabled: true, Store: testStore, Schedule: "@daily"}, `its minute and hour must be single numbers`},
		{"past midnight", Backup{Enabled: true, Store: testStore, Schedule: "0 22 * * *"}, `the last of 3 zones would start at 00:00`},
		{"stagger", Backup{Enabled: true, Store: testStore, StaggerMinutes: 5}, "cassandra: backup.staggerMinutes 5; allowed 15 to 720"},
		{"retain unit", Backup{Enabled: true, Store: testStore, Retain: "7 days"}, `cassandra: backup.retain "7 days"; allowed: a whole number of days or hours`},
		{"retain short", Backup{Enabled: true, Store: testStore, Retain: "12h"}, `cassandra: backup.retain "12h"; allowed 24h to 3650d`},
		{"image", Backup{Enabled: true, Store: testStore, UploaderImage: "rclone/rclone"}, "backup.uploaderImage"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stacktest.Rejects(t, func(s *stack.Stack) error { _, err := New(s, Config{Backup: tc.b}); return err }, tc.want)
		})
	}
	// Off, nothing is checked and nothing rendered.
	_, h, _ := synth(t, Config{Backup: Backup{Schedule: "nonsense"}})
	if len(h.BackupJobs()) != 0 {
		t.Error("backup jobs rendered while backups are off")
	}
}

// The stale alert's gap comes from backup.MaxInterval.
func TestLongestGap(t *testing.T) {
	for sched, want := range map[string]time.Duration{"0 2 * * *": 24 * time.Hour, "30 3 * * 0": 7 * 24 * time.Hour, "0 1 1 * *": 31 * 24 * time.Hour} {
		if got, err := backup.MaxInterval(sched); err != nil || got != want {
			t.Errorf("%s: %v %v; want %v", sched, got, err, want)
		}
	}
}

// stubNodetool acts on a data directory like Cassandra's nodetool would
// on the node's (snapshot hard-links every table's files into
// snapshots/TAG with a schema.cql and manifest.json; clearsnapshot removes
// them; import moves SSTables into the live table), and records its
// arguments and the password file it was given.
const stubNodetool = `#!/bin/bash
set -euo pipefail
S="$STUB_STATE"
echo "$*" >> "$S/argv"
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    -h|-p|-u) shift 2 ;;
    -pwf) cat "$2" >> "$S/pwf"; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
set -- "${args[@]}"
case "$1" in
  flush) ;;
  snapshot)
    [ "$2" = -t ] || { echo "stub: snapshot without -t" >&2; exit 2; }
    for t in "$STUB_DATA"/*/*/; do
      t="${t%/}"
      mkdir -p "$t/snapshots/$3"
      for f in "$t"/*; do [ -f "$f" ] && ln "$f" "$t/snapshots/$3/"; done
      echo "CREATE TABLE $(basename "$(dirname "$t")").x (k int PRIMARY KEY);" > "$t/snapshots/$3/schema.cql"
      echo '{"files":[]}' > "$t/snapshots/$3/manifest.json"
    done ;;
  clearsnapshot)
    [ "$2" = -t ] || { echo "stub: clearsnapshot without -t" >&2; exit 2; }
    rm -rf "$STUB_DATA"/*/*/snapshots/"$3" ;;
  import)
    live=("$STUB_DATA/$2/$3"-*)
    [ -d "${live[0]}" ] || { echo "stub: no table $2.$3" >&2; exit 1; }
    for f in "$4"/*; do
      case "$(basename "$f")" in *.db|*.txt|*.crc32) mv "$f" "${live[0]}/" ;; *) echo "stub: import of non-SSTable $f" >&2; exit 1 ;; esac
    done ;;
  *) echo "stub: unexpected nodetool $*" >&2; exit 2 ;;
esac
`

// TestBackupRestoreS3 runs the rendered backup and restore scripts with
// the environment the CronJobs give them, Debian's rclone and a real S3
// server (versitygw on loopback), and a stub nodetool: the snapshot's files
// are uploaded with a MANIFEST, the snapshot is cleared, uploads older
// than the retention are deleted and others kept; after the table's files
// are lost, the restore brings back the same bytes; a corrupted upload is
// refused.
func TestBackupRestoreS3(t *testing.T) {
	rclone, err := exec.LookPath("rclone")
	if err != nil {
		if os.Getenv("IOTSTACK_REQUIRE_TOOLS") != "" {
			t.Fatal("rclone is not installed (apt-get install rclone)")
		}
		t.Skip("rclone is not installed (apt-get install rclone)")
	}
	srv := s3test.Start(t)
	st := backup.Store{Bucket: srv.Bucket, Endpoint: srv.Endpoint, Prefix: "prod"}
	_, h, _ := synth(t, withBackup(st))
	job := h.BackupJobs()[0]

	dir := t.TempDir()
	data := filepath.Join(dir, "cassandra", "data")
	state := filepath.Join(dir, "state")
	bin := filepath.Join(dir, "bin")
	for _, d := range []string{state, bin} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(bin, "nodetool"), []byte(stubNodetool), 0o755); err != nil {
		t.Fatal(err)
	}
	scripts := filepath.Join(dir, "scripts")
	os.MkdirAll(scripts, 0o755)
	os.WriteFile(filepath.Join(scripts, "backup.sh"), []byte(backupScript), 0o755)
	os.WriteFile(filepath.Join(scripts, "restore.sh"), []byte(restoreScript), 0o755)

	// Tables: ThingsBoard's time series (two SSTable generations, one
	// file a month old: retention must not go by file dates) and a system
	// table, which the restore leaves alone by default.
	table := filepath.Join(data, "thingsboard", "ts_kv_cf-0123456789abcdef0123456789abcdef")
	system := filepath.Join(data, "system", "local-7ad54392bcdd35a684174e047860b377")
	want := map[string][]byte{}
	for _, f := range []string{"nb-1-big-Data.db", "nb-1-big-Index.db", "nb-1-big-TOC.txt", "nb-2-big-Data.db", "nb-2-big-Digest.crc32"} {
		b := make([]byte, 256<<10)
		rand.Read(b)
		want[f] = b
		os.MkdirAll(table, 0o755)
		if err := os.WriteFile(filepath.Join(table, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().AddDate(0, -1, 0)
	os.Chtimes(filepath.Join(table, "nb-1-big-Data.db"), old, old)
	os.MkdirAll(system, 0o755)
	os.WriteFile(filepath.Join(system, "nb-1-big-Data.db"), []byte("local"), 0o644)
	// A snapshot left by a backup that was killed: the next one clears it.
	leftover := filepath.Join(table, "snapshots", "iotstack-20200101T000000Z")
	os.MkdirAll(leftover, 0o755)
	os.WriteFile(filepath.Join(leftover, "nb-0-big-Data.db"), []byte("old"), 0o644)

	// Earlier uploads: one past the retention (deleted), one within it
	// (kept), and an incomplete one newer than the backup (no MANIFEST:
	// the restore must not pick it).
	key := func(tag, rest string) string { return job.Prefix + "/" + tag + "/" + rest }
	recent := "iotstack-" + time.Now().UTC().Add(-48*time.Hour).Format("20060102T150405Z")
	for _, k := range []string{key("iotstack-20200101T000000Z", "MANIFEST"), key("iotstack-20200101T000000Z", "thingsboard/t-1/nb-1-big-Data.db"),
		key(recent, "MANIFEST"), key("iotstack-29990101T000000Z", "thingsboard/t-1/nb-1-big-Data.db")} {
		if err := srv.Put(k, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}

	env := func(cj *batchv1.CronJob) []string {
		// A clean environment: only what the pod has (the machine's
		// AWS_* or proxy settings would change what rclone does).
		out := append([]string{}, "PATH="+bin+":"+os.Getenv("PATH"), "STUB_STATE="+state, "STUB_DATA="+data, "HOME="+dir,
			"AWS_ACCESS_KEY_ID="+srv.AccessKey, "AWS_SECRET_ACCESS_KEY="+srv.SecretKey, "JMX_CONTROL_PASSWORD=jmxControl1Pw")
		for _, e := range cj.Spec.JobTemplate.Spec.Template.Spec.Containers[0].Env {
			switch {
			case e.ValueFrom != nil:
				// Secrets and the restore ConfigMap: set above or unset.
			case e.Name == "RCLONE":
				out = append(out, "RCLONE="+rclone)
			case e.Name == "DATA_DIR":
				out = append(out, "DATA_DIR="+data)
			case e.Name == "HOME":
			default:
				out = append(out, e.Name+"="+e.Value)
			}
		}
		return out
	}
	run := func(cj *batchv1.CronJob, script string, extra ...string) (string, error) {
		cmd := exec.Command("bash", filepath.Join(scripts, script))
		cmd.Env = append(env(cj), extra...)
		b, err := cmd.CombinedOutput()
		return string(b), err
	}

	start := time.Now()
	out, err := run(job.Backup, "backup.sh")
	if err != nil {
		t.Fatalf("backup.sh: %v\n%s", err, out)
	}
	t.Logf("backup of %d files took %s", len(want)+1, time.Since(start).Round(time.Millisecond))
	keys, err := srv.List(job.Prefix + "/")
	if err != nil {
		t.Fatal(err)
	}
	var tag string
	for _, k := range keys {
		if rest, ok := strings.CutPrefix(k, job.Prefix+"/"); ok && strings.HasSuffix(rest, "/MANIFEST") && !strings.HasPrefix(rest, recent) {
			tag = strings.TrimSuffix(rest, "/MANIFEST")
		}
	}
	if tag == "" {
		t.Fatalf("no new MANIFEST under %s: %v\n%s", job.Prefix, keys, out)
	}
	for f, b := range want {
		got, err := srv.Get(key(tag, "thingsboard/"+filepath.Base(table)+"/"+f))
		if err != nil || !bytes.Equal(got, b) {
			t.Errorf("uploaded %s: %v, %d bytes; want %d", f, err, len(got), len(b))
		}
	}
	manifest, _ := srv.Get(key(tag, "MANIFEST"))
	sum := sha256.Sum256(want["nb-2-big-Data.db"])
	if !strings.Contains(string(manifest), fmt.Sprintf("%x  thingsboard/%s/nb-2-big-Data.db\n", sum, filepath.Base(table))) {
		t.Errorf("MANIFEST lacks nb-2-big-Data.db's checksum:\n%s", manifest)
	}
	joined := strings.Join(keys, "\n")
	if strings.Contains(joined, "iotstack-20200101T000000Z") {
		t.Errorf("the upload past the retention was not deleted:\n%s", joined)
	}
	if !strings.Contains(joined, recent+"/MANIFEST") || !strings.Contains(joined, "iotstack-29990101T000000Z/") {
		t.Errorf("uploads within the retention were deleted:\n%s", joined)
	}
	if left, _ := filepath.Glob(filepath.Join(data, "*", "*", "snapshots", "*")); len(left) != 0 {
		t.Errorf("snapshots left on the node: %v", left)
	}
	argv, _ := os.ReadFile(filepath.Join(state, "argv"))
	for _, w := range []string{"-h " + job.Node.Host + " -p 7199 -u controlRole -pwf ", " flush\n", " snapshot -t " + tag + "\n", " clearsnapshot -t " + tag + "\n", " clearsnapshot -t iotstack-20200101T000000Z\n"} {
		if !strings.Contains(string(argv), w) {
			t.Errorf("nodetool was not called with %q:\n%s", w, argv)
		}
	}

	// A backup whose upload fails (the store refuses the credentials)
	// fails, writes no MANIFEST and still clears its snapshot.
	before, _ := srv.List(job.Prefix + "/")
	out, err = run(job.Backup, "backup.sh", "AWS_SECRET_ACCESS_KEY=wrong")
	if err == nil {
		t.Errorf("backup.sh succeeded with wrong credentials:\n%s", out)
	}
	if after, _ := srv.List(job.Prefix + "/"); len(after) != len(before) {
		t.Errorf("a failed backup uploaded %d objects", len(after)-len(before))
	}
	if left, _ := filepath.Glob(filepath.Join(data, "*", "*", "snapshots", "*")); len(left) != 0 {
		t.Errorf("a failed backup left snapshots on the node: %v", left)
	}

	// A node's table is lost; the restore (latest complete backup)
	// brings the same bytes back and leaves the system keyspace alone.
	for f := range want {
		os.Remove(filepath.Join(table, f))
	}
	os.WriteFile(filepath.Join(system, "nb-1-big-Data.db"), []byte("local, newer"), 0o644)
	start = time.Now()
	out, err = run(job.Restore, "restore.sh")
	if err != nil {
		t.Fatalf("restore.sh: %v\n%s", err, out)
	}
	t.Logf("restore took %s:\n%s", time.Since(start).Round(time.Millisecond), out)
	for f, b := range want {
		got, err := os.ReadFile(filepath.Join(table, f))
		if err != nil || !bytes.Equal(got, b) {
			t.Errorf("restored %s: %v, %d bytes; want the %d bytes backed up", f, err, len(got), len(b))
		}
	}
	if b, _ := os.ReadFile(filepath.Join(system, "nb-1-big-Data.db")); string(b) != "local, newer" {
		t.Errorf("the system keyspace was restored: %q", b)
	}
	if !strings.Contains(out, "restored 1 tables of "+tag) {
		t.Errorf("restore picked another backup than %s:\n%s", tag, out)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "cassandra", "restore", "*")); len(left) != 0 {
		t.Errorf("the download was left on the volume: %v", left)
	}
	// Keyspaces named in RESTORE_KEYSPACES, system ones included, and
	// only those.
	out, err = run(job.Restore, "restore.sh", "RESTORE_TAG="+tag, "RESTORE_KEYSPACES=system")
	if err != nil || !strings.Contains(out, "importing system.local\n") || strings.Contains(out, "importing thingsboard") {
		t.Errorf("restore of keyspace system: %v\n%s", err, out)
	}
	if b, _ := os.ReadFile(filepath.Join(system, "nb-1-big-Data.db")); string(b) != "local" {
		t.Errorf("system.local holds %q after its restore; want the backed-up %q", b, "local")
	}

	// An upload altered in the store is refused before anything is
	// imported; so are a tag that is not complete and a malformed one.
	if err := srv.Put(key(tag, "thingsboard/"+filepath.Base(table)+"/nb-2-big-Data.db"), []byte("tampered")); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(state, "argv"))
	for _, tc := range []struct{ tag, want string }{
		{tag, "FAILED"},
		{"iotstack-29990101T000000Z", "is not complete"},
		{"../x", "not a backup tag"},
	} {
		out, err = run(job.Restore, "restore.sh", "RESTORE_TAG="+tc.tag)
		if err == nil || !strings.Contains(out, tc.want) {
			t.Errorf("restore of %s: %v; want a failure saying %q:\n%s", tc.tag, err, tc.want, out)
		}
	}
	if argv, _ := os.ReadFile(filepath.Join(state, "argv")); strings.Contains(string(argv), "import") {
		t.Errorf("a refused restore imported:\n%s", argv)
	}
	pwf, _ := os.ReadFile(filepath.Join(state, "pwf"))
	if !strings.HasPrefix(string(pwf), "controlRole jmxControl1Pw\n") {
		t.Errorf("nodetool's password file holds %q", pwf)
	}
	if strings.Contains(string(argv), "jmxControl1Pw") || strings.Contains(out, "jmxControl1Pw") || strings.Contains(out, srv.SecretKey) {
		t.Error("a password appears in an argument or the output")
	}
}

func FuzzBackup(f *testing.F) {
	f.Add(true, "0 2 * * *", 60, "7d", "iot-backups")
	f.Add(true, "", 0, "", "")
	f.Add(true, "59 23 * * 0", 720, "3650d", "b..x")
	f.Fuzz(func(t *testing.T, enabled bool, schedule string, stagger int, retain, bucket string) {
		b := Backup{Enabled: enabled, Schedule: schedule, StaggerMinutes: stagger, Retain: retain, Store: backup.Store{Bucket: bucket, Region: "eu-west-1"}}
		stacktest.AcceptedSynthesizes(t, func(s *stack.Stack) error { _, err := New(s, Config{Backup: b}); return err })
	})
}
