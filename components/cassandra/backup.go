package cassandra

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/iotstack/iotstack/components/backup"
	"github.com/iotstack/iotstack/components/internal/sts"
	"github.com/iotstack/iotstack/stack"
)

// UploaderImage is the rclone image whose program uploads the snapshots.
// rclone's Dockerfile (github.com/rclone/rclone, tag v1.75.0) builds it
// with ARG CGO_ENABLED=0, a static binary, and copies it to
// /usr/local/bin/rclone on alpine (ENTRYPOINT rclone, no USER); its
// release workflow (.github/workflows/build_publish_docker_image.yml)
// tags rclone/rclone with the bare version and builds linux/amd64 and
// linux/arm64 among others. The backup Job's init container copies that
// static program next to nodetool in the Cassandra image, so one script
// runs both.
const UploaderImage = "rclone/rclone:1.75.0"

// Backup configures the snapshot backups of every node to the object
// store (the ThingsBoard article's "Backup-job" rows, one per zone).
type Backup struct {
	// Enabled turns the backups on; backup.store.bucket must then be set.
	Enabled bool `json:"enabled"`
	// Schedule is when the first zone's backups start, as a cron schedule
	// "MINUTE HOUR DAY-OF-MONTH MONTH DAY-OF-WEEK" in UTC whose minute and
	// hour are single numbers (at most one backup a day); the other zones
	// start StaggerMinutes apart, in zone order, the same day. Default
	// "0 2 * * *" (02:00, 03:00 and 04:00 UTC with three zones).
	Schedule string `json:"schedule"`
	// StaggerMinutes separates the zones' start times, 15 to 720; default
	// 60. It is also each backup's deadline: a backup still running then
	// is stopped (and alerts), so two zones never back up at the same time.
	StaggerMinutes int `json:"staggerMinutes"`
	// Retain is how long uploaded snapshots are kept: a whole number of
	// days or hours ("7d", "36h"), at least 24h; default "7d". Older
	// snapshots are deleted after each successful backup, so the newest
	// one is never deleted even when backups stop.
	Retain string `json:"retain"`
	// UploaderImage overrides the pinned rclone image (UploaderImage).
	UploaderImage string `json:"uploaderImage"`
	// Store is where the snapshots go, set by the profile from
	// backup.store.
	Store backup.Store `json:"-"`
}

// Default fills zero fields with the defaults.
func (b *Backup) Default() {
	if b.Schedule == "" {
		b.Schedule = "0 2 * * *"
	}
	if b.StaggerMinutes == 0 {
		b.StaggerMinutes = 60
	}
	if b.Retain == "" {
		b.Retain = "7d"
	}
	if b.UploaderImage == "" {
		b.UploaderImage = UploaderImage
	}
}

var retainRE = regexp.MustCompile(`^([1-9][0-9]{0,4})(d|h)$`)

