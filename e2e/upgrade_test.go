package e2e

import (
	"strings"
	"testing"

	"github.com/iotstack/iotstack/components/thingsboard"
	"github.com/iotstack/iotstack/profiles"
)

// TestUpgradeSteps: the two stacks mage e2e applies for the upgrade
// render, each with its own install Job, and the first is a release the
// second's ThingsBoard upgrades from.
func TestUpgradeSteps(t *testing.T) {
	base := profiles.Options{Generic: true, RequestScale: 0.1, Demo: true}
	for version, job := range map[string]string{UpgradeFromVersion: "tb-install-4-2-1", upgradeTarget: "tb-install-4-3-1"} {
		opts := base
		opts.ThingsBoardVersion = version
		outs, err := profiles.Synth(opts, profiles.Minimal3AZ)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := installJob(outs[0]); err != nil || got != job {
			t.Errorf("version %s: install Job %q, %v; want %s", version, got, err, job)
		}
	}
	from, _ := thingsboard.SchemaVersion(UpgradeFromVersion)
	to, _ := thingsboard.SchemaVersion(upgradeTarget)
	if from >= to {
		t.Errorf("e2e upgrades from %s to %s: not an upgrade", UpgradeFromVersion, upgradeTarget)
	}
}

func TestCheckUpgrade(t *testing.T) {
	plan := "waiting for database thingsboard\nthe database records ThingsBoard 4.2.1: upgrading to 4.3.1\n"
	ok := map[string]string{"tb-core-a": "waiting for the schema of ThingsBoard 4.3.1 (ThingsBoard 4.2.1)\nthe schema of ThingsBoard 4.3.1 is in place\n"}
	if err := CheckUpgrade(plan, ok, "4.2.1", "4.3.1"); err != nil {
		t.Errorf("a good upgrade: %v", err)
	}
	for _, tc := range []struct {
		name  string
		plan  string
		waits map[string]string
		want  string
	}{
		{"fresh install", "ThingsBoard is not installed in thingsboard: installing 4.3.1\n", ok, "the install Job's plan did not say"},
		{"nothing done", "ThingsBoard 4.3.1 is installed already: nothing to do\n", ok, "the install Job's plan did not say"},
		{"no new pods", plan, nil, "no pod of 4.3.1 waited"},
		{"a pod gave up", plan, map[string]string{"tb-core-a": ok["tb-core-a"], "tb-core-b": "gave up after 3600s waiting for the schema of ThingsBoard 4.3.1\n"}, "pod tb-core-b did not find the database recording 4.3.1"},
	} {
		if err := CheckUpgrade(tc.plan, tc.waits, "4.2.1", "4.3.1"); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v; want %q", tc.name, err, tc.want)
		}
	}
}
