// Package dojotbackup backs dojot's MongoDB and MinIO up to the stack's
// S3-compatible store (package backup) on a schedule, with retention, and
// renders the restore as a suspended CronJob to start by hand:
//
//   - MongoDB: a CronJob mongodb-backup whose pod runs mongodump (all
//     databases, one gzip archive, in the mongo image dojot's MongoDB
//     runs, which ships the database tools), then rclone uploads the
//     archive to <bucket>/<prefix>/mongodb/<UTC stamp>.archive.gz and
//     keeps the newest Retain archives. mongodb-restore downloads one
//     (RESTORE=latest or a stamp) and runs mongorestore --drop.
//   - MinIO: a CronJob minio-backup whose rclone copies every bucket to
//     <bucket>/<prefix>/minio/<UTC stamp>/<bucket>/ and keeps the newest
//     Retain copies. minio-restore copies one back into MinIO.
//
// The store's credentials are the Secret <datastore>-backup-s3 that
// backup.Store.Credentials declares (AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY, which rclone's env_auth reads), or the IAM role
// of the ServiceAccount <datastore>-backup (roleARN). Each backup brings
// its freshness alerts (kube-state-metrics' CronJob series).
//
// Image facts:
//   - rclone/rclone:1.75.0, read in rclone/rclone at tag v1.75.0
//     (2026-07-31): Dockerfile (FROM alpine, ENTRYPOINT rclone, a user
//     rclone with uid/gid 1009 that is not switched to); remotes from
//     RCLONE_CONFIG_<NAME>_<OPTION> variables (docs/content/docs.md);
//     the s3 options type, provider (AWS, Minio, Other), env_auth (the AWS
//     SDK's default chain, awsconfig.LoadDefaultConfig in backend/s3/s3.go:
//     environment, web identity token, instance metadata), region,
//     endpoint, force_path_style (default true), no_check_bucket
//     (docs/content/s3.md). The tests run Debian's rclone 1.60.1 with the
//     same options against versitygw.
//   - mongo:4.4.29 (components/dojot.MongoImage), read in
//     docker-library/mongo 4.4/Dockerfile at the commit that set
//     MONGO_VERSION 4.4.29 (2ce02fe, 2024-02-29): it installs
//     mongodb-org-tools, so mongodump and mongorestore are in the image;
//     user mongodb uid/gid 999; Ubuntu focal (dash as sh). The tools'
//     version is whatever mongodb-database-tools the repository served at
//     build time: not pinned by the Dockerfile, unverified here; the
//     options used (--config with the key password from 100.4.0, --archive,
//     --gzip, --drop, --nsExclude) are read in mongodb/mongo-tools 100.9.4.
//
// The pods run as uid/gid 999 (both images run as any user; rclone's
// HOME is /tmp) with read-only root file systems; the archive passes
// between the two containers on an emptyDir, so a dump must fit the
// pod's ephemeral storage. Only the rclone containers see the store's
// credentials, only the mongo containers MongoDB's password.
//
// What remains: the dump uses MongoDB's administrator (a dedicated user
// with the backup and restore roles would be narrower); a dump is not a
// point-in-time snapshot across collections (mongodump --oplog needs a
// replica set; dojot's MongoDB is a single mongod); MinIO's copies are
// full copies each time (no incremental); mongodump and mongorestore are
// stubbed in the tests (no MongoDB tools in Debian).
package dojotbackup

import (
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/iotstack/iotstack/components/backup"
	"github.com/iotstack/iotstack/components/dojot"
	"github.com/iotstack/iotstack/components/internal/sts"
	"github.com/iotstack/iotstack/stack"
)

const (
	// RcloneImage is the default rclone image, pinned.
	RcloneImage = "rclone/rclone:1.75.0"
	// uid runs both containers (the mongo image's mongodb user).
	uid = 999
	// LatestBackup restores the newest backup.
	LatestBackup = "latest"
)

// Config is one datastore's backup. Zero fields take defaults.
type Config struct {
	// Enabled schedules the backup; it needs backup.store.bucket.
	Enabled bool
	// Schedule is the cron schedule in UTC ("minute hour day-of-month
	// month day-of-week" or @daily); default "0 2 * * *" for MongoDB and
	// "30 2 * * *" for MinIO.
	Schedule string
	// Retain is how many backups the store keeps (the newest); default 7.
	Retain int
	// DeadlineMinutes bounds one run (the Job's activeDeadlineSeconds);
	// default 60.
	DeadlineMinutes int
	// RcloneImage overrides the pinned rclone image
	// (rclone/rclone:1.75.0).
	RcloneImage string
	// Resources are each container's; default 0.5 CPU / 256 MiB limits.
	Resources stack.Resources
	// Pool is the node pool the backup pods run on; set by the profile.
	Pool string `json:"-"`
	// Store is where the backups go; set by the profile from
	// backup.store.
	Store backup.Store `json:"-"`
}

