package profiles

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/iotstack/iotstack/components/alertmanager"
	montools "github.com/iotstack/iotstack/monitoring/tools"
	"github.com/iotstack/iotstack/stack"
)

// synthMonitoring renders a profile's defaults with monitoring.enabled and
// returns the output and the monitoring ConfigMaps' files by key.
func synthMonitoring(t *testing.T, name string) (*stack.Output, map[string]string) {
	t.Helper()
	p, err := Get(name)
	if err != nil {
		t.Fatal(err)
	}
	v := p.Defaults()
	v.Base().Monitoring.Enabled = true
	b, err := p.BuildValues(v)
	if err != nil {
		t.Fatal(err)
	}
	out, err := SynthBuilt(name, b)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, part := range b.Parts {
		if part.Dir != MonitoringDir {
			continue
		}
		po, err := part.Stack.Synth()
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range po.Objects {
			if cm, ok := r.Object.(*corev1.ConfigMap); ok {
				for k, d := range cm.Data {
					files[k] = d
				}
			}
		}
	}
	return out, files
}

// TestMonitoringOnByDefault: every profile renders its monitoring part by
// default, and monitoring.enabled=false renders none.
func TestMonitoringOnByDefault(t *testing.T) {
	for _, name := range Names() {
		p, _ := Get(name)
		if !p.Defaults().Base().Monitoring.Enabled {
			t.Errorf("%s: monitoring.enabled is off by default", name)
		}
		for _, on := range []bool{true, false} {
			files := monitoringFiles(t, name, on)
			if on && len(files) == 0 {
				t.Errorf("%s: no %s/ file rendered by default", name, MonitoringDir)
			}
			if !on {
				for _, f := range files {
					t.Errorf("%s: %s rendered with monitoring.enabled=false", name, f)
				}
			}
		}
	}
}

// monitoringFiles lists the files rendered under monitoring/ for the
// profile's defaults with monitoring.enabled set to on.
func monitoringFiles(t *testing.T, name string, on bool) []string {
	t.Helper()
	_, out := render(t, name, nil, fmt.Sprintf("monitoring.enabled=%t", on))
	var files []string
	for _, f := range out.Files {
		if strings.HasPrefix(f.Name, MonitoringDir+"/") {
			files = append(files, f.Name)
		}
	}
	return files
}

func TestMonitoringRendersEveryProfile(t *testing.T) {
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			out, files := synthMonitoring(t, name)
			if out.File(MonitoringDir+"/kustomization.yaml") == nil {
				t.Fatalf("no %s/kustomization.yaml", MonitoringDir)
			}
			for _, k := range []string{"prometheus.yml", "alertmanager.yml"} {
				if files[k] == "" {
					t.Errorf("no %s", k)
				}
			}
			prom := files["prometheus.yml"]
			if strings.Contains(prom, "app_kubernetes_io_instance") {
				t.Errorf("prometheus.yml maps app.kubernetes.io/instance: %s", prom)
			}
			// Every scraped role of the stack has its job.
			p, _ := Get(name)
			b, err := p.BuildValues(p.Defaults())
			if err != nil {
				t.Fatal(err)
			}
			targets, err := b.Stack.ScrapeTargets()
			if err != nil {
				t.Fatal(err)
			}
			for _, tg := range targets {
				if !strings.Contains(prom, "job_name: "+tg.Job+"\n") {
					t.Errorf("no scrape job %s for %s/%s", tg.Job, tg.Component, tg.Role)
				}
			}
			// The rule groups of the stack's components are in the rule file.
			var rules string
			for k, d := range files {
				if strings.HasSuffix(k, ".rules.yml") {
					rules = d
				}
			}
			for _, g := range out.Alerts {
				if !strings.Contains(rules, "name: "+g.Component+"\n") {
					t.Errorf("rule group of %s missing from the rule file", g.Component)
				}
			}
		})
	}
}

