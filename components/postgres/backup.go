package postgres

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/iotstack/iotstack/components/backup"
	"github.com/iotstack/iotstack/components/internal/sts"
	"github.com/iotstack/iotstack/stack"
)

// Backups and point-in-time restore go through what Spilo 4.0-p3 (Image)
// ships: WAL-G v3.0.5 (postgres-appliance/Dockerfile, ENV
// WALG_VERSION=v3.0.5), configured from environment variables by
// postgres-appliance/scripts/configure_spilo.py at tag 4.0-p3. What that
// script does with the variables rendered here:
//
//   - get_placeholders reads os.environ; WALG_S3_PREFIX (one of
//     AUTO_ENABLE_WALG_RESTORE) turns USE_WALE on, hence archive_mode on
//     (the template's bootstrap parameters) with archive_command
//     'envdir "$WALE_ENV_DIR" wal-g wal-push "%p"' when USE_WALG_BACKUP
//     is "true" (set_walg_placeholders keeps "true" only then), and the
//     crontab line '<BACKUP_SCHEDULE> envdir "$WALE_ENV_DIR"
//     /scripts/postgres_backup.sh "$PGDATA"' (write_crontab); its
//     defaults are BACKUP_SCHEDULE '0 1 * * *' and BACKUP_NUM_TO_RETAIN 5.
//   - write_wale_environment copies WALG_S3_PREFIX, AWS_ACCESS_KEY_ID,
//     AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT, AWS_REGION,
//     WALG_BACKUP_FROM_REPLICA, USE_WALG_BACKUP/RESTORE and
//     BACKUP_NUM_TO_RETAIN into the envdir that archive_command, the
//     cron job and restore_command run with (the container's environment
//     does not reach them otherwise). With AWS_ENDPOINT set it derives
//     WALE_S3_ENDPOINT with the path convention, writes
//     AWS_S3_FORCE_PATH_STYLE=true and WALG_DISABLE_S3_SSE=true, and keeps
//     AWS_REGION (USE_WALG_BACKUP is "true"); without an endpoint it keeps
//     AWS_REGION and WAL-G encrypts with SSE AES256. So
//     AWS_S3_FORCE_PATH_STYLE is Spilo's to set, not ours.
//   - WAL_BUCKET_SCOPE_PREFIX/SUFFIX only shape the path Spilo builds from
//     WAL_S3_BUCKET (/spilo/<prefix><scope><suffix>/wal/<PGVERSION>);
//     with WALG_S3_PREFIX given it builds WALE_S3_PREFIX from an empty
//     bucket, which WAL-G ignores: WAL-G v3.0.5 reads WALG_S3_PREFIX
//     before WALE_S3_PREFIX (internal/config/config.go,
//     GetWaleCompatibleSettingFrom). The prefix is therefore exactly
//     ArchivePrefix.
//   - postgres_backup.sh (the cron job) exits on a primary when
//     WALG_BACKUP_FROM_REPLICA is "true" and on a replica otherwise, runs
//     "wal-g backup-push", and deletes with "wal-g delete before
//     FIND_FULL <name> --confirm" the backups beyond the newest
//     BACKUP_NUM_TO_RETAIN that are also older than BACKUP_NUM_TO_RETAIN
//     days, raising both to at least 2.
//   - CLONE_METHOD=CLONE_WITH_WALE with CLONE_SCOPE and
//     CLONE_WALG_S3_PREFIX makes Patroni bootstrap with
//     /scripts/clone_with_wale.py --recovery-target-time=CLONE_TARGET_TIME
//     (which refuses a time without a time zone), from the envdir that
//     write_wale_environment(prefix "CLONE_") writes from the CLONE_AWS_*
//     variables; recovery_target_timeline is CLONE_TARGET_TIMELINE
//     ('latest'), recovery_target_action promote.
//
// ENVIRONMENT.rst at 4.0-p3 documents the same variables
// (BACKUP_SCHEDULE, USE_WALG_BACKUP/USE_WALG_RESTORE "enforce using
// wal-g instead of wal-e", AWS_ENDPOINT, AWS_REGION, WALG_BACKUP_FROM_REPLICA,
// CLONE_TARGET_TIMELINE) and still calls WAL-E the S3 default, which is
// why both USE_WALG_* are set.
//
// Credentials come from the declared Secret <name>-backup-s3. A role
// (backup.store.roleARN, EKS IRSA) is refused for PostgreSQL: WAL-G
// v3.0.5 calls sts:AssumeRole on AWS_ROLE_ARN with AWS_ROLE_SESSION_NAME
// (pkg/storages/s3/session.go), which IRSA does not set and Spilo's
// envdir does not carry (not in write_wale_environment's names), so every
// archive_command would fail (wal-g/wal-g#1810, fixed by #1906 in v3.0.6).