// defaults fills zero fields, with schedule the datastore's default.
func (c *Config) defaults(schedule string) {
	if c.Schedule == "" {
		c.Schedule = schedule
	}
	if c.Retain == 0 {
		c.Retain = 7
	}
	if c.DeadlineMinutes == 0 {
		c.DeadlineMinutes = 60
	}
	if c.RcloneImage == "" {
		c.RcloneImage = RcloneImage
	}
	if c.Resources.IsZero() {
		c.Resources = stack.MustLimits("500m", "256Mi")
	}
}

// Validate checks the configuration (zero fields are the defaults).
func (c Config) Validate() error {
	c.defaults("0 2 * * *")
	// MaxInterval checks the schedule as the CronJob API does, and that
	// it repeats (the freshness alerts are sized from its interval).
	if _, err := backup.MaxInterval(c.Schedule); err != nil {
		return fmt.Errorf("schedule %q: %w", c.Schedule, err)
	}
	if c.Retain < 1 || c.Retain > 1000 {
		return fmt.Errorf("retain %d; allowed 1 to 1000 backups (0 is the default, 7)", c.Retain)
	}
	if c.DeadlineMinutes < 5 || c.DeadlineMinutes > 1440 {
		return fmt.Errorf("deadlineMinutes %d; allowed 5 to 1440 (0 is the default, 60)", c.DeadlineMinutes)
	}
	if err := sts.CheckImages("backup", [2]string{"rcloneImage", c.RcloneImage}); err != nil {
		return err
	}
	return c.Resources.Validate("resources")
}

// Handle is what a backup leaves for the profile and the operator.
type Handle struct {
	// Component owns the CronJobs.
	Component *stack.Component
	// CronJob is the scheduled backup; RestoreCronJob the suspended
	// restore to start with kubectl create job --from=cronjob/<name>.
	CronJob, RestoreCronJob string
	// URL is where the backups go, s3://<bucket>/<prefix>/<datastore>.
	URL string
}

// job is one datastore's pods: the backup's and the restore's containers
// (init containers run first, in order).
type job struct {
	datastore             string
	alertName             string // the datastore in alert names (MongoDB, MinIO)
	schedule              string
	scripts               map[string]string
	backupInit, backupRun []corev1.Container
	restoreInit           []corev1.Container
	restoreRun            []corev1.Container
	uses                  stack.Endpoint
}

// MongoDB adds the backup of dojot's MongoDB m.
func MongoDB(s *stack.Stack, m *dojot.MongoDB, cfg Config) (*Handle, error) {
	if m == nil || m.Component == nil {
		return nil, fmt.Errorf("mongodb.backup: dojot's MongoDB is required")
	}
	mongoEnv := []corev1.EnvVar{
		{Name: "MONGO_HOST", Value: m.Host}, {Name: "MONGO_PORT", Value: fmt.Sprint(m.Port)},
		{Name: "MONGO_USER", Value: m.User}, m.Password.EnvVar("MONGO_PASSWORD"),
	}
	mongo := func(name, script string) corev1.Container {
		return corev1.Container{Name: name, Image: dojot.MongoImage, Command: []string{"sh", "/scripts/" + script}, Env: mongoEnv}
	}
	rclone := func(name, script string) corev1.Container {
		return corev1.Container{Name: name, Image: cfg.RcloneImage, Command: []string{"sh", "/scripts/" + script}}
	}
	cfg.defaults("0 2 * * *")
	return build(s, cfg, job{
		datastore: "mongodb", alertName: "MongoDB", schedule: cfg.Schedule,
		scripts:     map[string]string{"dump.sh": mongoDump, "upload.sh": mongoUpload, "fetch.sh": mongoFetch, "restore.sh": mongoRestore},
		backupInit:  []corev1.Container{mongo("dump", "dump.sh")},
		backupRun:   []corev1.Container{rclone("upload", "upload.sh")},
		restoreInit: []corev1.Container{rclone("fetch", "fetch.sh")},
		restoreRun:  []corev1.Container{mongo("restore", "restore.sh")},
		uses:        m.Endpoint(),
	})
}

