package preflight

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Status is a check's outcome.
type Status string

// The outcomes. Only Fail makes preflight fail (exit code 1).
const (
	// Pass: the cluster has what the stack needs.
	Pass Status = "pass"
	// Warn: not a blocker, but worth a look (the detail says why).
	Warn Status = "warn"
	// Fail: the stack would not run as planned; Fix says what to do.
	Fail Status = "fail"
	// NotCheckable: the API does not show it (kubelet flags, node
	// sysctls); Fix says how to check it by hand.
	NotCheckable Status = "not-checkable"
)

// Check is one finding.
type Check struct {
	// Name is the check's area: version, nodes, capacity, storage,
	// ingress, aws-load-balancer-controller, pod-security, externals,
	// sysctls.
	Name string `json:"name"`
	// Subject is what was checked ("pool thingsboard, zone eu-west-1a",
	// "StorageClass gp3").
	Subject string `json:"subject"`
	// Status is the outcome.
	Status Status `json:"status"`
	// Detail says what was found.
	Detail string `json:"detail"`
	// Fix is what to do about a failure (a command or a values change);
	// empty when nothing is to be done.
	Fix string `json:"fix,omitempty"`
}

// Result is a preflight run. Its JSON form (the field tags) is stable:
// fields are added, never renamed or removed.
type Result struct {
	// Profile is the profile checked.
	Profile string `json:"profile"`
	// Server is the API server's version (gitVersion).
	Server string `json:"server"`
	// Checks are the findings, in a fixed order.
	Checks []Check `json:"checks"`
}

// Count returns how many checks have the status.
func (r *Result) Count(s Status) int {
	n := 0
	for _, c := range r.Checks {
		if c.Status == s {
			n++
		}
	}
	return n
}

// Failed returns the failed checks.
func (r *Result) Failed() []Check {
	var out []Check
	for _, c := range r.Checks {
		if c.Status == Fail {
			out = append(out, c)
		}
	}
	return out
}

// Summary is the last line of the table: the counts per status.
func (r *Result) Summary() string {
	return fmt.Sprintf("%s on Kubernetes %s: %d passed, %d failed, %d warnings, %d not checkable",
		r.Profile, r.Server, r.Count(Pass), r.Count(Fail), r.Count(Warn), r.Count(NotCheckable))
}

// Formats are the output formats of Write.
var Formats = []string{"table", "json"}

// Write prints the result as a table (one line per check, the fix
// indented below a failed one, then Summary) or as JSON.
func (r *Result) Write(w io.Writer, format string) error {
	switch format {
	case "json":
		out := *r
		if out.Checks == nil {
			out.Checks = []Check{}
		}
		b, err := json.MarshalIndent(out, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	case "table":
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "STATUS\tCHECK\tSUBJECT\tDETAIL")
		for _, c := range r.Checks {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", strings.ToUpper(string(c.Status)), c.Name, c.Subject, c.Detail)
			if c.Fix != "" {
				fmt.Fprintf(tw, "\t\t\t  fix: %s\n", c.Fix)
			}
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		_, err := fmt.Fprintln(w, r.Summary())
		return err
	}
	return fmt.Errorf("format %q: allowed %s", format, strings.Join(Formats, ", "))
}
