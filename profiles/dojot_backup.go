package profiles

import (
	"k8s.io/apimachinery/pkg/api/resource"

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
		leanBackup(v, &cfg)
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
		leanBackup(v, &cfg)
		if _, err := dojotbackup.MinIO(s, m, cfg); err != nil {
			return err
		}
	}
	return nil
}

// leanBackup gives a backup without resources the component's default
// limits (0.5 CPU / 256 MiB) with, under lean, memory requests of half
// the limits, as every dojot service.
func leanBackup(v *DojotValues, cfg *dojotbackup.Config) {
	if !cfg.Resources.IsZero() || !v.Lean {
		return
	}
	cfg.Resources = stack.MustLimits("500m", "256Mi")
	cfg.Resources.MemoryRequest = resource.MustParse("128Mi")
}