// RetainSeconds parses Retain ("7d", "36h").
func (b Backup) RetainSeconds() (int64, error) {
	m := retainRE.FindStringSubmatch(b.Retain)
	if m == nil {
		return 0, fmt.Errorf("cassandra: backup.retain %q; allowed: a whole number of days or hours, e.g. \"7d\" or \"36h\"", b.Retain)
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	unit := int64(3600)
	if m[2] == "d" {
		unit = 86400
	}
	s := n * unit
	if s < 86400 || s > 3650*86400 {
		return 0, fmt.Errorf("cassandra: backup.retain %q; allowed 24h to 3650d (a daily backup needs a day to replace the one before)", b.Retain)
	}
	return s, nil
}

// startMinute parses Schedule's minute and hour: the first zone's start,
// in minutes after midnight.
func (b Backup) startMinute() (int, error) {
	if err := backup.CheckSchedule(b.Schedule); err != nil {
		return 0, fmt.Errorf("cassandra: backup.schedule %q: %v", b.Schedule, err)
	}
	f := strings.Fields(b.Schedule)
	bad := fmt.Errorf("cassandra: backup.schedule %q; its minute and hour must be single numbers (e.g. \"0 2 * * *\"), so that the other zones can start staggerMinutes later the same day", b.Schedule)
	if len(f) != 5 {
		return 0, bad
	}
	m, err1 := strconv.Atoi(f[0])
	h, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil || m < 0 || m > 59 || h < 0 || h > 23 {
		return 0, bad
	}
	return h*60 + m, nil
}

// Schedules returns each zone's cron schedule: the first zone's Schedule,
// the next StaggerMinutes later, and so on. zones is the number of zones.
func (b Backup) Schedules(zones int) ([]string, error) {
	b.Default()
	start, err := b.startMinute()
	if err != nil {
		return nil, err
	}
	if b.StaggerMinutes < 15 || b.StaggerMinutes > 720 {
		return nil, fmt.Errorf("cassandra: backup.staggerMinutes %d; allowed 15 to 720", b.StaggerMinutes)
	}
	last := start + (zones-1)*b.StaggerMinutes
	if last+b.StaggerMinutes > 24*60 {
		return nil, fmt.Errorf("cassandra: backup.schedule %q with staggerMinutes %d: the last of %d zones would start at %02d:%02d and may run until %d minutes past midnight; start earlier or stagger less, so that every zone backs up the same day",
			b.Schedule, b.StaggerMinutes, zones, (last/60)%24, last%60, last+b.StaggerMinutes-24*60)
	}
	rest := strings.Join(strings.Fields(b.Schedule)[2:], " ")
	var out []string
	for z := 0; z < zones; z++ {
		t := start + z*b.StaggerMinutes
		out = append(out, fmt.Sprintf("%d %d %s", t%60, t/60, rest))
	}
	return out, nil
}

// Validate checks an enabled backup (a disabled one is not checked) on a
// topology of zones zones, with its store.
func (b Backup) Validate(zones int) error {
	if !b.Enabled {
		return nil
	}
	if !b.Store.Enabled() {
		return fmt.Errorf("cassandra: backup.enabled is true but backup.store.bucket is empty; set the store or turn the backup off")
	}
	if err := b.Store.Validate(); err != nil {
		return fmt.Errorf("cassandra: backup.store: %w", err)
	}
	return b.check(zones)
}

// check validates the settings but the store (set by the profile after
// the values are validated).
func (b Backup) check(zones int) error {
	if !b.Enabled {
		return nil
	}
	b.Default()
	if _, err := b.Schedules(zones); err != nil {
		return err
	}
	if _, err := b.RetainSeconds(); err != nil {
		return err
	}
	return sts.CheckImages("cassandra", [2]string{"backup.uploaderImage", b.UploaderImage})
}

// BackupJob names one node's backup CronJob and restore template.
type BackupJob struct {
	// Node is the node backed up.
	Node Node
	// Backup is its backup CronJob, Restore the suspended CronJob a
	// restore Job is created from (kubectl create job --from=cronjob/...).
	Backup, Restore *batchv1.CronJob
	// Prefix is the key prefix of its snapshots in the bucket:
	// <store prefix>/cassandra/<zone>/<pod>.
	Prefix string
}

// BackupJobs returns the per-node backup and restore CronJobs, in node
// order; none when backups are off.
func (h *Handle) BackupJobs() []BackupJob { return append([]BackupJob(nil), h.backups...) }

// podNameLabel is the label the StatefulSet controller sets on each of its
// pods with the pod's name (Kubernetes documentation, StatefulSets, "Pod
// Name Label": statefulset.kubernetes.io/pod-name).
const podNameLabel = "statefulset.kubernetes.io/pod-name"

// Paths in the backup and restore pods. The data claim is mounted where
// the Cassandra container mounts it (dataDir), so a path the restore hands
// to nodetool import, which the server opens, is the same in both, and
// the snapshots are under cassandra.yaml's data_file_directories
// (<dataDir>/data).
const (
	backupScriptDir = "/backup"
	toolsDir        = "/tools"
	dataDir         = "/var/lib/cassandra"
)

// addBackups renders, for every node, a backup CronJob and a suspended
// restore CronJob whose pods run on the node's host (required pod affinity
// on the pod's name) and mount its data claim: the snapshot's files, hard
// links in the node's data directory, are on the node's ReadWriteOnce
// volume, which several pods may use when they run on the same node
// (kubernetes/website content/en/docs/concepts/storage/persistent-volumes.md,
// "Access Modes": "ReadWriteOnce access mode still can allow multiple pods
// to access the volume when the pods are running on the same node"). The
// claim is mounted
// read-only for the backup; the restore writes the downloaded SSTables
// onto it next to the data, so that nodetool import moves rather than
// copies them.
func (h *Handle) addBackups(s *stack.Stack, c *stack.Component, jmx *stack.SecretSpec) error {
	b := h.cfg.Backup
	if !b.Enabled {
		return nil
	}
	b.Default()
	topo := s.Topology()
	schedules, err := b.Schedules(len(topo.Zones))
	if err != nil {
		return err
	}
	retain, err := b.RetainSeconds()
	if err != nil {
		return err
	}
	scripts := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: h.cfg.Name + "-backup"},
		Data:       map[string]string{"backup.sh": backupScript, "restore.sh": restoreScript},
	}
	c.Add(scripts)
	creds := b.Store.Credentials(c, h.cfg.Name)
	saName := ""
	// With a role, the pods run as a ServiceAccount annotated with it. The
	// EKS pod identity webhook (aws/amazon-eks-pod-identity-webhook,
	// pkg/handler/handler.go, read at an early commit) mutates every pod
	// whose ServiceAccount has the annotation, adding a projected token
	// volume of its own and the web identity variables, so the API token
	// stays unmounted (automountServiceAccountToken false). Not run here.
	if b.Store.RoleARN != "" {
		saName = h.cfg.Name + "-backup"
		c.Add(&corev1.ServiceAccount{
			ObjectMeta:                   metav1.ObjectMeta{Name: saName, Annotations: map[string]string{backup.RoleARNAnnotation: b.Store.RoleARN}},
			AutomountServiceAccountToken: ptr.To(false),
		})
	}
	s.RuntimeLabel(podNameLabel, "set by the StatefulSet controller on each pod (the backup pods' affinity to their node's pod)")
	storeEnv := rcloneEnv(b.Store, creds)
	zoneIndex := map[string]int{}
	for i, z := range topo.Zones {
		zoneIndex[z] = i
	}
	ordinal := map[string]int{}
	for _, n := range h.nodes {
		letter := sts.ZoneLetter(zoneIndex[n.Zone])
		ord := ordinal[n.Zone]
		ordinal[n.Zone]++
		claim := fmt.Sprintf("data-%s", n.Pod)
		s.External("PersistentVolumeClaim", claim, fmt.Sprintf("created by StatefulSet %s-%s's volumeClaimTemplates for pod %s", h.cfg.Name, letter, n.Pod))
		prefix := b.Store.PrefixFor(s.Namespace(), h.cfg.Name) + "/" + n.Zone + "/" + n.Pod
		env := append([]corev1.EnvVar{
			{Name: "NODE_HOST", Value: n.Host},
			{Name: "REMOTE", Value: "store:" + b.Store.Bucket + "/" + prefix},
			{Name: "RCLONE", Value: toolsDir + "/rclone"},
			{Name: "DATA_DIR", Value: dataDir + "/data"},
			{Name: "HOME", Value: "/tmp"},
			{Name: "CASSANDRA_LOG_DIR", Value: "/tmp"},
			jmx.Ref("control-password").EnvVar("JMX_CONTROL_PASSWORD"),
		}, storeEnv...)
		suffix := fmt.Sprintf("%s-%d", letter, ord)
		backupEnv := append(append([]corev1.EnvVar{}, env...), corev1.EnvVar{Name: "RETAIN_SECONDS", Value: fmt.Sprint(retain)})
		restoreEnv := append(append([]corev1.EnvVar{}, env...),
			corev1.EnvVar{Name: "RESTORE_TAG", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: h.cfg.Name + "-restore"}, Key: "tag", Optional: ptr.To(true)}}},
			corev1.EnvVar{Name: "RESTORE_KEYSPACES", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: h.cfg.Name + "-restore"}, Key: "keyspaces", Optional: ptr.To(true)}}})
		deadline := int64(b.StaggerMinutes-5) * 60
		bk, err := nodeCronJob(s, c, h.cfg, n, nodeJob{
			name: h.cfg.Name + "-backup-" + suffix, role: "backup", schedule: schedules[zoneIndex[n.Zone]],
			script: "backup.sh", env: backupEnv, claim: claim, readOnly: true, deadline: deadline,
			scripts: scripts.Name, serviceAccount: saName,
		})
		if err != nil {
			return err
		}
		// The restore template: suspended, so it never runs on its own;
		// its schedule is the backup's, which suspend ignores.
		rs, err := nodeCronJob(s, c, h.cfg, n, nodeJob{
			name: h.cfg.Name + "-restore-" + suffix, role: "restore", schedule: schedules[zoneIndex[n.Zone]], suspend: true,
			script: "restore.sh", env: restoreEnv, claim: claim, deadline: 6 * 3600,
			scripts: scripts.Name, serviceAccount: saName,
		})
		if err != nil {
			return err
		}
		c.Add(bk, rs)
		h.backups = append(h.backups, BackupJob{Node: n, Backup: bk, Restore: rs, Prefix: prefix})
	}
	// The backup and restore pods run nodetool against their node over JMX.
	for _, role := range []string{"backup", "restore"} {
		c.Pods(role).Uses(c.Pods("").Port("jmx"))
	}
	c.Alert(backupAlerts(c, h.backups, b)...)
	return nil
}

