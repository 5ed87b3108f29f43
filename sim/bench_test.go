package sim

import (
	"context"
	"path/filepath"
	"testing"
)

// BenchmarkSimMinimal3AZ is the simulated cluster's speed target: with the
// tools cached, minimal-3az from start to every object ready (cluster up +
// apply + readiness) under 60 s, and the whole run with the zone drill
// under 3 minutes. Reported as ready-s and total-s.
func BenchmarkSimMinimal3AZ(b *testing.B) {
	root, err := filepath.Abs("..")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := EnsureTools(root, nil); err != nil {
		b.Fatal(err)
	}
	var ready, total float64
	for i := 0; i < b.N; i++ {
		r, err := Run(context.Background(), "minimal-3az", Options{Root: root})
		if err != nil {
			b.Fatal(err)
		}
		if len(r.Failures) > 0 {
			b.Fatalf("%v", r.Failures)
		}
		ready += (r.ClusterUp + r.Ready).Seconds()
		total += r.Total.Seconds()
	}
	b.ReportMetric(ready/float64(b.N), "ready-s")
	b.ReportMetric(total/float64(b.N), "total-s")
}
