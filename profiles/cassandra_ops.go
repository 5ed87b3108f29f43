package profiles

import (
	"github.com/iotstack/iotstack/components/cassandra"
	"github.com/iotstack/iotstack/components/reaper"
	"github.com/iotstack/iotstack/stack"
	"github.com/iotstack/iotstack/values"
)

// cassandraBackupErrors reports a Cassandra backup turned on without a
// store: an error naming both values paths.
func cassandraBackupErrors(c Common, b cassandra.Backup) []values.FieldError {
	if b.Enabled && !c.Backup.Store.Enabled() {
		return []values.FieldError{values.Errorf("cassandra.backup.enabled", true, "needs backup.store.bucket, which is empty; set backup.store (bucket, endpoint or region) or turn the backup off")}
	}
	return nil
}

// reaperErrors checks Reaper's pool against the topology.
func reaperErrors(t Topology, r reaper.Config) []values.FieldError {
	if !r.Enabled {
		return nil
	}
	return checkPools(t, map[string]string{"reaper.pool": r.Pool})
}

// addReaper renders Reaper for the Cassandra cluster when enabled, its
// volume on the profile's storage class unless set.
func addReaper(s *stack.Stack, cs *cassandra.Handle, r reaper.Config, class string) error {
	if !r.Enabled {
		return nil
	}
	if r.Storage.Class == "" {
		r.Storage.Class = class
	}
	_, err := reaper.New(s, cs, r)
	return err
}
