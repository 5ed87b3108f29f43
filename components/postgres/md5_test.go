package postgres

import (
	"bufio"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// md5Login logs in the way pgmoon 1.10.0 (Kong 2.0's PostgreSQL driver)
// does: a StartupMessage, then only the cleartext (3) or MD5 (5) password
// challenge is understood (leafo/pgmoon v1.10.0 pgmoon/init.moon, auth:
// any other request, such as SASL (10) for SCRAM, is "don't know how to
// auth"). It returns nil once the server sends AuthenticationOk.
func md5Login(port int, user, password, db string) error {
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	body := []byte{0, 3, 0, 0} // protocol 3.0
	for _, kv := range []string{"user", user, "database", db} {
		body = append(append(body, kv...), 0)
	}
	body = append(body, 0)
	msg := binary.BigEndian.AppendUint32(nil, uint32(len(body)+4))
	if _, err := c.Write(append(msg, body...)); err != nil {
		return err
	}
	r := bufio.NewReader(c)
	read := func() (byte, []byte, error) {
		var hdr [5]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return 0, nil, err
		}
		payload := make([]byte, binary.BigEndian.Uint32(hdr[1:])-4)
		_, err := io.ReadFull(r, payload)
		return hdr[0], payload, err
	}
	for {
		typ, payload, err := read()
		if err != nil {
			return err
		}
		switch {
		case typ == 'E':
			return fmt.Errorf("server error: %q", strings.ReplaceAll(string(payload), "\x00", " "))
		case typ != 'R' || len(payload) < 4:
			return fmt.Errorf("unexpected message %q during auth", typ)
		}
		switch code := binary.BigEndian.Uint32(payload); code {
		case 0:
			return nil
		case 5:
			inner := md5.Sum([]byte(password + user))
			outer := md5.Sum(append([]byte(hex.EncodeToString(inner[:])), payload[4:8]...))
			resp := append([]byte("md5"+hex.EncodeToString(outer[:])), 0)
			out := append([]byte{'p'}, binary.BigEndian.AppendUint32(nil, uint32(len(resp)+4))...)
			if _, err := c.Write(append(out, resp...)); err != nil {
				return err
			}
		default:
			return fmt.Errorf("don't know how to auth: %d", code)
		}
	}
}

// TestMD5UserAgainstPostgres: the databases Job's script stores the
// password of a user declared with PasswordEncryption MD5 as an md5
// verifier and every other user's as SCRAM, on a real PostgreSQL 15 whose
// password_encryption is scram-sha-256 and whose pg_hba has Spilo 4.0's
// "md5" lines; an MD5-only client (as Kong 2.0's pgmoon) then logs in as
// the md5 user, and is asked for SCRAM by the others.
func TestMD5UserAgainstPostgres(t *testing.T) {
	requirePostgres(t)
	port, dir := startPostgresWith(t, "Super1", "password_encryption=scram-sha-256")
	// Spilo 4.0-p3's pg_hba (configure_spilo.py) for password logins, with
	// ALLOW_NOSSL: md5 everywhere.
	hba := "local all all trust\nhost all all 127.0.0.1/32 md5\n"
	if err := os.WriteFile(filepath.Join(dir, "data", "pg_hba.conf"), []byte(hba), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := psql(t, port, "postgres", "Super1", "postgres", "SELECT pg_reload_conf()"); err != nil {
		t.Fatalf("reload: %v %s", err, out)
	}

	dbs := []Database{{Name: "kong", User: "kong", PasswordEncryption: MD5}, {Name: "auth", User: "auth"}}
	script := strings.Replace(databasesScript("127.0.0.1", dbs), "PGPORT=5432", fmt.Sprintf("PGPORT=%d", port), 1)
	env := []string{"SUPERUSER_PASSWORD=Super1", "PASSWORD_KONG=kongPass1", "PASSWORD_AUTH=authPass1"}
	for run := 0; run < 2; run++ { // create, then keep (the second run sets the password again)
		if out, err := runScript(t, script, env...); err != nil {
			t.Fatalf("databases.sh run %d: %v\n%s", run, err, out)
		}
		for user, prefix := range map[string]string{"kong": "md5", "auth": "SCRAM-SHA-256$"} {
			got, err := psql(t, port, "postgres", "Super1", "postgres", "SELECT rolpassword FROM pg_authid WHERE rolname = '"+user+"'")
			if err != nil || !strings.HasPrefix(got, prefix) {
				t.Fatalf("run %d: %s's verifier %.14q (%v); want it to start with %s", run, user, got, err, prefix)
			}
		}
	}
	if err := md5Login(port, "kong", "kongPass1", "kong"); err != nil {
		t.Fatalf("MD5-only login as kong: %v", err)
	}
	if err := md5Login(port, "kong", "wrong", "kong"); err == nil {
		t.Fatal("MD5-only login as kong with a wrong password succeeded")
	}
	if err := md5Login(port, "auth", "authPass1", "auth"); err == nil || !strings.Contains(err.Error(), "auth: 10") {
		t.Fatalf("MD5-only login as auth: %v; want the server to ask for SCRAM (10)", err)
	}
	if got, err := psql(t, port, "auth", "authPass1", "auth", "SELECT current_user"); err != nil || got != "auth" {
		t.Fatalf("SCRAM login as auth: %q %v", got, err)
	}
}

func TestPasswordEncryptionDeclared(t *testing.T) {
	_, h, _ := synth(t, Config{})
	if _, err := h.Database(DatabaseSpec{Name: "kong", PasswordEncryption: "plain"}); err == nil || !strings.Contains(err.Error(), `passwordEncryption "plain"`) {
		t.Fatalf("unknown encryption: %v", err)
	}
	if _, err := h.Database(DatabaseSpec{Name: "kong", PasswordEncryption: MD5}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Database(DatabaseSpec{Name: "kong2", User: "kong"}); err == nil || !strings.Contains(err.Error(), "one user has one password") {
		t.Fatalf("one user, two encryptions: %v", err)
	}
	if !strings.Contains(h.script.Data["databases.sh"], "set_password kong PASSWORD_KONG md5\n") {
		t.Errorf("databases.sh does not store kong's password as md5:\n%s", h.script.Data["databases.sh"])
	}
}
