package thingsboard

import (
	"fmt"
	"strconv"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/iotstack/iotstack/components/cassandra"
	"github.com/iotstack/iotstack/components/internal/sts"
	"github.com/iotstack/iotstack/components/postgres"
	"github.com/iotstack/iotstack/stack"
)

// Install and upgrade.
//
// ThingsBoard records the schema it installed or upgraded to itself, in
// PostgreSQL: table tb_schema_settings, one row, column schema_version
// (dao/src/main/resources/sql/schema-entities.sql, v4.2.1 and v4.3.1).
// Releases up to 4.2.x write major*10^6 + minor*10^3 + maintenance
// (4.2.1 is 4002001); 4.3 and later write major*10^9 + minor*10^6 +
// maintenance*10^3 + patch (4.3.1 is 4003001000, 4.3.1.3 is 4003001003)
// and read both (application/.../install/
// DefaultDatabaseSchemaSettingsService.java, v4.2.1 and v4.3.1:
// getPackageSchemaVersionForDb, getDbSchemaVersion). The installer
// inserts the row (createSchemaSettings); the upgrade rewrites it as its
// last step (updateSchemaVersion, after every data step) — so the record
// says which schema is complete, and nothing here is guessed or kept
// elsewhere.
//
// The Job of a version reads that record through the pooler and chooses:
// no table → install; the record equals the version → nothing; an older
// record → upgrade from it; a newer record → refuse (schema upgrades are
// one-way). The JVM services wait in an init container until the record
// equals their version, on first install as on every upgrade, instead of
// crash-looping against a schema they do not know.

// schemaWaitSeconds bounds a service's wait for its schema: as long as
// the install Job may run (its activeDeadlineSeconds).
const schemaWaitSeconds = 3600

// SchemaVersion is the number ThingsBoard 4.3+ writes into
// tb_schema_settings.schema_version for a release version (major.minor,
// major.minor.maintenance or major.minor.maintenance.patch, each part 0
// to 999; DefaultDatabaseSchemaSettingsService.normalizeVersion and
// getPackageSchemaVersionForDb, v4.3.1). An error names the version and
// what is allowed.
func SchemaVersion(version string) (int64, error) {
	parts := strings.Split(version, ".")
	if len(parts) < 2 || len(parts) > 4 {
		return 0, fmt.Errorf("version %q is not a ThingsBoard release number (major.minor[.maintenance[.patch]], such as %s)", version, Version)
	}
	var n int64
	for i := 0; i < 4; i++ {
		var p int64
		if i < len(parts) {
			v, err := strconv.ParseInt(parts[i], 10, 64)
			if err != nil || v < 0 || v > 999 || parts[i] != strconv.FormatInt(v, 10) {
				return 0, fmt.Errorf("version %q: part %q is not a number 0 to 999 without leading zeros (a ThingsBoard release number, such as %s)", version, parts[i], Version)
			}
			p = v
		}
		n = n*1000 + p
	}
	if n < 1_000_000_000 {
		return 0, fmt.Errorf("version %q: major version 0; a ThingsBoard release number such as %s", version, Version)
	}
	return n, nil
}

// schemaFunctions are the shell functions both scripts share: tb_schema
// prints the recorded schema version in the 4.3 encoding (older
// records converted), tb_release prints such a number as a release.
const schemaFunctions = `tb_schema() {
  local v
  v=$(psql -v ON_ERROR_STOP=1 -tAc "SELECT max(schema_version) FROM tb_schema_settings") || return 1
  case "$v" in ''|*[!0-9]*) echo ""; return 0 ;; esac
  if [ "$v" -lt 1000000000 ]; then v=$(( v / 1000000 * 1000000000 + v / 1000 % 1000 * 1000000 + v % 1000 * 1000 )); fi
  echo "$v"
}
tb_release() {
  local v=$1 r
  r="$(( v / 1000000000 )).$(( v / 1000000 % 1000 )).$(( v / 1000 % 1000 ))"
  if [ $(( v % 1000 )) -ne 0 ]; then r="$r.$(( v % 1000 ))"; fi
  echo "$r"
}
`

