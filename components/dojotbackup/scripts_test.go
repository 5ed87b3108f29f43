package dojotbackup_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/iotstack/iotstack/internal/s3test"
	"github.com/iotstack/iotstack/profiles"
)

// The backup and restore scripts as small renders them, run for real:
// Debian's rclone (1.60; the image pins 1.75.0, same options) against two
// versitygw servers on loopback, one as the backup store, one standing in
// for dojot's MinIO (an S3 API with its own keys). mongodump and
// mongorestore are not in Debian: stubs stand in for them, checking the
// arguments and the password file the scripts give them and writing or
// reading the archive. What the test substitutes in the rendered
// environment: the MinIO endpoint (the in-cluster Service name becomes the
// stand-in's loopback URL), WORK and HOME (temporary directories), and the
// Secret references (the test's credentials and a password with a quote).

type rendered struct {
	scripts map[string]string // by key, from the ConfigMaps
	crons   map[string]*batchv1.CronJob
}

func render(t *testing.T, store *s3test.Server) rendered {
	t.Helper()
	p, err := profiles.Get(profiles.Small)
	if err != nil {
		t.Fatal(err)
	}
	v, err := p.Load(nil, []string{"mongodb.backup.enabled=true", "minio.backup.enabled=true", "minio.backup.retain=3",
		"backup.store.endpoint=" + store.Endpoint, "backup.store.bucket=" + store.Bucket})
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.BuildValues(v)
	if err != nil {
		t.Fatal(err)
	}
	out, err := profiles.SynthBuilt(profiles.Small, b)
	if err != nil {
		t.Fatal(err)
	}
	r := rendered{scripts: map[string]string{}, crons: map[string]*batchv1.CronJob{}}
	for _, o := range out.Objects {
		switch x := o.Object.(type) {
		case *corev1.ConfigMap:
			if strings.HasSuffix(x.Name, "-backup-scripts") {
				for k, s := range x.Data {
					r.scripts[strings.TrimSuffix(x.Name, "-backup-scripts")+"/"+k] = s
				}
			}
		case *batchv1.CronJob:
			r.crons[x.Name] = x
		}
	}
	return r
}

// env is a container's environment with Secret references resolved from
// secrets ("name/key") and the overrides applied.
func env(t *testing.T, ct corev1.Container, secrets, overrides map[string]string) []string {
	t.Helper()
	var out []string
	seen := map[string]bool{}
	for _, e := range ct.Env {
		val := e.Value
		if e.ValueFrom != nil {
			ref := e.ValueFrom.SecretKeyRef
			v, ok := secrets[ref.Name+"/"+ref.Key]
			if !ok {
				t.Fatalf("%s: no test value for Secret %s key %s", e.Name, ref.Name, ref.Key)
			}
			val = v
		}
		if o, ok := overrides[e.Name]; ok {
			val = o
		}
		seen[e.Name] = true
		out = append(out, e.Name+"="+val)
	}
	for k, v := range overrides {
		if !seen[k] {
			t.Fatalf("override %s is not in the rendered environment of %s", k, ct.Name)
		}
		_ = v
	}
	return append(out, "PATH="+os.Getenv("PATH"))
}