// TestMonitoringPromtoolAmtool checks the rendered configurations of every
// profile with the real programs: promtool check config (with the rule
// file and the ServiceAccount files at their mounted paths, relocated into
// a temporary directory), promtool check rules, amtool check-config and
// amtool config routes test.
func TestMonitoringPromtoolAmtool(t *testing.T) {
	tl := montools.ForTest(t)
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			_, files := synthMonitoring(t, name)
			dir := t.TempDir()
			prom := files["prometheus.yml"]
			for _, from := range []string{"/etc/prometheus/rules", "/var/run/secrets/kubernetes.io/serviceaccount"} {
				to := filepath.Join(dir, filepath.FromSlash(from))
				if err := os.MkdirAll(to, 0o755); err != nil {
					t.Fatal(err)
				}
				prom = strings.ReplaceAll(prom, from+"/", to+"/")
			}
			sa := filepath.Join(dir, "var/run/secrets/kubernetes.io/serviceaccount")
			for _, f := range []string{"token", "ca.crt"} {
				if err := os.WriteFile(filepath.Join(sa, f), []byte("test\n"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			var ruleFiles int
			for k, d := range files {
				if strings.HasSuffix(k, ".rules.yml") {
					ruleFiles++
					write(t, filepath.Join(dir, "etc/prometheus/rules", k), d)
					run(t, tl.Promtool, "check", "rules", filepath.Join(dir, "etc/prometheus/rules", k))
				}
			}
			if ruleFiles != 1 {
				t.Fatalf("%d rule files; want 1", ruleFiles)
			}
			write(t, filepath.Join(dir, "prometheus.yml"), prom)
			run(t, tl.Promtool, "check", "config", filepath.Join(dir, "prometheus.yml"))
			am := filepath.Join(dir, "alertmanager.yml")
			write(t, am, files["alertmanager.yml"])
			run(t, tl.Amtool, "check-config", am)
			routes(t, tl.Amtool, am, alertmanager.ReceiverHeartbeat, "alertname=Watchdog", "severity=none")
			routes(t, tl.Amtool, am, alertmanager.ReceiverNull, "alertname=Other", "severity=none")
			routes(t, tl.Amtool, am, alertmanager.ReceiverNotify, "alertname=KafkaOfflinePartitions", "severity=critical")
			routes(t, tl.Amtool, am, alertmanager.ReceiverNotify, "alertname=TargetDown", "severity=warning")
		})
	}
}

// routes runs amtool config routes test and expects receiver.
func routes(t *testing.T, amtool, config, receiver string, labels ...string) {
	t.Helper()
	args := append([]string{"config", "routes", "test", "--config.file=" + config, "--verify.receivers=" + receiver}, labels...)
	run(t, amtool, args...)
}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func run(t *testing.T, prog string, args ...string) string {
	t.Helper()
	out, err := exec.Command(prog, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(prog), strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestMonitoringValues: receivers are set through values (and --set); a
// half-configured e-mail receiver is refused with its path; the Secret
// the receivers read is declared in the monitoring part, never rendered.
func TestMonitoringValues(t *testing.T) {
	p, err := Get(Minimal3AZ)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Load(nil, []string{"monitoring.enabled=true", "monitoring.receivers.email.to=ops@example.com"})
	for _, want := range []string{"monitoring.receivers.email.from", "monitoring.receivers.email.smarthost"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v; want one naming %s", err, want)
		}
	}
	b, out := render(t, Minimal3AZ, nil, "monitoring.enabled=true", "monitoring.receivers.slack.channel=#iot-alerts", "monitoring.receivers.telegram.chatID=-100123", "monitoring.receivers.heartbeat=true")
	var am string
	for _, f := range out.Files {
		if strings.HasPrefix(f.Name, MonitoringDir+"/") && strings.Contains(string(f.Data), "alertmanager.yml: |") {
			am = string(f.Data)
		}
	}
	for _, want := range []string{"channel: '#iot-alerts'", "chat_id: -100123", "api_url_file: /etc/alertmanager/secrets/slack-api-url", "bot_token_file: /etc/alertmanager/secrets/telegram-bot-token", "url_file: /etc/alertmanager/secrets/heartbeat-url"} {
		if !strings.Contains(am, want) {
			t.Errorf("alertmanager configuration lacks %q", want)
		}
	}
	for _, part := range b.Parts {
		if part.Dir != MonitoringDir {
			continue
		}
		var receivers []stack.SecretSpec
		for _, s := range part.Stack.Secrets() {
			if s.Name == "alertmanager-receivers" {
				receivers = append(receivers, s)
			}
		}
		if len(receivers) != 1 || len(receivers[0].Keys) != 3 {
			t.Errorf("declared secrets %+v; want alertmanager-receivers with 3 keys", part.Stack.Secrets())
		}
	}
}
