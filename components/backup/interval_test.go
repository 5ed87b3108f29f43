package backup

import (
	"strings"
	"testing"
	"time"
)

func TestMaxInterval(t *testing.T) {
	for _, tc := range []struct {
		expr string
		want time.Duration
	}{
		{"0 1 * * *", 24 * time.Hour},
		{"@daily", 24 * time.Hour},
		{"*/15 * * * *", 15 * time.Minute},
		{"0 1 * * 1-5", 72 * time.Hour},    // Friday 01:00 to Monday 01:00
		{"0 1 1 * *", 31 * 24 * time.Hour}, // the longest month
		{"0 */6 * * *", 6 * time.Hour},
		{"30 2 * * 0", 7 * 24 * time.Hour},
	} {
		got, err := MaxInterval(tc.expr)
		if err != nil || got != tc.want {
			t.Errorf("MaxInterval(%q) = %s, %v; want %s", tc.expr, got, err, tc.want)
		}
	}
	for _, tc := range []struct{ expr, want string }{
		{"", "empty"},
		{"0 25 * * *", "not a cron schedule"},
		{"0 0 30 2 *", "never runs"},
	} {
		if _, err := MaxInterval(tc.expr); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("MaxInterval(%q) = %v; want an error containing %q", tc.expr, err, tc.want)
		}
	}
}
