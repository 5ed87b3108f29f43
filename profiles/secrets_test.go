package profiles

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// secretVar matches a shell reference to a variable that holds a
// credential, including an indirect one (${!2}, as in postgres'
// set_password).
var secretVar = regexp.MustCompile(`\$\{!|\$\{?[A-Za-z_]*(?i:PASSWORD|PASSWD|_PASS\b|SECRET|TOKEN|_AUTH\b)`)

// argvFlags are command-line forms that put a password into argv.
var argvFlags = regexp.MustCompile(`(?:\s-a\s+"?\$|\s-pw\s|\s--password[=\s]|\s-p\s+"?\$\{?[A-Za-z_]*(?i:PASS)|PASSWORD\s*=?\s*'\$\{?[A-Z])`)

// checkScript reports, for one shell script, every line that could show a
// credential: tracing, a password flag, or a credential variable used by
// anything but a builtin writing into a file or a pipe (printf, echo inside
// a redirected { } group), a test (case, [ ), an export, or a
// here-document fed to a program's standard input.
func checkScript(where, script string) []string {
	var problems []string
	report := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	lines := strings.Split(script, "\n")
	heredoc := ""
	group, groupRedirected := false, false
	for i, raw := range lines {
		line := strings.TrimSpace(raw)
		if heredoc != "" {
			if line == heredoc {
				heredoc = ""
			}
			continue
		}
		if m := regexp.MustCompile(`<<-?\s*'?"?([A-Za-z_]+)`).FindStringSubmatch(line); m != nil {
			heredoc = m[1]
		}
		if regexp.MustCompile(`(^|\s)set\s+(-[a-z]*x|-o\s+xtrace)|\b(ba)?sh\s+-x\b`).MatchString(line) {
			report("%s:%d traces commands (would print passwords): %s", where, i+1, line)
		}
		if argvFlags.MatchString(" " + line) {
			report("%s:%d puts a password on a command line: %s", where, i+1, line)
		}
		if line == "{" {
			group = true
			// Redirected when its closing line writes into a file.
			groupRedirected = false
			for _, next := range lines[i+1:] {
				if n := strings.TrimSpace(next); strings.HasPrefix(n, "}") {
					groupRedirected = strings.Contains(n, ">")
					break
				}
			}
			continue
		}
		if strings.HasPrefix(line, "}") {
			group = false
		}
		if !secretVar.MatchString(line) || strings.HasPrefix(line, "#") {
			continue
		}
		first := strings.Fields(strings.TrimLeft(line, "({ "))[0]
		switch {
		case first == "case" || first == "[" || first == "if" || first == "export" || first == "local":
		case first == "umask" && strings.Contains(line, "printf ") && strings.Contains(line, ">"):
		case first == "printf" && (strings.Contains(line, ">") || strings.HasSuffix(line, "|") || strings.Contains(line, "| ")):
		case strings.HasPrefix(line, "{ ") && strings.Contains(line, "printf ") && strings.Contains(line, "} >"):
		case first == "echo" && group && groupRedirected:
		case strings.Contains(line, "$(printf ") || regexp.MustCompile(`err="\$\(printf `).MatchString(line):
		default:
			report("%s:%d uses a credential outside a builtin writing to a file or pipe: %s", where, i+1, line)
		}
	}
	return problems
}

// TestNoCredentialInArgvOrLogs checks every script every profile renders
// (ConfigMaps and inline bash -c commands): no tracing, no password flag,
// no credential variable used in a command's arguments or printed; and no
// container command or argument references a Secret-backed variable with
// $(VAR), which the kubelet would expand into the process's argv.
func TestNoCredentialInArgvOrLogs(t *testing.T) {
	outs, err := Synth(Options{}, Names()...)
	if err != nil {
		t.Fatal(err)
	}
	var scripts int
	for _, out := range outs {
		for _, o := range out.Objects {
			var spec *corev1.PodSpec
			switch x := o.Object.(type) {
			case *corev1.ConfigMap:
				for key, v := range x.Data {
					if strings.HasPrefix(v, "#!") {
						scripts++
						for _, p := range checkScript(out.Stack+"/"+x.Name+"/"+key, v) {
							t.Error(p)
						}
					}
				}
			case *appsv1.Deployment:
				spec = &x.Spec.Template.Spec
			case *appsv1.StatefulSet:
				spec = &x.Spec.Template.Spec
			case *batchv1.Job:
				spec = &x.Spec.Template.Spec
			}
			if spec == nil {
				continue
			}
			for _, c := range append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...) {
				secretEnv := map[string]bool{}
				for _, e := range c.Env {
					if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
						secretEnv[e.Name] = true
					}
				}
				argv := append(append([]string{}, c.Command...), c.Args...)
				for i, a := range argv {
					for name := range secretEnv {
						if strings.Contains(a, "$("+name+")") {
							t.Errorf("%s %s container %s: argument %q expands Secret variable %s into argv", out.Stack, o.Ref, c.Name, a, name)
						}
					}
					if i > 0 && (argv[i-1] == "-c") {
						scripts++
						for _, p := range checkScript(out.Stack+"/"+o.Ref.String()+"/"+c.Name, a) {
							t.Error(p)
						}
					}
				}
			}
		}
	}
	if scripts < 10 {
		t.Fatalf("checked only %d scripts", scripts)
	}
}

// TestCheckScriptCatches: the checker flags the forms that leaked before
// (and must not come back).
func TestCheckScriptCatches(t *testing.T) {
	for _, bad := range []string{
		`psql -v ON_ERROR_STOP=1 -c "CREATE ROLE \"x\" LOGIN PASSWORD '${PASSWORD_X}'"`,
		`cql() { timeout 300 cqlsh "$HOST" 9042 -u cassandra -p "$CASSANDRA_PASSWORD" -e "$1"; }`,
		`nt() { nodetool -h 127.0.0.1 -p 7199 -u controlRole -pw "$JMX_PASSWORD" "$@"; }`,
		`redis-cli -a "$REDIS_PASSWORD" ping`,
		`echo "password is $REDIS_PASSWORD"`,
		`set -x`,
	} {
		if len(checkScript("bad", "#!/bin/bash\n"+bad+"\n")) == 0 {
			t.Errorf("not flagged: %s", bad)
		}
	}
}