// pgMajor is the PostgreSQL major version the instances run (PGVERSION).
const pgMajor = "17"

// Backup configures continuous WAL archiving and scheduled base backups
// to the stack's object store with Spilo's WAL-G, and a restore drill.
type Backup struct {
	// Enabled turns archiving, base backups and the restore drill on;
	// backup.store.bucket must be set.
	Enabled bool `json:"enabled"`
	// Schedule is when base backups are taken, a cron schedule in UTC;
	// default "0 1 * * *" (Spilo's BACKUP_SCHEDULE default).
	Schedule string `json:"schedule"`
	// Retain is how many base backups are kept (BACKUP_NUM_TO_RETAIN),
	// default 5 (0 means the default), at most 1000. Spilo deletes a
	// backup only when more than that many are newer and it is also
	// older than that many days, and raises both to 2 at least.
	Retain int `json:"retain" min:"0" max:"1000"`
	// FromReplica takes base backups on a replica instead of the
	// primary (WALG_BACKUP_FROM_REPLICA); WAL is archived by the primary
	// either way.
	FromReplica bool `json:"fromReplica"`
	// DrillSchedule is when the restore drill runs (a CronJob that
	// restores the newest base backup and the WAL after it into an
	// empty directory and starts PostgreSQL on it); default "0 5 * * *",
	// four hours after the default backup.
	DrillSchedule string `json:"drillSchedule"`
	// Store is the object store, filled by the profile from
	// backup.store.
	Store backup.Store `json:"-"`
}

// Restore builds the cluster as a point-in-time clone of a backup in the
// object store (Spilo's CLONE_WITH_WALE). It acts only when Patroni
// bootstraps a new cluster (no Patroni state in the Kubernetes API and
// empty volumes); see the README for restoring in place.
type Restore struct {
	// Enabled bootstraps the cluster from the backup instead of initdb.
	Enabled bool `json:"enabled"`
	// FromCluster is the source cluster's name (its Patroni scope,
	// postgres.name there); default this cluster's name.
	FromCluster string `json:"fromCluster"`
	// FromPrefix is the backup.store.prefix the source stack wrote with
	// (its backups are under <fromPrefix>/<fromCluster>/wal/17 in the
	// same bucket); default this stack's prefix (backup.store.prefix, or
	// the namespace).
	FromPrefix string `json:"fromPrefix"`
	// TargetTime is the point in time to recover to, RFC 3339 with a
	// zone offset ("2026-12-01T09:30:00+01:00" or "...Z"); empty
	// recovers to the end of the archived WAL.
	TargetTime string `json:"targetTime"`
}

// defaults fills zero fields.
func (b *Backup) defaults() {
	if b.Schedule == "" {
		b.Schedule = "0 1 * * *"
	}
	if b.Retain == 0 {
		b.Retain = 5
	}
	if b.DrillSchedule == "" {
		b.DrillSchedule = "0 5 * * *"
	}
}

// checkStore checks the object store when backups or a restore are on.
// New calls it, not Validate: the store is not part of the values
// (json:"-"), the profile fills it from backup.store and reports a
// missing bucket with both values paths.
func (c Config) checkStore() error {
	b, r := c.Backup, c.Restore
	if !b.Enabled && !r.Enabled {
		return nil
	}
	what := "backup.enabled"
	if !b.Enabled {
		what = "restore.enabled"
	}
	if !b.Store.Enabled() {
		return fmt.Errorf("postgres: %s is true but the object store has no bucket (backup.store.bucket); set the bucket or turn %s off", what, what)
	}
	if err := b.Store.Validate(); err != nil {
		return fmt.Errorf("postgres: backup.store: %w", err)
	}
	if b.Store.RoleARN != "" {
		return fmt.Errorf("postgres: %s with backup.store.roleARN %q: %s", what, b.Store.RoleARN, RoleARNUnsupported)
	}
	return nil
}