// planScript waits for the database through the pooler, reads
// ThingsBoard's record and writes the plan (install, upgrade FROM [force]
// or none) to /state/plan; it refuses a downgrade and a database whose
// record is missing. TB_VERSION is the version, TB_SCHEMA_VERSION its
// SchemaVersion, UPGRADE_FROM the optional override.
func planScript() string {
	return schemaFunctions + `set -u
until pg_isready -q; do echo "waiting for PostgreSQL at ${PGHOST}"; sleep 5; done
until psql -tAc 'SELECT 1' >/dev/null 2>&1; do echo "waiting for database ${PGDATABASE}"; sleep 5; done
want=$TB_SCHEMA_VERSION
if [ "$(psql -v ON_ERROR_STOP=1 -tAc "SELECT to_regclass('tb_schema_settings') IS NOT NULL")" != t ]; then
  if [ -n "${UPGRADE_FROM:-}" ]; then echo "upgradeFrom ${UPGRADE_FROM} is set but ThingsBoard is not installed in ${PGDATABASE} (no tb_schema_settings): nothing to upgrade; unset upgradeFrom to install" >&2; exit 1; fi
  echo "ThingsBoard is not installed in ${PGDATABASE}: installing ${TB_VERSION}"
  echo install > /state/plan
  exit 0
fi
have=$(tb_schema) || { echo "cannot read tb_schema_settings in ${PGDATABASE}" >&2; exit 1; }
if [ -z "$have" ]; then
  echo "tb_schema_settings in ${PGDATABASE} records no version: an install stopped half-way; restore a backup or drop the database, then apply again" >&2
  exit 1
fi
if [ "$have" -gt "$want" ]; then
  echo "the database records ThingsBoard $(tb_release "$have"), newer than ${TB_VERSION}: refusing a downgrade (schema upgrades are one-way; restore the backup taken before the upgrade)" >&2
  exit 1
fi
if [ -n "${UPGRADE_FROM:-}" ]; then
  echo "upgradeFrom ${UPGRADE_FROM}: upgrading to ${TB_VERSION} (the database records $(tb_release "$have"); schema version check skipped)"
  echo "upgrade ${UPGRADE_FROM} force" > /state/plan
  exit 0
fi
if [ "$have" -eq "$want" ]; then
  echo "ThingsBoard ${TB_VERSION} is installed already: nothing to do"
  echo none > /state/plan
  exit 0
fi
echo "the database records ThingsBoard $(tb_release "$have"): upgrading to ${TB_VERSION}"
echo "upgrade $(tb_release "$have")" > /state/plan
`
}

// runScript carries out /state/plan with the image's start script
// (msa/tb-node/docker/start-tb-node.sh, v4.3.1: INSTALL_TB=true with
// LOAD_DEMO installs; UPGRADE_TB=true with FROM_VERSION upgrades) and
// fails unless the installer logs success ("Installation finished
// successfully!", "Upgrade finished successfully!":
// ThingsboardInstallService.java, v4.3.1), since the official scripts
// exit 0 after a failure too. SKIP_SCHEMA_VERSION_CHECK=true lets a
// forced upgrade rerun over the same version
// (DefaultDatabaseSchemaSettingsService.validateSchemaSettings, v4.3.1).
func runScript() string {
	return `set -o pipefail
read -r action from force < /state/plan || { echo "no plan in /state/plan" >&2; exit 1; }
case "$action" in
  none) echo "ThingsBoard ${TB_VERSION} is installed already: nothing to do"; exit 0 ;;
  install) export INSTALL_TB=true; unset UPGRADE_TB; success="Installation finished successfully" ;;
  upgrade) export UPGRADE_TB=true FROM_VERSION="$from"; unset INSTALL_TB; success="Upgrade finished successfully"
    if [ "$force" = force ]; then export SKIP_SCHEMA_VERSION_CHECK=true; fi ;;
  *) echo "unknown plan: $action" >&2; exit 1 ;;
esac
start-tb-node.sh 2>&1 | tee /tmp/tb-install.log
grep -q "$success" /tmp/tb-install.log || { echo "the ThingsBoard installer did not report success ($action)" >&2; exit 1; }
`
}

