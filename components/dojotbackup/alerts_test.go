package dojotbackup

import (
	"strings"
	"testing"
	"time"
)

func TestAlertThresholds(t *testing.T) {
	rules := Alerts("MongoDB", "dojot", "mongodb-backup", "0 2 * * 1", time.Hour)
	if len(rules) != 2 || rules[0].Alert != "MongoDBBackupStale" || rules[1].Alert != "MongoDBBackupFailing" {
		t.Fatalf("rules %+v", rules)
	}
	// A week between runs plus the hour of the deadline.
	if !strings.Contains(rules[0].Expr, "> 608400") || !strings.Contains(rules[0].Expr, `cronjob="mongodb-backup"`) {
		t.Errorf("BackupStale: %s", rules[0].Expr)
	}
	if rules[1].For != 70*time.Minute {
		t.Errorf("BackupFailing for %s; want the deadline and 10 minutes", rules[1].For)
	}
	if Alerts("X", "dojot", "x", "not a schedule", time.Hour) != nil {
		t.Error("alerts for a schedule that does not parse")
	}
}

// FuzzConfig: Validate never panics, and a schedule it accepts has alerts.
func FuzzConfig(f *testing.F) {
	f.Add("0 2 * * *", 7, 60, "rclone/rclone:1.75.0")
	f.Add("", 0, 0, "")
	f.Add("@every 1h", -1, 2, "latest")
	f.Fuzz(func(t *testing.T, schedule string, retain, deadline int, image string) {
		cfg := Config{Schedule: schedule, Retain: retain, DeadlineMinutes: deadline, RcloneImage: image}
		if cfg.Validate() != nil {
			return
		}
		cfg.defaults("0 2 * * *")
		if len(Alerts("X", "ns", "x-backup", cfg.Schedule, time.Duration(cfg.DeadlineMinutes)*time.Minute)) != 2 {
			t.Errorf("schedule %q accepted but gives no alerts", cfg.Schedule)
		}
	})
}
