package profiles

import (
	"github.com/iotstack/iotstack/components/cassandra"
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
