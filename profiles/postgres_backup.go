package profiles

import (
	"github.com/iotstack/iotstack/components/postgres"
	"github.com/iotstack/iotstack/values"
)

// postgresBackup fills the PostgreSQL Config's object store (json:"-")
// from backup.store.
func postgresBackup(c *Common, pg postgres.Config) postgres.Config {
	pg.Backup.Store = c.Backup.Store
	return pg
}

// postgresBackupErrors reports PostgreSQL backup and restore settings that
// the shared store cannot serve, naming both values paths.
func postgresBackupErrors(c *Common, pg postgres.Config) []values.FieldError {
	var errs []values.FieldError
	for _, on := range []struct {
		path    string
		enabled bool
	}{{"postgres.backup.enabled", pg.Backup.Enabled}, {"postgres.restore.enabled", pg.Restore.Enabled}} {
		switch {
		case !on.enabled:
		case !c.Backup.Store.Enabled():
			errs = append(errs, values.Errorf(on.path, true, "backup.store.bucket is empty: set backup.store (bucket, endpoint or region, credentials) or turn %s off", on.path))
		case c.Backup.Store.RoleARN != "":
			errs = append(errs, values.Errorf(on.path, true, "backup.store.roleARN %q: %s", c.Backup.Store.RoleARN, postgres.RoleARNUnsupported))
		}
	}
	return errs
}
