package postgres

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDatabasesScriptLeaksNoPassword runs the exact rendered databases
// script against a real PostgreSQL 15 that logs every statement (and the
// statement of every error), twice: creating the users, then rotating a
// password. No password may appear in any server log file, in the
// script's own output, or on the command line of any psql it starts (a
// psql wrapper on PATH records every argv). The users must then log in
// with their new passwords, stored as SCRAM-SHA-256 verifiers.
func TestDatabasesScriptLeaksNoPassword(t *testing.T) {
	requirePostgres(t)
	const superuser = "SuperSecret0Pw"
	port, dir := startPostgresWith(t, superuser,
		"log_statement=all", "log_min_error_statement=debug5", "log_min_duration_statement=0",
		"logging_collector=on", "log_destination=stderr,csvlog", "log_file_mode=0644", "log_connections=on",
		"password_encryption=scram-sha-256")
	dbs := []Database{{Name: "thingsboard", User: "thingsboard"}, {Name: "kong", User: "kong"}, {Name: "auth", User: "kong", CreateDB: true}}
	script := strings.Replace(databasesScript("127.0.0.1", dbs), "PGPORT=5432", fmt.Sprintf("PGPORT=%d", port), 1)

	// A psql on PATH that records its arguments, then runs the real one.
	bin := t.TempDir()
	argvLog := filepath.Join(bin, "argv.log")
	realPsql, err := exec.LookPath("psql")
	if err != nil {
		t.Fatal(err)
	}
	wrapper := fmt.Sprintf("#!/bin/bash\nprintf '%%s\\n' \"$*\" >> %q\nexec %q \"$@\"\n", argvLog, realPsql)
	if err := os.WriteFile(filepath.Join(bin, "psql"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	scriptPath := filepath.Join(t.TempDir(), "databases.sh")
	if err := os.WriteFile(scriptPath, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	run := func(env ...string) string {
		t.Helper()
		cmd := exec.Command("bash", scriptPath)
		cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"))
		cmd.Env = append(cmd.Env, env...)
		// As in a Job: no controlling terminal, so psql prompts on stdin.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		cmd.WaitDelay = 5 * time.Second
		done := make(chan struct{})
		defer close(done)
		go func() {
			select {
			case <-done:
			case <-time.After(2 * time.Minute):
				cmd.Process.Kill()
			}
		}()
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("databases.sh: %v\n%s", err, out)
		}
		return string(out)
	}
	passwords := []string{superuser, "tbFirst1Password", "kongFirst1Password", "tbSecond2Password"}
	out1 := run("SUPERUSER_PASSWORD="+superuser, "PASSWORD_THINGSBOARD=tbFirst1Password", "PASSWORD_KONG=kongFirst1Password")
	if !strings.Contains(out1, "user thingsboard: created") || !strings.Contains(out1, "databases applied") {
		t.Fatalf("first run:\n%s", out1)
	}
	out2 := run("SUPERUSER_PASSWORD="+superuser, "PASSWORD_THINGSBOARD=tbSecond2Password", "PASSWORD_KONG=kongFirst1Password")
	if !strings.Contains(out2, "user thingsboard: password kept in step with its Secret") {
		t.Fatalf("second run:\n%s", out2)
	}

	// The passwords work, and the server holds verifiers.
	if got, err := psql(t, port, "thingsboard", "tbSecond2Password", "thingsboard", "SELECT current_user"); err != nil || got != "thingsboard" {
		t.Errorf("login as thingsboard with the rotated password: %q %v", got, err)
	}
	if got, err := psql(t, port, "kong", "kongFirst1Password", "auth", "SELECT current_user"); err != nil || got != "kong" {
		t.Errorf("login as kong: %q %v", got, err)
	}
	if got, err := psql(t, port, "postgres", superuser, "postgres", "SELECT string_agg(left(rolpassword, 14), ',' ORDER BY rolname) FROM pg_authid WHERE rolname IN ('kong', 'thingsboard')"); err != nil || got != "SCRAM-SHA-256$,SCRAM-SHA-256$" {
		t.Errorf("stored passwords: %q %v", got, err)
	}

	// Every place a password could have landed.
	places := map[string]string{"script output (run 1)": out1, "script output (run 2)": out2}
	argv, err := os.ReadFile(argvLog)
	if err != nil {
		t.Fatal(err)
	}
	places["psql command lines"] = string(argv)
	var logFiles int
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if filepath.Base(p) == "server.log" || strings.Contains(p, string(filepath.Separator)+"log"+string(filepath.Separator)) {
			b, _ := os.ReadFile(p)
			places[p] = string(b)
			logFiles++
		}
		return nil
	})
	if logFiles < 3 { // server.log, and the collector's .log and .csv
		t.Fatalf("found %d server log files under %s; want the collector's stderr and csv logs too", logFiles, dir)
	}
	// The logs did record the script's statements: the check is not vacuous.
	var logged string
	for p, text := range places {
		if strings.HasSuffix(p, ".csv") {
			logged += text
		}
	}
	if !strings.Contains(logged, `CREATE ROLE \"thingsboard\" LOGIN`) && !strings.Contains(logged, `CREATE ROLE ""thingsboard"" LOGIN`) {
		t.Errorf("the csv log lacks the script's CREATE ROLE: statement logging did not work\n%s", logged)
	}
	if !strings.Contains(string(argv), `\password "thingsboard"`) {
		t.Errorf("the psql wrapper recorded no \\password call:\n%s", argv)
	}
	for place, text := range places {
		for _, pw := range passwords {
			if strings.Contains(text, pw) {
				t.Errorf("password %q appears in %s", pw, place)
			}
		}
	}
}