// container returns a container of a CronJob's pod by name.
func container(t *testing.T, cj *batchv1.CronJob, name string) corev1.Container {
	t.Helper()
	spec := cj.Spec.JobTemplate.Spec.Template.Spec
	for _, c := range append(append([]corev1.Container(nil), spec.InitContainers...), spec.Containers...) {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("%s has no container %s", cj.Name, name)
	return corev1.Container{}
}

// run runs the container's script (its Command: sh /scripts/<key>) from
// the rendered ConfigMap with env, bounded to two minutes.
func run(t *testing.T, r rendered, datastore string, ct corev1.Container, env []string) (string, error) {
	t.Helper()
	if len(ct.Command) != 2 || ct.Command[0] != "sh" || !strings.HasPrefix(ct.Command[1], "/scripts/") {
		t.Fatalf("%s: command %v", ct.Name, ct.Command)
	}
	key := datastore + "/" + strings.TrimPrefix(ct.Command[1], "/scripts/")
	script := filepath.Join(t.TempDir(), "script.sh")
	if err := os.WriteFile(script, []byte(r.scripts[key]), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", script)
	cmd.Env = env
	b, err := cmd.CombinedOutput()
	return string(b), err
}

func needRclone(t *testing.T) {
	if _, err := exec.LookPath("rclone"); err != nil {
		if os.Getenv("IOTSTACK_REQUIRE_TOOLS") != "" {
			t.Fatal("rclone is not installed (go tool mage deps installs Debian's rclone)")
		}
		t.Skip("rclone is not installed; go tool mage deps")
	}
}

// rclone runs rclone with a remote "s" for server srv.
func rclone(t *testing.T, srv *s3test.Server, args ...string) string {
	t.Helper()
	cmd := exec.Command("rclone", args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(),
		"RCLONE_CONFIG_S_TYPE=s3", "RCLONE_CONFIG_S_PROVIDER=Other", "RCLONE_CONFIG_S_ENDPOINT=" + srv.Endpoint,
		"RCLONE_CONFIG_S_ACCESS_KEY_ID=" + srv.AccessKey, "RCLONE_CONFIG_S_SECRET_ACCESS_KEY=" + srv.SecretKey, "RCLONE_CONFIG_S_REGION=" + srv.Region}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("rclone %v: %v\n%s", args, err, stderr.String())
	}
	return string(b)
}

var stamp = regexp.MustCompile(`^[0-9]{8}T[0-9]{6}Z$`)

// tops returns the first path segments under prefix in the store bucket.
func tops(t *testing.T, srv *s3test.Server, prefix string) []string {
	t.Helper()
	keys, err := srv.List(prefix)
	if err != nil {
		t.Fatal(err)
	}
	set := map[string]bool{}
	for _, k := range keys {
		first, _, _ := strings.Cut(strings.TrimPrefix(k, prefix), "/")
		set[first] = true
	}
	var out []string
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestMinIOBackupRetentionAndRestore(t *testing.T) {
	needRclone(t)
	store := s3test.Start(t)
	minio := s3test.Start(t)
	r := render(t, store)
	// MinIO's content: two buckets (image-manager keeps firmware images).
	if err := minio.CreateBucket("images"); err != nil {
		t.Fatal(err)
	}
	if err := minio.Put("fw/a.bin", []byte("firmware A")); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "b.bin")
	if err := os.WriteFile(src, []byte("image B"), 0o600); err != nil {
		t.Fatal(err)
	}
	rclone(t, minio, "copyto", src, "s:images/dev/b.bin")
	// Three older copies: with retain 3 the oldest goes.
	for _, old := range []string{"20200101T000000Z", "20200102T000000Z", "20200103T000000Z"} {
		if err := store.Put("dojot/minio/"+old+"/BUCKETS", []byte("\n")); err != nil {
			t.Fatal(err)
		}
	}
	secrets := map[string]string{"minio-auth/access-key": minio.AccessKey, "minio-auth/secret-key": minio.SecretKey,
		"minio-backup-s3/access-key-id": store.AccessKey, "minio-backup-s3/secret-access-key": store.SecretKey}
	over := map[string]string{"RCLONE_CONFIG_MINIO_ENDPOINT": minio.Endpoint, "HOME": t.TempDir(), "WORK": t.TempDir()}
	start := time.Now()
	logs, err := run(t, r, "minio", container(t, r.crons["minio-backup"], "copy"), env(t, container(t, r.crons["minio-backup"], "copy"), secrets, over))
	if err != nil {
		t.Fatalf("backup: %v\n%s", err, logs)
	}
	t.Logf("MinIO backup took %s", time.Since(start).Round(time.Millisecond))
	got := tops(t, store, "dojot/minio/")
	if len(got) != 3 || got[0] != "20200102T000000Z" || got[1] != "20200103T000000Z" || !stamp.MatchString(got[2]) {
		t.Fatalf("copies after retention %v; want the two newest old ones and a new one\n%s", got, logs)
	}
	newest := got[2]
	keys, err := store.List("dojot/minio/" + newest + "/")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"BUCKETS", "images/dev/b.bin", "iotstack-test/fw/a.bin"}
	for i := range want {
		want[i] = "dojot/minio/" + newest + "/" + want[i]
	}
	if fmt.Sprint(keys) != fmt.Sprint(want) {
		t.Fatalf("backup keys %v; want %v", keys, want)
	}

	// Lose an object and a bucket's content, then restore the latest copy.
	rclone(t, minio, "deletefile", "s:images/dev/b.bin")
	rclone(t, minio, "deletefile", "s:"+minio.Bucket+"/fw/a.bin")
	rc := r.crons["minio-restore"]
	if !*rc.Spec.Suspend {
		t.Error("minio-restore is not suspended")
	}
	rover := map[string]string{"RCLONE_CONFIG_MINIO_ENDPOINT": minio.Endpoint, "HOME": t.TempDir(), "WORK": t.TempDir()}
	start = time.Now()
	logs, err = run(t, r, "minio", container(t, rc, "restore"), env(t, container(t, rc, "restore"), secrets, rover))
	if err != nil {
		t.Fatalf("restore: %v\n%s", err, logs)
	}
	t.Logf("MinIO restore took %s", time.Since(start).Round(time.Millisecond))
	if b, err := minio.Get("fw/a.bin"); err != nil || string(b) != "firmware A" {
		t.Errorf("fw/a.bin after restore: %q, %v", b, err)
	}
	if out := rclone(t, minio, "cat", "s:images/dev/b.bin"); out != "image B" {
		t.Errorf("images/dev/b.bin after restore: %q", out)
	}
	// A backup that does not exist is an error that names it.
	rover["RESTORE"] = "20991231T000000Z"
	logs, err = run(t, r, "minio", container(t, rc, "restore"), env(t, container(t, rc, "restore"), secrets, rover))
	if err == nil || !strings.Contains(logs, "no backup 20991231T000000Z") {
		t.Errorf("restore of a missing backup: %v\n%s", err, logs)
	}
}