// rcloneEnv configures rclone's remote "store" from environment variables
// (rclone documentation docs/content/docs.md, "Config file": RCLONE_CONFIG_
// + remote + _ + option, in v1.60 as in v1.75; s3 options from
// docs/content/s3.md). env_auth takes the credentials from the AWS
// environment: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY from the
// credentials Secret, or, with a role, the web identity the EKS pod
// identity webhook injects (s3.md "Authentication": "run rclone in an EKS
// pod with an IAM role that is associated with a service account").
// no_check_bucket: the bucket exists, and a role limited to the prefix
// may not create it. force_path_style (default true) is kept for a custom
// endpoint and turned off for AWS S3, which prefers virtual-hosted style.
func rcloneEnv(st backup.Store, creds *stack.SecretSpec) []corev1.EnvVar {
	provider, pathStyle := "AWS", "false"
	if st.Endpoint != "" {
		provider, pathStyle = "Other", "true"
	}
	env := []corev1.EnvVar{
		{Name: "RCLONE_CONFIG_STORE_TYPE", Value: "s3"},
		{Name: "RCLONE_CONFIG_STORE_PROVIDER", Value: provider},
		{Name: "RCLONE_CONFIG_STORE_ENV_AUTH", Value: "true"},
		{Name: "RCLONE_CONFIG_STORE_REGION", Value: st.EffectiveRegion()},
		{Name: "RCLONE_CONFIG_STORE_FORCE_PATH_STYLE", Value: pathStyle},
		{Name: "RCLONE_CONFIG_STORE_NO_CHECK_BUCKET", Value: "true"},
	}
	if st.Endpoint != "" {
		env = append(env, corev1.EnvVar{Name: "RCLONE_CONFIG_STORE_ENDPOINT", Value: st.Endpoint})
	}
	if creds != nil {
		env = append(env, creds.Ref(backup.AccessKeyID).EnvVar("AWS_ACCESS_KEY_ID"), creds.Ref(backup.SecretAccessKey).EnvVar("AWS_SECRET_ACCESS_KEY"))
	}
	return env
}

