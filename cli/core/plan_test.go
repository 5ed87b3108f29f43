package core

import (
	"bytes"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// runCLI runs the light command line with args.
func runCLI(args ...string) (string, string, error) {
	var out, errOut bytes.Buffer
	cmd := Root(&out, &errOut, Commands()...)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), errOut.String(), err
}

func TestPlanVerb(t *testing.T) {
	out, _, err := runCLI("plan", "minimal-3az", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Profile string
		Cost    struct {
			MonthlyRounded        int64
			PerDeviceCentsRounded float64
		}
	}
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatalf("plan -o json: %v\n%s", err, out)
	}
	if p.Profile != "minimal-3az" || p.Cost.MonthlyRounded != 608 || p.Cost.PerDeviceCentsRounded != 0.6 {
		t.Errorf("plan minimal-3az -o json: %+v; want $608 and 0.6 cents", p)
	}
	// The us-east-1 environment with a price for its instance type; the
	// mage spelling format= is --format.
	env := filepath.Join("..", "..", "envs", "us-east-1.yaml")
	out, _, err = runCLI("plan", "minimal-3az", "-f", env, "--set", `plan.prices.m7g\.xlarge=98`, "--format", "markdown")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "| thingsboard | m7g.xlarge | 6 | $98 | $588 | priced |") || !strings.Contains(out, "| thingsboard-us-east-1c-1 | us-east-1c |") {
		t.Errorf("plan -f us-east-1.yaml -o markdown: no m7g.xlarge cost or us-east-1c node:\n%s", out)
	}
	if out, _, err := runCLI("plan", "small"); err != nil || !strings.Contains(out, "NODES (REQUESTS AGAINST ALLOCATABLE)") {
		t.Errorf("plan small (table): %v\n%s", err, out)
	}
	if out, _, err := runCLI("plan", "100k", "-o", "svg"); err != nil || !strings.HasPrefix(out, "<svg ") {
		t.Errorf("plan 100k -o svg: %v\n%.200s", err, out)
	}
}

func TestPlanVerbBadInput(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"plan", "minimal-3az", "-o", "xml"}, `--output "xml": allowed table, markdown, json, svg`},
		{[]string{"plan", "minimal-3az", "-o", "json", "--format", "svg"}, "give one"},
		{[]string{"plan", "nosuch"}, `unknown profile "nosuch"`},
		{[]string{"plan", "all"}, "one profile at a time"},
		{[]string{"plan", "minimal-3az", "--set", "plan.overheadPercent=-1"}, "plan.overheadPercent"},
		{[]string{"plan", "minimal-3az", "--set", "plan.requireCost=true", "--set", "topology.pools[0].instanceType=x9.large"}, "plan.requireCost: no price for pool(s) thingsboard (x9.large)"},
		{[]string{"plan", "minimal-3az", "--bogus"}, "unknown flag: --bogus"},
		{[]string{"plan"}, "accepts 1 arg"},
	} {
		_, _, err := runCLI(c.args...)
		var ex *ExitError
		if !errors.As(err, &ex) || ex.Code != ExitUsage || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v; want exit %d with %q", strings.Join(c.args, " "), err, ExitUsage, c.want)
		}
	}
}

func TestMagePlanArgs(t *testing.T) {
	got := FoldMageArgs([]string{"mage", "plan", "profile=minimal-3az", "values=envs/us-east-1.yaml", "format=json"}, []string{"plan"})
	m, err := ParseMageArg(got[2])
	if err != nil {
		t.Fatal(err)
	}
	if want := "-f envs/us-east-1.yaml --format json"; m.Target != "minimal-3az" || strings.Join(m.Args, " ") != want {
		t.Errorf("mage plan args: %+v; want minimal-3az with %s", m, want)
	}
	var out, errOut bytes.Buffer
	if err := RunMage("plan", "profile=minimal-3az"+MageArgSep+"format=markdown", nil, &out, &errOut); err != nil || !strings.Contains(out.String(), "about $608 per month") {
		t.Errorf("RunMage plan: %v\n%s", err, out.String())
	}
}
