package validate

import (
	"testing"

	batchv1 "k8s.io/api/batch/v1"

	"github.com/iotstack/iotstack/profiles"
	"github.com/iotstack/iotstack/values"
)

// TestMinimal3AZCassandraBackup: minimal-3az with a store and Cassandra's
// backups on passes every rule and the schemas (CronJobs with a time zone,
// pod affinity, the node's claim), with one backup and one suspended
// restore CronJob per zone.
func TestMinimal3AZCassandraBackup(t *testing.T) {
	dirs := schemaDirs(t)
	p, err := profiles.Get(profiles.Minimal3AZ)
	if err != nil {
		t.Fatal(err)
	}
	doc := "backup:\n  store: {bucket: iot-backups, endpoint: \"http://s3.example.com\"}\ncassandra:\n  backup: {enabled: true}\n"
	v, err := p.Load([]values.Doc{{Name: "backup.yaml", Data: []byte(doc)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.BuildValues(v)
	if err != nil {
		t.Fatal(err)
	}
	r, err := CheckStack("cassandra-backup", b.Stack, dirs)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range r.Findings {
		t.Errorf("%s", f)
	}
	out, err := b.Stack.Synth()
	if err != nil {
		t.Fatal(err)
	}
	suspended := map[bool]int{}
	for _, o := range out.Objects {
		if cj, ok := o.Object.(*batchv1.CronJob); ok {
			suspended[*cj.Spec.Suspend]++
		}
	}
	if suspended[false] != 3 || suspended[true] != 3 {
		t.Errorf("CronJobs: %d backups, %d suspended restores; want 3 of each", suspended[false], suspended[true])
	}
}
