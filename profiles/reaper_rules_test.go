package profiles

// reaperRuleCases are the promtool cases of Reaper's alerts (minimal-3az
// renders Reaper by default): each fires on its failure and stays silent
// through a node drain or a repair run that finishes late within its
// window.
func reaperRuleCases(l func(kv ...string) map[string]string) []ruleCase {
	up := `up{job="reaper",namespace="thingsboard",pod="reaper-0"}`
	unfulfilled := `io_cassandrareaper_service_RepairScheduleService_unfulfilledRepairSchedule{job="reaper",namespace="thingsboard",pod="reaper-0",cluster="cassandra",keyspace="thingsboard",scheduleid="1"}`
	since := `io_cassandrareaper_service_RepairScheduleService_millisSinceLastRepairForSchedule{job="reaper",namespace="thingsboard",pod="reaper-0",cluster="cassandra",keyspace="thingsboard",scheduleid="1"}`
	reaper := l("severity", "warning", "component", "reaper")
	return []ruleCase{
		{"Reaper down for good", "ReaperDown", map[string]string{up: "1x2 0x100"}, "40m", []map[string]string{reaper}},
		{"Reaper never scraped", "ReaperDown", map[string]string{`up{job="cassandra",namespace="thingsboard",pod="cassandra-a-0"}`: "1x100"}, "40m",
			[]map[string]string{l("severity", "warning", "component", "reaper", "job", "reaper")}},
		{"node drain, Reaper rescheduled", "ReaperDown", map[string]string{up: "1x2 0x40 1x100"}, "60m", nil},
		{"keyspace not repaired in time", "CassandraRepairOverdue", map[string]string{unfulfilled: "0x2 1x200"}, "90m",
			[]map[string]string{l("severity", "warning", "component", "reaper", "cluster", "cassandra", "keyspace", "thingsboard")}},
		{"a late run that completes", "CassandraRepairOverdue", map[string]string{unfulfilled: "0x2 1x100 0x100"}, "100m", nil},
		{"first run never completes", "CassandraRepairNeverCompleted", map[string]string{since: "1800000000000+30000x27000"}, "217h",
			[]map[string]string{l("severity", "warning", "component", "reaper", "cluster", "cassandra", "keyspace", "thingsboard")}},
		{"first run pending for an hour", "CassandraRepairNeverCompleted", map[string]string{since: "1800000000000+30000x200"}, "1h", nil},
		{"repaired two days ago", "CassandraRepairNeverCompleted", map[string]string{since: "172800000+30000x200"}, "1h", nil},
		{"no schedule", "ReaperNoRepairSchedule", map[string]string{up: "1x400"}, "150m", []map[string]string{reaper}},
		{"scheduled", "ReaperNoRepairSchedule", map[string]string{up: "1x400", since: "1000+60000x400"}, "150m", nil},
	}
}