// MinIO adds the backup of dojot's MinIO m.
func MinIO(s *stack.Stack, m *dojot.MinIO, cfg Config) (*Handle, error) {
	if m == nil || m.Component == nil {
		return nil, fmt.Errorf("minio.backup: dojot's MinIO is required")
	}
	cfg.defaults("30 2 * * *")
	// The remote "minio": MinIO's S3 API with its own keys.
	env := []corev1.EnvVar{
		{Name: "RCLONE_CONFIG_MINIO_TYPE", Value: "s3"}, {Name: "RCLONE_CONFIG_MINIO_PROVIDER", Value: "Minio"},
		{Name: "RCLONE_CONFIG_MINIO_ENDPOINT", Value: m.URL}, {Name: "RCLONE_CONFIG_MINIO_REGION", Value: "us-east-1"},
		m.AccessKey.EnvVar("RCLONE_CONFIG_MINIO_ACCESS_KEY_ID"), m.SecretKey.EnvVar("RCLONE_CONFIG_MINIO_SECRET_ACCESS_KEY"),
	}
	rclone := func(name, script string) corev1.Container {
		return corev1.Container{Name: name, Image: cfg.RcloneImage, Command: []string{"sh", "/scripts/" + script}, Env: env}
	}
	return build(s, cfg, job{
		datastore: "minio", alertName: "MinIO", schedule: cfg.Schedule,
		scripts:    map[string]string{"backup.sh": minioBackup, "restore.sh": minioRestore},
		backupRun:  []corev1.Container{rclone("copy", "backup.sh")},
		restoreRun: []corev1.Container{rclone("restore", "restore.sh")},
		uses:       m.Endpoint(),
	})
}

// StoreEnv is the rclone remote "store" for st (RCLONE_CONFIG_STORE_*):
// AWS S3 in the store's region, or the store's endpoint with path-style
// addressing; credentials from the environment (env_auth). The bucket is
// not created or checked (no_check_bucket): it must exist.
func StoreEnv(st backup.Store) []corev1.EnvVar {
	provider := "AWS"
	if st.Endpoint != "" {
		provider = "Other"
	}
	env := []corev1.EnvVar{
		{Name: "RCLONE_CONFIG_STORE_TYPE", Value: "s3"},
		{Name: "RCLONE_CONFIG_STORE_PROVIDER", Value: provider},
		{Name: "RCLONE_CONFIG_STORE_ENV_AUTH", Value: "true"},
		{Name: "RCLONE_CONFIG_STORE_REGION", Value: st.EffectiveRegion()},
		{Name: "RCLONE_CONFIG_STORE_NO_CHECK_BUCKET", Value: "true"},
	}
	if st.Endpoint != "" {
		env = append(env, corev1.EnvVar{Name: "RCLONE_CONFIG_STORE_ENDPOINT", Value: st.Endpoint},
			corev1.EnvVar{Name: "RCLONE_CONFIG_STORE_FORCE_PATH_STYLE", Value: "true"})
	}
	return env
}

