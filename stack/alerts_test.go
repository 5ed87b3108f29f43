package stack

import (
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

func goodRule(name string) AlertRule {
	return AlertRule{Alert: name, Expr: `up == 0`, For: 10 * time.Minute, Why: "outlasts a restart", Severity: SeverityWarning, Summary: "down"}
}

func TestAlertsCollectedBySynth(t *testing.T) {
	s := newTestStack(t)
	a := addEcho(t, s, "echo-a")
	b := addEcho(t, s, "echo-b")
	b.c.Alert(goodRule("EchoDown"))
	a.c.Alert(goodRule("EchoDown"), goodRule("EchoSlow")) // copies share names
	out, err := s.Synth()
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Alerts) != 2 || out.Alerts[0].Component != "echo-a" || len(out.Alerts[0].Rules) != 2 || out.Alerts[1].Component != "echo-b" {
		t.Fatalf("out.Alerts = %+v; want echo-a (2 rules) then echo-b", out.Alerts)
	}
	if out.Alerts[0].Namespace != "demo" {
		t.Errorf("namespace %q; want demo", out.Alerts[0].Namespace)
	}
}

func TestAlertProblems(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*AlertRule)
		want string
	}{
		{"bad name", func(r *AlertRule) { r.Alert = "echo-down" }, `"echo-down" is not an alert name`},
		{"no expression", func(r *AlertRule) { r.Expr = " " }, "empty expression"},
		{"no why", func(r *AlertRule) { r.Why = "" }, "says not why its for: window is 10m"},
		{"bad severity", func(r *AlertRule) { r.Severity = "page" }, `"page" is not a severity; allowed: critical, warning, none`},
		{"negative for", func(r *AlertRule) { r.For = -time.Minute }, "is negative"},
		{"fractional for", func(r *AlertRule) { r.For = 1500 * time.Millisecond }, "not a whole number of seconds"},
		{"no summary", func(r *AlertRule) { r.Summary = "" }, "has no summary"},
		{"reserved label", func(r *AlertRule) { r.Labels = map[string]string{"severity": "x"} }, "label severity is set from the rule"},
		{"bad label", func(r *AlertRule) { r.Labels = map[string]string{"team-name": "x"} }, `"team-name" is not a label name`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestStack(t)
			e := addEcho(t, s, "echo")
			r := goodRule("EchoDown")
			tc.edit(&r)
			e.c.Alert(r)
			_, err := s.Synth()
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "echo") {
				t.Fatalf("error %v; want one naming component echo and %q", err, tc.want)
			}
		})
	}
	s := newTestStack(t)
	e := addEcho(t, s, "echo")
	e.c.Alert(goodRule("EchoDown"), goodRule("EchoDown"))
	if _, err := s.Synth(); err == nil || !strings.Contains(err.Error(), "EchoDown is added twice") {
		t.Fatalf("error %v; want the duplicate named", err)
	}
}

// A rule added after the monitoring read the rules would be missing from
// the rule file: synthesis says so.
func TestAlertAfterRulesRead(t *testing.T) {
	s := newTestStack(t)
	e := addEcho(t, s, "echo")
	e.c.Alert(goodRule("EchoDown"))
	if g := s.Alerts("monitoring/prometheus"); len(g) != 1 {
		t.Fatalf("groups %+v", g)
	}
	late := addEcho(t, s, "late")
	late.c.Alert(goodRule("LateDown"))
	_, err := s.Synth()
	if err == nil || !strings.Contains(err.Error(), "alert LateDown is added after monitoring/prometheus read the stack's alert rules") {
		t.Fatalf("error %v; want the late rule named", err)
	}
}

func TestRuleFile(t *testing.T) {
	r := goodRule("EchoDown")
	r.For = 90 * time.Minute
	r.Labels = map[string]string{"team": "iot"}
	r.Runbook = "restart it"
	b, err := RuleFile([]AlertGroup{{Component: "echo", Namespace: "demo", Rules: []AlertRule{r, {Alert: "Watchdog", Expr: "vector(1)", Why: "always", Severity: SeverityNone, Summary: "ok"}}}})
	if err != nil {
		t.Fatal(err)
	}
	want := `groups:
- name: echo
  rules:
  - alert: EchoDown
    annotations:
      runbook: restart it
      summary: down
      why: outlasts a restart
    expr: up == 0
    for: 1h30m
    labels:
      component: echo
      namespace: demo
      severity: warning
      team: iot
  - alert: Watchdog
    annotations:
      summary: ok
      why: always
    expr: vector(1)
    labels:
      component: echo
      namespace: demo
      severity: none
`
	if string(b) != want {
		t.Fatalf("rule file:\n%s\nwant:\n%s", b, want)
	}
	var back map[string]any
	if err := yaml.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
}

func TestPromDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0s", 30 * time.Second: "30s", 15 * time.Minute: "15m", 90 * time.Minute: "1h30m",
		15 * 24 * time.Hour: "15d", 1500 * time.Millisecond: "1s500ms", -time.Second: "0s",
	} {
		if got := PromDuration(d); got != want {
			t.Errorf("PromDuration(%s) = %q; want %q", d, got, want)
		}
	}
}

func TestScrapeTargets(t *testing.T) {
	s := newTestStack(t)
	e := addEcho(t, s, "echo")
	e.sts.Spec.Template.Annotations = map[string]string{"prometheus.io/scrape": "true", "prometheus.io/port": "7000"}
	ts, err := s.ScrapeTargets()
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 1 {
		t.Fatalf("targets %+v; want one", ts)
	}
	got := ts[0]
	if got.Job != "echo" || got.Role != "server" || got.Port != 7000 || got.Path != "/metrics" || got.Namespace != "demo" ||
		got.Selector[LabelInstance] != "demo" || got.Selector[LabelName] != "echo" || got.Selector[LabelComponent] != "server" {
		t.Errorf("target %+v", got)
	}
	if e.c.Job("replica") != "echo-replica" || e.c.JobSelector("") != `job="echo",namespace="demo"` {
		t.Errorf("Job(replica) %q, JobSelector %q", e.c.Job("replica"), e.c.JobSelector(""))
	}
	e.sts.Spec.Template.Annotations["prometheus.io/port"] = "http"
	if _, err := s.ScrapeTargets(); err == nil || !strings.Contains(err.Error(), `component echo: role server: annotation prometheus.io/port: "http" is not a port number`) {
		t.Fatalf("error %v; want the bad annotation named", err)
	}
}