// stubs writes mongodump and mongorestore stand-ins into a directory and
// returns it. mongodump checks its arguments and the password file, then
// writes archive content to --archive; mongorestore checks its arguments
// and copies the archive it was given to $STUB_OUT.
func stubs(t *testing.T, password, archive string) string {
	t.Helper()
	dir := t.TempDir()
	common := `set -eu
conf=""; arch=""; gz=""; user=""; authdb=""; drop=""; excl=""
while [ $# -gt 0 ]; do
  case "$1" in
    --config) conf="$2"; shift ;;
    --archive=*) arch="${1#--archive=}" ;;
    --gzip) gz=1 ;;
    --username) user="$2"; shift ;;
    --authenticationDatabase) authdb="$2"; shift ;;
    --drop) drop=1 ;;
    --nsExclude=*) excl="$excl ${1#--nsExclude=}" ;;
  esac
  shift
done
[ -n "$gz" ] && [ -n "$arch" ] && [ "$user" = root ] && [ "$authdb" = admin ] || { echo "stub: bad arguments" >&2; exit 2; }
[ "$(cat "$conf")" = "password: '` + strings.ReplaceAll(password, "'", "''") + `'" ] || { echo "stub: bad password file: $(cat "$conf")" >&2; exit 3; }
`
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+common+body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write("mongodump", `printf '%s' '`+archive+`' > "$arch"
`)
	write("mongorestore", `[ -n "$drop" ] && [ "$excl" = " admin.* config.*" ] || { echo "stub: no --drop or nsExclude ($excl)" >&2; exit 4; }
cp "$arch" "$STUB_OUT"
`)
	return dir
}