// waitSchemaScript waits until the database records TB_SCHEMA_VERSION;
// it fails at once on a newer record (a downgrade) and after
// WAIT_SECONDS otherwise, polling every POLL_SECONDS.
func waitSchemaScript() string {
	return schemaFunctions + `set -u
want=$TB_SCHEMA_VERSION
deadline=$(( SECONDS + WAIT_SECONDS ))
while :; do
  if have=$(tb_schema 2>/dev/null) && [ -n "$have" ]; then
    if [ "$have" -eq "$want" ]; then echo "the schema of ThingsBoard ${TB_VERSION} is in place"; exit 0; fi
    if [ "$have" -gt "$want" ]; then echo "the database records ThingsBoard $(tb_release "$have"), newer than this service's ${TB_VERSION}: refusing to start" >&2; exit 1; fi
    state="ThingsBoard $(tb_release "$have")"
  else
    state="no ThingsBoard schema yet"
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then echo "gave up after ${WAIT_SECONDS}s waiting for the schema of ThingsBoard ${TB_VERSION} (${state}); see the install Job" >&2; exit 1; fi
  echo "waiting for the schema of ThingsBoard ${TB_VERSION} (${state})"
  sleep "$POLL_SECONDS"
done
`
}

// pgEnv is how psql reaches ThingsBoard's database: through the pooler,
// with the password from its Secret.
func pgEnv(cfg Config, w wiring) []corev1.EnvVar {
	db := w.database
	want, _ := SchemaVersion(cfg.Version) // Validate accepted it
	return []corev1.EnvVar{
		db.Password.EnvVar("PGPASSWORD"),
		{Name: "PGHOST", Value: db.Host}, {Name: "PGPORT", Value: fmt.Sprint(db.Port)}, {Name: "PGUSER", Value: db.User}, {Name: "PGDATABASE", Value: db.Name},
		{Name: "PGCONNECT_TIMEOUT", Value: "10"},
		{Name: "TB_VERSION", Value: cfg.Version}, {Name: "TB_SCHEMA_VERSION", Value: fmt.Sprint(want)},
	}
}

// waitForSchema is the init container of every JVM service.
func waitForSchema(cfg Config, w wiring) corev1.Container {
	return corev1.Container{
		Name:    "wait-for-schema",
		Image:   postgres.ClientImage,
		Command: []string{"bash", "-c", waitSchemaScript()},
		Env: append(pgEnv(cfg, w),
			corev1.EnvVar{Name: "WAIT_SECONDS", Value: fmt.Sprint(schemaWaitSeconds)}, corev1.EnvVar{Name: "POLL_SECONDS", Value: "10"}),
		Resources:       stack.MustLimits("200m", "128Mi").Requirements(),
		SecurityContext: stack.RestrictedContainerSecurityContext(true),
	}
}

// installJobName is the Job of a version; with the upgradeFrom override
// it has a name of its own, so that setting it runs a new Job.
func installJobName(cfg Config) string {
	if cfg.UpgradeFrom != "" {
		return "tb-upgrade-" + dashed(cfg.UpgradeFrom) + "-to-" + dashed(cfg.Version)
	}
	return "tb-install-" + dashed(cfg.Version)
}