// nodeJob is one node's backup or restore CronJob.
type nodeJob struct {
	name, role, schedule, script string
	suspend                      bool
	env                          []corev1.EnvVar
	claim                        string
	readOnly                     bool
	deadline                     int64
	scripts, serviceAccount      string
}

// nodeCronJob builds a CronJob whose pod runs on node n's host and mounts
// its data claim.
func nodeCronJob(s *stack.Stack, c *stack.Component, cfg Config, n Node, j nodeJob) (*batchv1.CronJob, error) {
	sel := c.SelectorFor(j.role)
	pod := corev1.PodSpec{
		RestartPolicy:                corev1.RestartPolicyNever,
		AutomountServiceAccountToken: ptr.To(false),
		EnableServiceLinks:           ptr.To(false),
		ServiceAccountName:           j.serviceAccount,
		SecurityContext:              stack.RestrictedPodSecurityContext(stack.PodSecurity{UID: uid, GID: uid, FSGroup: uid}),
		InitContainers: []corev1.Container{{
			Name:            "uploader",
			Image:           cfg.Backup.UploaderImage,
			Command:         []string{"cp", "/usr/local/bin/rclone", toolsDir + "/rclone"},
			Resources:       stack.MustLimits("200m", "64Mi").Requirements(),
			SecurityContext: stack.RestrictedContainerSecurityContext(true),
			VolumeMounts:    []corev1.VolumeMount{{Name: "tools", MountPath: toolsDir}},
		}},
		Containers: []corev1.Container{{
			Name:    j.role,
			Image:   cfg.Image,
			Command: []string{backupScriptDir + "/" + j.script},
			Env:     j.env,
			// The ThingsBoard article's "Backup-job" row: 1 CPU / 1 GiB.
			Resources:       stack.MustLimits("1", "1Gi").Requirements(),
			SecurityContext: stack.RestrictedContainerSecurityContext(true),
			VolumeMounts: []corev1.VolumeMount{
				{Name: "scripts", MountPath: backupScriptDir},
				{Name: "tools", MountPath: toolsDir},
				{Name: "tmp", MountPath: "/tmp"},
				{Name: "data", MountPath: dataDir, ReadOnly: j.readOnly},
			},
		}},
		Volumes: []corev1.Volume{
			sts.ScriptVolume("scripts", j.scripts), sts.EmptyDir("tools"), sts.EmptyDir("tmp"),
			{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: j.claim, ReadOnly: j.readOnly}}},
		},
	}
	if err := s.Topology().Place(&pod, sel, stack.Placement{Pool: cfg.Pool}); err != nil {
		return nil, fmt.Errorf("cassandra: %s placement: %w", j.name, err)
	}
	if err := s.Topology().PinZone(&pod, n.Zone); err != nil {
		return nil, fmt.Errorf("cassandra: %s: %w", j.name, err)
	}
	if pod.Affinity == nil {
		pod.Affinity = &corev1.Affinity{}
	}
	pod.Affinity.PodAffinity = &corev1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
		LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{podNameLabel: n.Pod}},
		TopologyKey:   "kubernetes.io/hostname",
	}}}
	return &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: j.name},
		Spec: batchv1.CronJobSpec{
			Schedule:                   j.schedule,
			TimeZone:                   ptr.To("Etc/UTC"),
			Suspend:                    ptr.To(j.suspend),
			ConcurrencyPolicy:          batchv1.ForbidConcurrent,
			StartingDeadlineSeconds:    ptr.To(int64(600)),
			SuccessfulJobsHistoryLimit: ptr.To(int32(3)),
			FailedJobsHistoryLimit:     ptr.To(int32(3)),
			JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{
				BackoffLimit:          ptr.To(int32(1)),
				ActiveDeadlineSeconds: ptr.To(j.deadline),
				Template:              corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: sel}, Spec: pod},
			}},
		},
	}, nil
}