func TestMongoDBBackupRetentionAndRestore(t *testing.T) {
	needRclone(t)
	store := s3test.Start(t)
	r := render(t, store)
	password := `it's-a-secret`
	archive := "gzip archive of every database"
	bin := stubs(t, password, archive)
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	for i := 1; i <= 7; i++ {
		if err := store.Put(fmt.Sprintf("dojot/mongodb/2020010%dT000000Z.archive.gz", i), []byte("old")); err != nil {
			t.Fatal(err)
		}
	}
	if err := store.Put("dojot/mongodb/notes.txt", []byte("not a backup: retention leaves it")); err != nil {
		t.Fatal(err)
	}
	secrets := map[string]string{"mongodb-auth/root-password": password,
		"mongodb-backup-s3/access-key-id": store.AccessKey, "mongodb-backup-s3/secret-access-key": store.SecretKey}
	work := t.TempDir()
	over := map[string]string{"HOME": t.TempDir(), "WORK": work}
	cj := r.crons["mongodb-backup"]
	start := time.Now()
	for _, name := range []string{"dump", "upload"} {
		ct := container(t, cj, name)
		logs, err := run(t, r, "mongodb", ct, env(t, ct, secrets, over))
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, logs)
		}
	}
	t.Logf("MongoDB backup (stub dump) took %s", time.Since(start).Round(time.Millisecond))
	if _, err := os.Stat(filepath.Join(work, "mongodump.yaml")); !os.IsNotExist(err) {
		t.Errorf("the password file is left on the volume: %v", err)
	}
	keys, err := store.List("dojot/mongodb/")
	if err != nil {
		t.Fatal(err)
	}
	var archives []string
	for _, k := range keys {
		if strings.HasSuffix(k, ".archive.gz") {
			archives = append(archives, strings.TrimPrefix(k, "dojot/mongodb/"))
		}
	}
	if len(archives) != 7 || archives[0] != "20200102T000000Z.archive.gz" || !stamp.MatchString(strings.TrimSuffix(archives[6], ".archive.gz")) {
		t.Fatalf("archives after retention %v; want the six newest old ones and the new one", archives)
	}
	if b, err := store.Get("dojot/mongodb/" + archives[6]); err != nil || string(b) != archive {
		t.Fatalf("uploaded archive %q, %v", b, err)
	}
	if _, err := store.Get("dojot/mongodb/notes.txt"); err != nil {
		t.Errorf("retention removed a file that is not a backup: %v", err)
	}

	// Restore the latest: fetch downloads it, mongorestore gets it.
	rc := r.crons["mongodb-restore"]
	restored := filepath.Join(t.TempDir(), "restored")
	rwork := t.TempDir()
	rover := map[string]string{"HOME": t.TempDir(), "WORK": rwork}
	for _, name := range []string{"fetch", "restore"} {
		ct := container(t, rc, name)
		e := append(env(t, ct, secrets, rover), "STUB_OUT="+restored)
		logs, err := run(t, r, "mongodb", ct, e)
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, logs)
		}
	}
	if b, err := os.ReadFile(restored); err != nil || !bytes.Equal(b, []byte(archive)) {
		t.Errorf("mongorestore got %q, %v; want the newest archive", b, err)
	}
	// A named backup restores that one.
	rover["RESTORE"] = "20200103T000000Z"
	ct := container(t, rc, "fetch")
	if logs, err := run(t, r, "mongodb", ct, env(t, ct, secrets, rover)); err != nil {
		t.Fatalf("fetch named: %v\n%s", err, logs)
	}
	if b, _ := os.ReadFile(filepath.Join(rwork, "mongodb.archive.gz")); string(b) != "old" {
		t.Errorf("named restore fetched %q", b)
	}
}
