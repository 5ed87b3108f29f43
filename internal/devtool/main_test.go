package main

import (
	"context"
	"strings"
	"testing"
)

func TestRunRefusesBadTargets(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "usage: devtool"},
		{[]string{"nosuch"}, `nosuch: unknown target`},
		{[]string{"sim"}, "sim: unknown target or wrong arguments"},
		{[]string{"validate", "extra"}, "validate: unknown target or wrong arguments"},
		{[]string{"sim", "profile=nosuch"}, `unknown profile "nosuch"`},
		{[]string{"e2e", "nosuch"}, `unknown profile "nosuch"`},
		{[]string{"drill"}, "drill: unknown target or wrong arguments"},
		{[]string{"drill", "profile=nosuch"}, `unknown profile "nosuch"`},
	} {
		err := run(context.Background(), tc.args)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("run(%q) = %v, want an error containing %q", tc.args, err, tc.want)
		}
	}
}
