package stack

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
)

// Severity is an alert's severity label: it picks the Alertmanager route
// (critical pages, warning notifies) and drives inhibition (a firing
// critical alert silences the warnings of the same component).
type Severity string

// The severities an AlertRule may carry.
const (
	// SeverityCritical pages: data loss or an outage is near or under way.
	SeverityCritical Severity = "critical"
	// SeverityWarning notifies: act within working hours.
	SeverityWarning Severity = "warning"
	// SeverityNone is for the Watchdog, an always-firing alert that proves
	// the alerting pipeline works (routed to a heartbeat receiver).
	SeverityNone Severity = "none"
)

// AlertRule is one Prometheus alerting rule contributed by a component
// (Component.Alert), rendered into the rule file of the stack's Prometheus.
type AlertRule struct {
	// Alert is the alert's name, CamelCase ([a-zA-Z_][a-zA-Z0-9_]*),
	// unique in the component (copies of a component share names; the
	// component label tells them apart).
	Alert string
	// Expr is the PromQL expression; every series it returns fires.
	Expr string
	// For is how long Expr must hold before the alert fires (0: at once).
	For time.Duration
	// Why says why For is what it is: which normal operation (a rolling
	// restart, the zone drill, a rebalance) it outlasts. Required.
	Why string
	// Severity is the severity label.
	Severity Severity
	// Labels are extra labels (the severity, component and namespace
	// labels are set from Severity, the component and its namespace).
	Labels map[string]string
	// Summary is a one-line summary (annotation summary; may use
	// {{ $labels.x }} and {{ $value }}).
	Summary string
	// Description says what is wrong and its consequence.
	Description string
	// Runbook is the first response (annotation runbook).
	Runbook string
}

// AlertGroup is the alert rules of one component, a rule group of its
// own in the rendered rule file.
type AlertGroup struct {
	// Component is the contributing component's name.
	Component string
	// Namespace is the namespace the rules watch (the component's stack's
	// namespace): every rule carries it as its namespace label, so that
	// routing and inhibition tell stacks apart.
	Namespace string
	// Rules are the component's rules in the order they were added.
	Rules []AlertRule
}

var alertName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
var labelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// Alert adds alert rules to the component. The rules are checked at
// synthesis (name, severity, a Why for every rule, unique names); a rule
// added after a Prometheus read the stack's rules (Stack.Alerts with
// seal) is reported there too, because it would be missing from the rule
// file.
func (c *Component) Alert(rules ...AlertRule) {
	if c.stack.alertsSealedBy != "" {
		for _, r := range rules {
			c.lateAlerts = append(c.lateAlerts, fmt.Sprintf("alert %s is added after %s read the stack's alert rules, so its rule file lacks it; build the monitoring after every component", r.Alert, c.stack.alertsSealedBy))
		}
	}
	c.alerts = append(c.alerts, rules...)
}

// Alerts returns the component's alert rules.
func (c *Component) Alerts() []AlertRule { return append([]AlertRule(nil), c.alerts...) }

// Alerts returns the stack's alert rules, one group per component with
// rules, in the order the components were added. reader, when not empty,
// names the monitoring component that renders them: a rule added later is
// then an error at synthesis.
func (s *Stack) Alerts(reader string) []AlertGroup {
	if reader != "" && s.alertsSealedBy == "" {
		s.alertsSealedBy = reader
	}
	var out []AlertGroup
	for _, c := range s.components {
		if len(c.alerts) > 0 {
			out = append(out, AlertGroup{Component: c.name, Namespace: c.Namespace(), Rules: c.Alerts()})
		}
	}
	return out
}

