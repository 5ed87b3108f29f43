package thingsboard

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// These tests run the rendered install Job's and services' scripts
// against a real PostgreSQL 15 (Debian's postgresql-15; `go tool mage
// deps` installs it) on loopback. The one stand-in is start-tb-node.sh,
// the ThingsBoard installer (a Java application not available here): a
// stub that records the release in tb_schema_settings the way
// ThingsBoard 4.3.1 does (DefaultDatabaseSchemaSettingsService) and
// logs the installer's success line.

const pgBin = "/usr/lib/postgresql/15/bin"

const pgPassword = "Tb-test-1"

// startPostgres starts a server with SCRAM authentication and superuser
// postgres (as the postgres user when the test runs as root) and
// returns its port; it is stopped when the test ends.
func startPostgres(t *testing.T) int {
	t.Helper()
	if _, err := os.Stat(filepath.Join(pgBin, "initdb")); err != nil {
		if os.Getenv("IOTSTACK_REQUIRE_TOOLS") != "" {
			t.Fatalf("postgresql-15 is required (go tool mage deps installs it): %v", err)
		}
		t.Skip("postgresql-15 not installed; `go tool mage deps` installs it")
	}
	if _, err := exec.LookPath("psql"); err != nil {
		t.Skip("psql not installed")
	}
	dir, err := os.MkdirTemp("", "iotstack-tb-pg-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.WriteFile(filepath.Join(dir, "pw"), []byte(pgPassword+"\n"), 0o644)
	run := func(name string, args ...string) *exec.Cmd {
		var cmd *exec.Cmd
		if os.Geteuid() == 0 {
			exec.Command("chown", "-R", "postgres:postgres", dir).Run()
			cmd = exec.Command("runuser", append([]string{"-u", "postgres", "--", name}, args...)...)
		} else {
			cmd = exec.Command(name, args...)
		}
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		cmd.WaitDelay = 5 * time.Second
		return cmd
	}
	data := filepath.Join(dir, "data")
	if out, err := run(filepath.Join(pgBin, "initdb"), "-D", data, "-U", "postgres", "--pwfile", filepath.Join(dir, "pw"), "--auth=scram-sha-256").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := run(filepath.Join(pgBin, "postgres"), "-D", data, "-p", fmt.Sprint(port), "-k", dir, "-c", "listen_addresses=127.0.0.1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	})
	for i := 0; ; i++ {
		if _, err := sql(port, "postgres", "SELECT 1"); err == nil {
			break
		} else if i == 100 {
			t.Fatalf("PostgreSQL did not start: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return port
}

func sql(port int, db, query string) (string, error) {
	cmd := exec.Command("psql", "-h", "127.0.0.1", "-p", fmt.Sprint(port), "-U", "postgres", "-d", db, "-v", "ON_ERROR_STOP=1", "-tAc", query)
	cmd.Env = append(os.Environ(), "PGPASSWORD="+pgPassword, "PGCONNECT_TIMEOUT=5")
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// stubInstaller is start-tb-node.sh for release version: it writes the
// record as ThingsBoard 4.3.1 does (the table with its product column
// from schema-entities.sql; INSERT on install, UPDATE as the upgrade's
// last step) and logs its success line; it logs what it was asked to do.
func stubInstaller(t *testing.T, dir, version string) {
	t.Helper()
	n, err := SchemaVersion(version)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "start-tb-node.sh"), fmt.Sprintf(`#!/bin/bash
set -e
echo "stub start-tb-node.sh INSTALL_TB=${INSTALL_TB:-} UPGRADE_TB=${UPGRADE_TB:-} FROM_VERSION=${FROM_VERSION:-} SKIP_SCHEMA_VERSION_CHECK=${SKIP_SCHEMA_VERSION_CHECK:-} LOAD_DEMO=${LOAD_DEMO:-}"
if [ "${INSTALL_TB:-}" = true ]; then
  psql -v ON_ERROR_STOP=1 -qc "CREATE TABLE tb_schema_settings (schema_version bigint NOT NULL, product varchar(2) NOT NULL, CONSTRAINT tb_schema_settings_pkey PRIMARY KEY (schema_version)); INSERT INTO tb_schema_settings VALUES (%[1]d, 'CE')"
  echo "Installation finished successfully!"
elif [ "${UPGRADE_TB:-}" = true ]; then
  psql -v ON_ERROR_STOP=1 -qc "UPDATE tb_schema_settings SET schema_version = %[1]d"
  echo "Upgrade finished successfully!"
fi
`, n))
}

// jobScripts renders minimal-3az's ThingsBoard with cfg and returns the
// install Job and the tb-core Deployment.
func rendered(t *testing.T, cfg Config) (*batchv1.Job, *appsv1.Deployment) {
	t.Helper()
	cfg.Pool = "main"
	_, _, out := build(t, cfg)
	var job *batchv1.Job
	var core *appsv1.Deployment
	for _, o := range out.Objects {
		switch x := o.Object.(type) {
		case *batchv1.Job:
			if strings.HasPrefix(x.Name, "tb-") {
				job = x
			}
		case *appsv1.Deployment:
			if x.Name == string(Core) {
				core = x
			}
		}
	}
	if job == nil || core == nil {
		t.Fatal("no install Job or tb-core Deployment rendered")
	}
	return job, core
}

// runContainer runs a rendered container's bash script on this machine
// with its literal env, the database on loopback, and the pod paths
// (/state, /tmp) moved to dir.
func runContainer(t *testing.T, c corev1.Container, port int, dir string, extra ...string) (string, error) {
	t.Helper()
	script := c.Command[2]
	script = strings.NewReplacer("/state/", dir+"/", "/tmp/", dir+"/").Replace(script)
	env := []string{"PATH=" + dir + ":/usr/bin:/bin", "HOME=" + dir}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			env = append(env, e.Name+"="+e.Value)
		}
	}
	env = append(env, "PGHOST=127.0.0.1", fmt.Sprintf("PGPORT=%d", port), "PGUSER=postgres", "PGPASSWORD="+pgPassword)
	env = append(env, extra...)
	cmd := exec.Command("bash", "-c", script)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestInstallUpgradeAgainstPostgres runs the rendered plan (init
// container), run (tb-node container) and wait-for-schema (tb-core init
// container) scripts against a real PostgreSQL for each state a
// database can be in.
func TestInstallUpgradeAgainstPostgres(t *testing.T) {
	port := startPostgres(t)
	type step struct {
		version, upgradeFrom string
		record               string // schema_version before; "" no table, "empty" a table without a row
		plan                 string // the plan written; "" refused
		planSays             string
		installer            string // what the stub was asked, "" not run
		after                string // schema_version after
	}
	cases := []struct {
		name string
		step
	}{
		{"fresh database: install", step{version: "4.3.1", plan: "install", planSays: "not installed", installer: "INSTALL_TB=true UPGRADE_TB= FROM_VERSION= SKIP_SCHEMA_VERSION_CHECK= LOAD_DEMO=true", after: "4003001000"}},
		{"4.2.1 recorded, 4.3.1 wanted: upgrade from 4.2.1", step{version: "4.3.1", record: "4002001", plan: "upgrade 4.2.1", planSays: "records ThingsBoard 4.2.1: upgrading to 4.3.1", installer: "INSTALL_TB= UPGRADE_TB=true FROM_VERSION=4.2.1 SKIP_SCHEMA_VERSION_CHECK=", after: "4003001000"}},
		{"4.3.1 patch release over 4.3.1", step{version: "4.3.1.3", record: "4003001000", plan: "upgrade 4.3.1", planSays: "upgrading to 4.3.1.3", installer: "UPGRADE_TB=true FROM_VERSION=4.3.1 ", after: "4003001003"}},
		{"same version: nothing", step{version: "4.3.1", record: "4003001000", plan: "none", planSays: "installed already: nothing to do", after: "4003001000"}},
		{"newer recorded: downgrade refused", step{version: "4.2.1", record: "4003001000", planSays: "records ThingsBoard 4.3.1, newer than 4.2.1: refusing a downgrade", after: "4003001000"}},
		{"half-done install refused", step{version: "4.3.1", record: "empty", planSays: "records no version"}},
		{"upgradeFrom forces a rerun", step{version: "4.3.1", upgradeFrom: "4.2.2", record: "4003001000", plan: "upgrade 4.2.2 force", planSays: "upgradeFrom 4.2.2", installer: "UPGRADE_TB=true FROM_VERSION=4.2.2 SKIP_SCHEMA_VERSION_CHECK=true", after: "4003001000"}},
		{"upgradeFrom with nothing installed refused", step{version: "4.3.1", upgradeFrom: "4.2.2", planSays: "nothing to upgrade"}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			db := fmt.Sprintf("tb%d", i)
			if _, err := sql(port, "postgres", "CREATE DATABASE "+db); err != nil {
				t.Fatal(err)
			}
			switch tc.record {
			case "":
			case "empty":
				if _, err := sql(port, db, "CREATE TABLE tb_schema_settings (schema_version bigint NOT NULL, product varchar(2) NOT NULL)"); err != nil {
					t.Fatal(err)
				}
			default:
				if _, err := sql(port, db, "CREATE TABLE tb_schema_settings (schema_version bigint NOT NULL, product varchar(2) NOT NULL); INSERT INTO tb_schema_settings VALUES ("+tc.record+", 'CE')"); err != nil {
					t.Fatal(err)
				}
			}
			job, core := rendered(t, Config{Version: tc.version, UpgradeFrom: tc.upgradeFrom, LoadDemo: true})
			dir := t.TempDir()
			stubInstaller(t, dir, tc.version)
			dbEnv := "PGDATABASE=" + db
			wait := core.Spec.Template.Spec.InitContainers[0]
			if wait.Name != "wait-for-schema" {
				t.Fatalf("tb-core init containers %v", core.Spec.Template.Spec.InitContainers)
			}
			// Before the Job: a service of the new version waits (bounded)
			// unless the schema is its own already, and refuses a newer one.
			out, err := runContainer(t, wait, port, dir, dbEnv, "WAIT_SECONDS=0", "POLL_SECONDS=0")
			if want, _ := SchemaVersion(tc.version); tc.record == fmt.Sprint(want) {
				if err != nil {
					t.Errorf("wait-for-schema on its own schema: %v\n%s", err, out)
				}
			} else if err == nil {
				t.Errorf("wait-for-schema passed before the Job ran:\n%s", out)
			}

			out, err = runContainer(t, job.Spec.Template.Spec.InitContainers[0], port, dir, dbEnv)
			if !strings.Contains(out, tc.planSays) {
				t.Errorf("plan output lacks %q:\n%s", tc.planSays, out)
			}
			if tc.plan == "" {
				if err == nil {
					t.Fatalf("plan accepted; want refused:\n%s", out)
				}
				return
			}
			if err != nil {
				t.Fatalf("plan: %v\n%s", err, out)
			}
			plan, _ := os.ReadFile(filepath.Join(dir, "plan"))
			if got := strings.TrimSpace(string(plan)); got != tc.plan {
				t.Fatalf("plan %q; want %q", got, tc.plan)
			}
			out, err = runContainer(t, job.Spec.Template.Spec.Containers[0], port, dir, dbEnv)
			if err != nil {
				t.Fatalf("install container: %v\n%s", err, out)
			}
			if tc.installer == "" && strings.Contains(out, "stub start-tb-node.sh") || tc.installer != "" && !strings.Contains(out, tc.installer) {
				t.Errorf("installer call: want %q:\n%s", tc.installer, out)
			}
			if got, err := sql(port, db, "SELECT schema_version FROM tb_schema_settings"); err != nil || got != tc.after {
				t.Errorf("recorded %q %v; want %s", got, err, tc.after)
			}
			if out, err := runContainer(t, wait, port, dir, dbEnv, "WAIT_SECONDS=0", "POLL_SECONDS=0"); err != nil || !strings.Contains(out, "is in place") {
				t.Errorf("wait-for-schema after the Job: %v\n%s", err, out)
			}
		})
	}
}

// TestWaitForSchemaRefusesNewer: a service of an older version never
// starts on a newer schema (a rollback of the images alone).
func TestWaitForSchemaRefusesNewer(t *testing.T) {
	port := startPostgres(t)
	if _, err := sql(port, "postgres", "CREATE TABLE tb_schema_settings (schema_version bigint NOT NULL, product varchar(2) NOT NULL); INSERT INTO tb_schema_settings VALUES (4003001000, 'CE')"); err != nil {
		t.Fatal(err)
	}
	_, core := rendered(t, Config{Version: "4.2.1"})
	out, err := runContainer(t, core.Spec.Template.Spec.InitContainers[0], port, t.TempDir(), "PGDATABASE=postgres", "WAIT_SECONDS=3600", "POLL_SECONDS=1")
	if err == nil || !strings.Contains(out, "records ThingsBoard 4.3.1, newer than this service's 4.2.1: refusing to start") {
		t.Errorf("wait-for-schema: %v\n%s", err, out)
	}
}

// TestInstallFailsVisibly: the installer that logs an error and exits 0
// (as the official scripts do) fails the Job.
func TestInstallFailsVisibly(t *testing.T) {
	job, _ := rendered(t, Config{})
	for _, tc := range []struct {
		plan, output string
		ok           bool
	}{
		{"install", "Installing DataBase schema...\nERROR: connection refused\n", false},
		{"install", "Loading system data...\nInstallation finished successfully!\n", true},
		{"upgrade 4.2.1", "Upgrading ThingsBoard from version 4.2.1.0 to 4.3.1.0 ...\nERROR\n", false},
		{"upgrade 4.2.1", "Upgrade finished successfully!\n", true},
		{"upgrade 4.2.1", "Installation finished successfully!\n", false},
		{"", "", false},
	} {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "start-tb-node.sh"), "#!/bin/bash\nprintf '"+strings.ReplaceAll(tc.output, "\n", `\n`)+"'\nexit 0\n")
		writeFile(t, filepath.Join(dir, "plan"), tc.plan+"\n")
		out, err := runContainer(t, job.Spec.Template.Spec.Containers[0], 1, dir)
		if (err == nil) != tc.ok {
			t.Errorf("plan %q, output %q: err %v; want success %v\n%s", tc.plan, tc.output, err, tc.ok, out)
		}
	}
}

func TestSchemaVersion(t *testing.T) {
	for _, tc := range []struct {
		version string
		want    int64
		err     string
	}{
		{"4.3.1", 4003001000, ""},
		{"4.3.1.3", 4003001003, ""},
		{"4.3", 4003000000, ""},
		{"4.2.1", 4002001000, ""},
		{"4", 0, "not a ThingsBoard release number"},
		{"4.3.1-mine", 0, `part "1-mine" is not a number`},
		{"4.03.1", 0, `part "03"`},
		{"4.1000.1", 0, `part "1000"`},
		{"0.1", 0, "major version 0"},
		{"1.2.3.4.5", 0, "not a ThingsBoard release number"},
	} {
		got, err := SchemaVersion(tc.version)
		if tc.err == "" && (err != nil || got != tc.want) || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("SchemaVersion(%q) = %d, %v; want %d, %q", tc.version, got, err, tc.want, tc.err)
		}
	}
	for n, want := range map[int64]string{4002001: "4.2.1", 4002001000: "4.2.1", 4003001003: "4.3.1.3", 3004002: "3.4.2"} {
		if got := ReleaseOf(n); got != want {
			t.Errorf("ReleaseOf(%d) = %q; want %q", n, got, want)
		}
	}
}