// RoleARNUnsupported says why PostgreSQL backups refuse a store role.
const RoleARNUnsupported = "not supported with Spilo 4.0-p3, whose WAL-G v3.0.5 needs AWS_ROLE_SESSION_NAME for a role (wal-g/wal-g#1810, fixed in v3.0.6) and Spilo does not pass it; use a credentials Secret (roleARN empty)"

// validateBackup checks the Backup and Restore fields of a defaulted
// Config (the store is checkStore's).
func (c Config) validateBackup() error {
	b, r := c.Backup, c.Restore
	if b.Enabled {
		if err := backup.CheckSchedule(b.Schedule); err != nil {
			return fmt.Errorf("postgres: backup.schedule %q: %v", b.Schedule, err)
		}
		if _, err := backup.MaxInterval(b.Schedule); err != nil {
			return fmt.Errorf("postgres: backup.schedule %q: %v", b.Schedule, err)
		}
		if b.Retain < 1 || b.Retain > 1000 {
			return fmt.Errorf("postgres: backup.retain %d; allowed 1 to 1000 base backups", b.Retain)
		}
		if b.FromReplica && c.Instances < 2 {
			return fmt.Errorf("postgres: backup.fromReplica with instances %d: there is no replica to take base backups on (Spilo's postgres_backup.sh skips the primary then); set instances to 2 or more or fromReplica false", c.Instances)
		}
		if err := backup.CheckSchedule(b.DrillSchedule); err != nil {
			return fmt.Errorf("postgres: backup.drillSchedule %q: %v", b.DrillSchedule, err)
		}
		if _, err := backup.MaxInterval(b.DrillSchedule); err != nil {
			return fmt.Errorf("postgres: backup.drillSchedule %q: %v", b.DrillSchedule, err)
		}
	} else if b.Retain < 0 {
		return fmt.Errorf("postgres: backup.retain %d; allowed 1 to 1000 base backups", b.Retain)
	}
	if r.FromCluster != "" {
		if err := checkScope(r.FromCluster); err != nil {
			return fmt.Errorf("postgres: restore.fromCluster %q: %v", r.FromCluster, err)
		}
	}
	if p := r.FromPrefix; p != "" && (strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") || strings.Contains(p, "//") || strings.ContainsAny(p, " \t\n\\")) {
		return fmt.Errorf("postgres: restore.fromPrefix %q: a key prefix without leading or trailing slash, empty segments or whitespace (e.g. \"iot/prod\")", p)
	}
	if r.TargetTime != "" {
		if _, err := ParseTargetTime(r.TargetTime); err != nil {
			return fmt.Errorf("postgres: restore.targetTime %q: %v", r.TargetTime, err)
		}
	}
	return nil
}

// checkScope accepts a cluster name as Config.Name does.
func checkScope(name string) error {
	return sts.CheckName("postgres", name, 30)
}

// ParseTargetTime reads a restore target time: RFC 3339 with a zone
// offset or Z. A time without a zone is refused, as Spilo's
// clone_with_wale.py refuses it ("recovery target time must contain a
// timezone"), since PostgreSQL would read it in the server's zone.
func ParseTargetTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("not an RFC 3339 time with a zone offset, e.g. \"2026-12-01T09:30:00+01:00\" or \"2026-12-01T08:30:00Z\" (a time without a zone is ambiguous)")
	}
	return t, nil
}

// RecoveryTargetTime formats t for PostgreSQL's recovery_target_time (and
// Spilo's CLONE_TARGET_TIME): "2006-01-02 15:04:05.999999-07:00", the
// ISO form PostgreSQL's timestamptz input reads, keeping the offset
// given. The restore drill test recovers to a time formatted by it.
func RecoveryTargetTime(t time.Time) string {
	return t.Format("2006-01-02 15:04:05.999999-07:00")
}