func build(s *stack.Stack, cfg Config, j job) (*Handle, error) {
	path := j.datastore + ".backup"
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if !cfg.Store.Enabled() {
		return nil, fmt.Errorf("%s: the store has no bucket; set backup.store.bucket", path)
	}
	if err := cfg.Store.Validate(); err != nil {
		return nil, fmt.Errorf("%s: backup.store: %w", path, err)
	}
	name := j.datastore + "-backup"
	c, err := s.AddComponent(name, stack.Meta{App: name, Role: "backup"})
	if err != nil {
		return nil, err
	}
	scripts := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name + "-scripts"}, Data: j.scripts}
	dest := cfg.Store.Bucket + "/" + cfg.Store.PrefixFor(s.Namespace(), j.datastore)
	// Every container gets HOME and WORK; only rclone's get the store
	// (its remote, DEST, RETAIN and credentials): the mongo containers
	// never see the store's keys, the rclone ones never MongoDB's password.
	common := []corev1.EnvVar{{Name: "HOME", Value: "/tmp"}, {Name: "WORK", Value: "/work"}}
	env := append(StoreEnv(cfg.Store),
		corev1.EnvVar{Name: "DEST", Value: dest},
		corev1.EnvVar{Name: "RETAIN", Value: fmt.Sprint(cfg.Retain)})
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}, AutomountServiceAccountToken: ptr.To(false)}
	if secret := cfg.Store.Credentials(c, j.datastore); secret != nil {
		env = append(env, secret.Ref(backup.AccessKeyID).EnvVar("AWS_ACCESS_KEY_ID"), secret.Ref(backup.SecretAccessKey).EnvVar("AWS_SECRET_ACCESS_KEY"))
	} else {
		sa.Annotations = map[string]string{backup.RoleARNAnnotation: cfg.Store.RoleARN}
	}
	finish := func(cs []corev1.Container, extra ...corev1.EnvVar) []corev1.Container {
		out := make([]corev1.Container, len(cs))
		for i, ct := range cs {
			ct.Env = append(append([]corev1.EnvVar(nil), ct.Env...), common...)
			if ct.Image == cfg.RcloneImage {
				ct.Env = append(append(ct.Env, env...), extra...)
			}
			ct.Resources = cfg.Resources.Requirements()
			ct.SecurityContext = stack.RestrictedContainerSecurityContext(true)
			ct.VolumeMounts = []corev1.VolumeMount{{Name: "scripts", MountPath: "/scripts", ReadOnly: true}, {Name: "work", MountPath: "/work"}, {Name: "tmp", MountPath: "/tmp"}}
			out[i] = ct
		}
		return out
	}
	restoreEnv := corev1.EnvVar{Name: "RESTORE", Value: LatestBackup}
	deadline := time.Duration(cfg.DeadlineMinutes) * time.Minute
	backupJob, err := cronJob(s, c, cronSpec{name: name, role: "backup", schedule: j.schedule, sa: sa.Name, pool: cfg.Pool, deadline: deadline, scripts: scripts,
		init: finish(j.backupInit), run: finish(j.backupRun)})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	restoreName := j.datastore + "-restore"
	restoreJob, err := cronJob(s, c, cronSpec{name: restoreName, role: "restore", schedule: j.schedule, sa: sa.Name, pool: cfg.Pool, deadline: deadline, scripts: scripts,
		init: finish(j.restoreInit, restoreEnv), run: finish(j.restoreRun, restoreEnv), suspend: true})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c.Add(sa, scripts, backupJob, restoreJob)
	c.Uses(j.uses)
	c.DependsOn(j.uses.Pods().Component())
	c.Alert(Alerts(j.alertName, s.Namespace(), name, j.schedule, deadline)...)
	return &Handle{Component: c, CronJob: name, RestoreCronJob: restoreName, URL: cfg.Store.URL(s.Namespace(), j.datastore)}, nil
}

type cronSpec struct {
	name, role, schedule, sa, pool string
	deadline                       time.Duration
	scripts                        *corev1.ConfigMap
	init, run                      []corev1.Container
	suspend                        bool
}

// cronJob builds one CronJob: never two runs at once, one finished Job of
// each outcome kept for its logs, two retries within the deadline.
func cronJob(s *stack.Stack, c *stack.Component, cs cronSpec) (*batchv1.CronJob, error) {
	sel := c.SelectorFor(cs.role)
	pod := corev1.PodSpec{
		RestartPolicy:                corev1.RestartPolicyNever,
		ServiceAccountName:           cs.sa,
		AutomountServiceAccountToken: ptr.To(false),
		EnableServiceLinks:           ptr.To(false),
		SecurityContext:              stack.RestrictedPodSecurityContext(stack.PodSecurity{UID: uid, GID: uid, FSGroup: uid}),
		InitContainers:               cs.init,
		Containers:                   cs.run,
		Volumes:                      []corev1.Volume{sts.ScriptVolume("scripts", cs.scripts.Name), sts.EmptyDir("work"), sts.EmptyDir("tmp")},
	}
	if err := s.Topology().Place(&pod, sel, stack.Placement{Pool: cs.pool}); err != nil {
		return nil, fmt.Errorf("%s placement: %w", cs.name, err)
	}
	return &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: cs.name},
		Spec: batchv1.CronJobSpec{
			Schedule:                   cs.schedule,
			TimeZone:                   ptr.To("Etc/UTC"),
			ConcurrencyPolicy:          batchv1.ForbidConcurrent,
			Suspend:                    ptr.To(cs.suspend),
			StartingDeadlineSeconds:    ptr.To(int64(cs.deadline.Seconds())),
			SuccessfulJobsHistoryLimit: ptr.To(int32(1)),
			FailedJobsHistoryLimit:     ptr.To(int32(1)),
			JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{
				BackoffLimit:          ptr.To(int32(2)),
				ActiveDeadlineSeconds: ptr.To(int64(cs.deadline.Seconds())),
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: sel, Annotations: map[string]string{sts.ChecksumAnnotation: sts.Checksum(cs.scripts)}},
					Spec:       pod,
				},
			}},
		},
	}, nil
}
