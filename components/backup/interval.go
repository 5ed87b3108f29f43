package backup

import (
	"fmt"
	"time"
)

// intervalFrom is the fixed start of MaxInterval's walk over a schedule's
// runs: a fixed instant, so that the result (rendered into scripts and
// alert rules) never depends on when it is computed.
var intervalFrom = time.Date(2025, time.January, 1, 0, 0, 0, 0, time.UTC)

// MaxInterval returns the longest time between two consecutive runs of a
// cron schedule (as CheckSchedule accepts it, in UTC) over 400 days, or
// over its first 20000 runs for a schedule that runs that often: how old
// the newest backup of a schedule may normally be, before the run's own
// duration. "0 1 * * *" gives 24h; "0 1 1 * *" 31 days.
func MaxInterval(expr string) (time.Duration, error) {
	if err := CheckSchedule(expr); err != nil {
		return 0, err
	}
	sched, err := scheduleParser.Parse(expr)
	if err != nil {
		return 0, err
	}
	end := intervalFrom.AddDate(0, 0, 400)
	prev := sched.Next(intervalFrom)
	if prev.IsZero() {
		return 0, fmt.Errorf("schedule %q never runs", expr)
	}
	var longest time.Duration
	for i := 0; i < 20000 && prev.Before(end); i++ {
		next := sched.Next(prev)
		if next.IsZero() {
			break
		}
		if d := next.Sub(prev); d > longest {
			longest = d
		}
		prev = next
	}
	if longest == 0 {
		return 0, fmt.Errorf("schedule %q runs once at most in 400 days; a backup schedule must repeat", expr)
	}
	return longest, nil
}