// ArchivePrefix is WALG_S3_PREFIX of a cluster: s3://<bucket>/<prefix>/
// <cluster>/wal/<major>, where prefix is the store's prefix (default the
// namespace). The major version keeps the archives of two major versions
// apart, as Spilo's own layout (/spilo/<scope>/wal/<PGVERSION>) does.
func ArchivePrefix(store backup.Store, namespace, cluster string) string {
	return store.URL(namespace, cluster) + "/wal/" + pgMajor
}

// restorePrefix is CLONE_WALG_S3_PREFIX.
func (c Config) restorePrefix(namespace string) string {
	store := c.Backup.Store
	if c.Restore.FromPrefix != "" {
		store.Prefix = c.Restore.FromPrefix
	}
	return ArchivePrefix(store, namespace, c.restoreScope())
}

func (c Config) restoreScope() string {
	if c.Restore.FromCluster != "" {
		return c.Restore.FromCluster
	}
	return c.Name
}

// s3Env are WAL-G's S3 settings, named with prefix ("" or "CLONE_").
func s3Env(prefix string, store backup.Store, creds *stack.SecretSpec) []corev1.EnvVar {
	var env []corev1.EnvVar
	if store.Endpoint != "" {
		env = append(env, corev1.EnvVar{Name: prefix + "AWS_ENDPOINT", Value: strings.TrimSuffix(store.Endpoint, "/")})
	}
	if r := store.EffectiveRegion(); r != "" {
		env = append(env, corev1.EnvVar{Name: prefix + "AWS_REGION", Value: r})
	}
	if creds != nil {
		env = append(env,
			creds.Ref(backup.AccessKeyID).EnvVar(prefix+"AWS_ACCESS_KEY_ID"),
			creds.Ref(backup.SecretAccessKey).EnvVar(prefix+"AWS_SECRET_ACCESS_KEY"))
	}
	return env
}

// backupEnv are the Spilo variables of archiving, base backups and the
// clone bootstrap (see the comment at the top of this file).
func backupEnv(cfg Config, namespace string, creds *stack.SecretSpec) []corev1.EnvVar {
	var env []corev1.EnvVar
	if b := cfg.Backup; b.Enabled {
		env = append(env,
			corev1.EnvVar{Name: "USE_WALG_BACKUP", Value: "true"},
			corev1.EnvVar{Name: "USE_WALG_RESTORE", Value: "true"},
			corev1.EnvVar{Name: "WALG_S3_PREFIX", Value: ArchivePrefix(b.Store, namespace, cfg.Name)},
		)
		env = append(env, s3Env("", b.Store, creds)...)
		env = append(env,
			corev1.EnvVar{Name: "BACKUP_SCHEDULE", Value: b.Schedule},
			corev1.EnvVar{Name: "BACKUP_NUM_TO_RETAIN", Value: fmt.Sprint(b.Retain)},
		)
		if b.FromReplica {
			env = append(env, corev1.EnvVar{Name: "WALG_BACKUP_FROM_REPLICA", Value: "true"})
		}
	}
	if r := cfg.Restore; r.Enabled {
		env = append(env,
			corev1.EnvVar{Name: "CLONE_METHOD", Value: "CLONE_WITH_WALE"},
			corev1.EnvVar{Name: "CLONE_SCOPE", Value: cfg.restoreScope()},
			corev1.EnvVar{Name: "CLONE_USE_WALG_RESTORE", Value: "true"},
			corev1.EnvVar{Name: "CLONE_WALG_S3_PREFIX", Value: cfg.restorePrefix(namespace)},
		)
		env = append(env, s3Env("CLONE_", cfg.Backup.Store, creds)...)
		if r.TargetTime != "" {
			t, _ := ParseTargetTime(r.TargetTime) // validated
			env = append(env, corev1.EnvVar{Name: "CLONE_TARGET_TIME", Value: RecoveryTargetTime(t)})
		}
	}
	return env
}