// installJob is the install-or-upgrade Job of cfg.Version: planScript
// in an init container (psql), the keyspace wait, then runScript in the
// tb-node image.
func installJob(s *stack.Stack, c *stack.Component, cfg Config, w wiring) (*batchv1.Job, error) {
	env := pgEnv(cfg, w)
	if cfg.UpgradeFrom != "" {
		env = append(env, corev1.EnvVar{Name: "UPGRADE_FROM", Value: cfg.UpgradeFrom})
	}
	plan := corev1.Container{
		Name:            "wait-for-databases",
		Image:           postgres.ClientImage,
		Command:         []string{"bash", "-c", planScript()},
		Env:             env,
		Resources:       stack.MustLimits("200m", "128Mi").Requirements(),
		SecurityContext: stack.RestrictedContainerSecurityContext(true),
		VolumeMounts:    []corev1.VolumeMount{{Name: "state", MountPath: "/state"}},
	}
	waitKeyspace := corev1.Container{
		Name:  "wait-for-keyspace",
		Image: cassandra.Image,
		// cqlsh reads the password from a credentials file (--credentials,
		// cqlshlib/authproviderhandling.py: [PlainTextAuthProvider]
		// password), written by printf, a builtin: never from -p, which
		// would show it in the process list.
		Command:         []string{"bash", "-c", fmt.Sprintf(`umask 077; printf '[PlainTextAuthProvider]\npassword = %%s\n' "$CASSANDRA_PASSWORD" > /tmp/cqlsh-credentials; until timeout 60 cqlsh %s 9042 -u %s --credentials /tmp/cqlsh-credentials -e "DESCRIBE KEYSPACE %s" >/dev/null 2>&1; do echo "waiting for keyspace %s"; sleep 10; done`, hostOf(w.deps.Cassandra.ContactPoints[0]), w.deps.Cassandra.Username, w.keyspace.Name, w.keyspace.Name)},
		Env:             []corev1.EnvVar{w.deps.Cassandra.Password.EnvVar("CASSANDRA_PASSWORD"), {Name: "HOME", Value: "/tmp"}},
		Resources:       stack.MustLimits("500m", "256Mi").Requirements(),
		SecurityContext: stack.RestrictedContainerSecurityContext(true),
		VolumeMounts:    []corev1.VolumeMount{{Name: "tmp", MountPath: "/tmp"}},
	}
	sc := ServiceConfig{Resources: DefaultResources(Core)}
	env = []corev1.EnvVar{
		{Name: "TB_SERVICE_ID", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
		{Name: "JAVA_OPTS", Value: fmt.Sprintf("-Xmx%dm", sc.Resources.HeapMiB(66))},
		{Name: "TB_VERSION", Value: cfg.Version},
		{Name: "LOAD_DEMO", Value: fmt.Sprint(cfg.LoadDemo)},
	}
	env = append(env, w.secretEnv()...)
	job, err := sts.Job(s.Topology(), sts.JobSpec{
		Name: installJobName(cfg), Selector: c.SelectorFor("install"), Pool: cfg.Pool,
		Security: stack.PodSecurity{UID: uid, GID: uid, FSGroup: uid},
		Container: corev1.Container{
			Name:            "install",
			Image:           fmt.Sprintf("%s/tb-node:%s", cfg.Registry, cfg.Version),
			Command:         []string{"bash", "-c", runScript()},
			Env:             env,
			EnvFrom:         []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: clusterConfig}}}},
			Resources:       sc.Resources.Requirements(),
			SecurityContext: stack.RestrictedContainerSecurityContext(true),
			VolumeMounts: []corev1.VolumeMount{
				{Name: "state", MountPath: "/state"}, {Name: "tmp", MountPath: "/tmp"},
				{Name: "config", MountPath: "/config"}, {Name: "logs", MountPath: "/var/log/thingsboard"},
			},
		},
		Volumes: []corev1.Volume{sts.EmptyDir("state"), sts.EmptyDir("tmp"), sts.EmptyDir("logs"),
			{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: nodeConfig}}}}},
		BackoffLimit: 3, DeadlineSeconds: schemaWaitSeconds,
	})
	if err != nil {
		return nil, fmt.Errorf("thingsboard: %w", err)
	}
	job.Spec.Template.Spec.InitContainers = []corev1.Container{plan, waitKeyspace}
	return job, nil
}

// ReleaseOf is the release a tb_schema_settings.schema_version records,
// in either encoding (the inverse of SchemaVersion, with a zero patch
// left out): 4002001 and 4002001000 are both "4.2.1".
func ReleaseOf(schemaVersion int64) string {
	if schemaVersion < 1_000_000_000 {
		schemaVersion = schemaVersion/1_000_000*1_000_000_000 + schemaVersion/1000%1000*1_000_000 + schemaVersion%1000*1000
	}
	r := fmt.Sprintf("%d.%d.%d", schemaVersion/1_000_000_000, schemaVersion/1_000_000%1000, schemaVersion/1000%1000)
	if p := schemaVersion % 1000; p != 0 {
		r += fmt.Sprintf(".%d", p)
	}
	return r
}