// checkAlerts reports the problems of the components' alert rules.
func (v *validator) checkAlerts(comps []*Component) {
	for _, c := range comps {
		seen := map[string]bool{}
		for _, msg := range c.lateAlerts {
			v.add(c.name, "alerts", "", "%s", msg)
		}
		for i, r := range c.alerts {
			where := fmt.Sprintf("alerts[%d]", i)
			if !alertName.MatchString(r.Alert) {
				v.add(c.name, where, "alert", "%q is not an alert name; allowed: [a-zA-Z_][a-zA-Z0-9_]*", r.Alert)
			} else if seen[r.Alert] {
				v.add(c.name, where, "alert", "%s is added twice; alert names must be unique in a component", r.Alert)
			} else {
				seen[r.Alert] = true
			}
			if strings.TrimSpace(r.Expr) == "" {
				v.add(c.name, where, "expr", "alert %s has an empty expression", r.Alert)
			}
			if r.For < 0 {
				v.add(c.name, where, "for", "alert %s: %s is negative; allowed: 0 or more", r.Alert, r.For)
			}
			if r.For%time.Second != 0 {
				v.add(c.name, where, "for", "alert %s: %s is not a whole number of seconds", r.Alert, r.For)
			}
			if strings.TrimSpace(r.Why) == "" {
				v.add(c.name, where, "why", "alert %s says not why its for: window is %s; every rule explains its window", r.Alert, PromDuration(r.For))
			}
			switch r.Severity {
			case SeverityCritical, SeverityWarning, SeverityNone:
			default:
				v.add(c.name, where, "severity", "alert %s: %q is not a severity; allowed: critical, warning, none", r.Alert, r.Severity)
			}
			if strings.TrimSpace(r.Summary) == "" {
				v.add(c.name, where, "summary", "alert %s has no summary", r.Alert)
			}
			for _, k := range sortedKeys(r.Labels) {
				if !labelName.MatchString(k) || strings.HasPrefix(k, "__") {
					v.add(c.name, where, "labels", "alert %s: %q is not a label name", r.Alert, k)
				}
				if k == "severity" || k == "component" || k == "namespace" {
					v.add(c.name, where, "labels", "alert %s: label %s is set from the rule; do not set it in Labels", r.Alert, k)
				}
			}
		}
	}
}

// PromDuration formats d the way Prometheus writes durations ("1h30m",
// "10m", "0s"); Prometheus parses it back to d.
func PromDuration(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	var b strings.Builder
	for _, u := range []struct {
		suffix string
		unit   time.Duration
	}{{"d", 24 * time.Hour}, {"h", time.Hour}, {"m", time.Minute}, {"s", time.Second}, {"ms", time.Millisecond}} {
		if n := d / u.unit; n > 0 {
			fmt.Fprintf(&b, "%d%s", n, u.suffix)
			d -= n * u.unit
		}
	}
	return b.String()
}

type ruleFile struct {
	Groups []ruleGroup `json:"groups"`
}

type ruleGroup struct {
	Name  string     `json:"name"`
	Rules []ruleSpec `json:"rules"`
}

type ruleSpec struct {
	Alert       string            `json:"alert"`
	Expr        string            `json:"expr"`
	For         string            `json:"for,omitempty"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
}

// RuleFile renders alert groups as a Prometheus rule file
// (prometheus.io/docs/prometheus/latest/configuration/alerting_rules/):
// one group per component, named after it; each rule's labels are its
// Labels plus severity and component, its annotations summary,
// description, runbook and why. The output is deterministic (sigs.k8s.io/yaml
// sorts map keys).
func RuleFile(groups []AlertGroup) ([]byte, error) {
	f := ruleFile{Groups: []ruleGroup{}}
	for _, g := range groups {
		rg := ruleGroup{Name: g.Component, Rules: []ruleSpec{}}
		for _, r := range g.Rules {
			l := map[string]string{}
			for k, v := range r.Labels {
				l[k] = v
			}
			l["severity"] = string(r.Severity)
			l["component"] = g.Component
			if g.Namespace != "" {
				l["namespace"] = g.Namespace
			}
			a := map[string]string{"summary": r.Summary, "why": r.Why}
			if r.Description != "" {
				a["description"] = r.Description
			}
			if r.Runbook != "" {
				a["runbook"] = r.Runbook
			}
			rs := ruleSpec{Alert: r.Alert, Expr: strings.TrimSpace(r.Expr), Labels: l, Annotations: a}
			if r.For > 0 {
				rs.For = PromDuration(r.For)
			}
			rg.Rules = append(rg.Rules, rs)
		}
		f.Groups = append(f.Groups, rg)
	}
	return yaml.Marshal(f)
}
