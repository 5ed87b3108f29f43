package profiles

import (
	"github.com/iotstack/iotstack/components/dojot"
	"github.com/iotstack/iotstack/components/dojotbackup"
	"github.com/iotstack/iotstack/stack"
	"github.com/iotstack/iotstack/values"
)

// validateBackups checks that an enabled backup has a store and its
// datastore (the values walk runs each backup Config's own Validate).
func (v *DojotValues) validateBackups() []values.FieldError {
	var errs []values.FieldError
	for _, b := range []struct {
		path, service string
		on            bool
	}{{"mongodb.backup.enabled", "mongodb", v.MongoDB.Backup.Enabled}, {"minio.backup.enabled", "minio", v.MinIO.Backup.Enabled}} {
		if !b.on {
			continue
		}
		if !v.Backup.Store.Enabled() {
			errs = append(errs, values.Errorf(b.path, true, "needs a store: backup.store.bucket is empty (set backup.store.bucket, and endpoint or region)"))
		}
		if !contains(v.Services, b.service) {
			errs = append(errs, values.Errorf(b.path, true, "services has no %s to back up (%s renders it: small does, 100k has no minio)", b.service, b.service))
		}
	}
	return errs
}

// buildDojotBackups adds the enabled MongoDB and MinIO backups to s, on
// the dojot group's pool, writing to backup.store.
func buildDojotBackups(s *stack.Stack, v *DojotValues, pool string) error {
	if v.MongoDB.Backup.Enabled {
		m, err := dojot.MongoDBOf(s)
		if err != nil {
			return err
		}
		cfg := v.MongoDB.Backup
		cfg.Store, cfg.Pool = v.Backup.Store, pool
		if _, err := dojotbackup.MongoDB(s, m, cfg); err != nil {
			return err
		}
	}
	if v.MinIO.Backup.Enabled {
		m, err := dojot.MinIOOf(s)
		if err != nil {
			return err
		}
		cfg := v.MinIO.Backup
		cfg.Store, cfg.Pool = v.Backup.Store, pool
		if _, err := dojotbackup.MinIO(s, m, cfg); err != nil {
			return err
		}
	}
	return nil
}
