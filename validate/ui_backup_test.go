package validate

import (
	"testing"

	"github.com/iotstack/iotstack/profiles"
)

// TestUIsAndDojotBackups: the operators' UIs (every one, two behind the
// ThingsBoard ALB) and dojot's MongoDB and MinIO backups (with a store
// set) pass every rule and the schemas.
func TestUIsAndDojotBackups(t *testing.T) {
	dirs := schemaDirs(t)
	store := []string{"backup.store.bucket=iot-backups", "backup.store.endpoint=http://s3.example.com"}
	for _, tc := range []struct {
		profile string
		sets    []string
	}{
		{profiles.Minimal3AZ, []string{"ui.kafka.path=/kafka-ui/", "ui.pgadmin.enabled=true", "ui.pgadmin.path=/pgadmin/", "ui.redisInsight.enabled=true", "ui.redisInsight.acceptTerms=true"}},
		{profiles.Small, append([]string{"ui.kafka.enabled=true", "ui.pgadmin.enabled=true", "mongodb.backup.enabled=true", "minio.backup.enabled=true"}, store...)},
		{profiles.Hundred, append([]string{"mongodb.backup.enabled=true", "backup.store.roleARN=arn:aws:iam::123456789012:role/iot-backup"}, store...)},
	} {
		p, err := profiles.Get(tc.profile)
		if err != nil {
			t.Fatal(err)
		}
		v, err := p.Load(nil, tc.sets)
		if err != nil {
			t.Fatal(err)
		}
		b, err := p.BuildValues(v)
		if err != nil {
			t.Fatal(err)
		}
		r, err := CheckStack(tc.profile, b.Stack, dirs)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range r.Findings {
			t.Errorf("%s: %s", tc.profile, f)
		}
	}
}
