package profiles

import (
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/iotstack/iotstack/components/backup"
	"github.com/iotstack/iotstack/stack"
)

var testStore = []string{"backup.store.endpoint=http://s3.example.com", "backup.store.bucket=iot-backups"}

// TestDojotBackupsRender renders small with both backups to a store:
// two scheduled CronJobs and two suspended restores, writing below
// <bucket>/<namespace>/<datastore>, with the store's credentials from the
// declared Secrets, reaching MongoDB and MinIO through their policies.
func TestDojotBackupsRender(t *testing.T) {
	p, _ := Get(Small)
	v, err := p.Load(nil, append([]string{"mongodb.backup.enabled=true", "minio.backup.enabled=true", "minio.backup.retain=3", "minio.backup.schedule=@hourly"}, testStore...))
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.BuildValues(v)
	if err != nil {
		t.Fatal(err)
	}
	out, err := SynthBuilt(Small, b)
	if err != nil {
		t.Fatal(err)
	}
	crons := map[string]*batchv1.CronJob{}
	policies := map[string]*networkingv1.NetworkPolicy{}
	for _, r := range out.Objects {
		switch o := r.Object.(type) {
		case *batchv1.CronJob:
			crons[o.Name] = o
		case *networkingv1.NetworkPolicy:
			policies[o.Name] = o
		}
	}
	for name, want := range map[string]struct {
		schedule, dest, retain string
		suspend                bool
	}{
		"mongodb-backup":  {"0 2 * * *", "iot-backups/dojot/mongodb", "7", false},
		"mongodb-restore": {"0 2 * * *", "iot-backups/dojot/mongodb", "7", true},
		"minio-backup":    {"@hourly", "iot-backups/dojot/minio", "3", false},
		"minio-restore":   {"@hourly", "iot-backups/dojot/minio", "3", true},
	} {
		cj := crons[name]
		if cj == nil {
			t.Errorf("no CronJob %s", name)
			continue
		}
		if cj.Spec.Schedule != want.schedule || *cj.Spec.Suspend != want.suspend || cj.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent {
			t.Errorf("%s: schedule %q suspend %v concurrency %s", name, cj.Spec.Schedule, *cj.Spec.Suspend, cj.Spec.ConcurrencyPolicy)
		}
		pod := cj.Spec.JobTemplate.Spec.Template.Spec
		for _, ct := range append(append([]corev1.Container(nil), pod.InitContainers...), pod.Containers...) {
			env := map[string]corev1.EnvVar{}
			for _, e := range ct.Env {
				env[e.Name] = e
			}
			if !strings.HasPrefix(ct.Image, "rclone/") {
				// The mongo containers see MongoDB's password, never the store's keys.
				if _, ok := env["AWS_SECRET_ACCESS_KEY"]; ok || env["MONGO_PASSWORD"].ValueFrom == nil {
					t.Errorf("%s/%s: env %v", name, ct.Name, env)
				}
				continue
			}
			if _, ok := env["MONGO_PASSWORD"]; ok {
				t.Errorf("%s/%s: rclone sees MongoDB's password", name, ct.Name)
			}
			if env["DEST"].Value != want.dest || env["RETAIN"].Value != want.retain || env["RCLONE_CONFIG_STORE_ENDPOINT"].Value != "http://s3.example.com" || env["RCLONE_CONFIG_STORE_PROVIDER"].Value != "Other" {
				t.Errorf("%s/%s: env %v", name, ct.Name, env)
			}
			secret := strings.TrimSuffix(name, "-backup")
			secret = strings.TrimSuffix(secret, "-restore") + "-backup-s3"
			if e := env["AWS_ACCESS_KEY_ID"]; e.ValueFrom == nil || e.ValueFrom.SecretKeyRef.Name != secret || e.ValueFrom.SecretKeyRef.Key != backup.AccessKeyID {
				t.Errorf("%s/%s: AWS_ACCESS_KEY_ID %+v; want from %s", name, ct.Name, e, secret)
			}
		}
	}
	declared := map[string]bool{}
	for _, sp := range b.Stack.Secrets() {
		declared[sp.Name] = true
	}
	for _, s := range []string{"mongodb-backup-s3", "minio-backup-s3"} {
		if !declared[s] {
			t.Errorf("Secret %s not declared", s)
		}
	}
	for store, consumer := range map[string]string{"mongodb": "mongodb-backup", "minio": "minio-backup"} {
		found := false
		for _, rule := range policies[store].Spec.Ingress {
			for _, from := range rule.From {
				if from.PodSelector != nil && from.PodSelector.MatchLabels[stack.LabelName] == consumer {
					found = true
				}
			}
		}
		if !found {
			t.Errorf("%s's NetworkPolicy does not admit %s", store, consumer)
		}
	}
}

// TestDojotBackupRole: with roleARN no credentials Secret is declared and
// the backup's ServiceAccount carries the role.
func TestDojotBackupRole(t *testing.T) {
	p, _ := Get(Hundred)
	v, err := p.Load(nil, []string{"mongodb.backup.enabled=true", "backup.store.bucket=iot-backups", "backup.store.region=eu-west-1", "backup.store.roleARN=arn:aws:iam::123456789012:role/iot-backup"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.BuildValues(v)
	if err != nil {
		t.Fatal(err)
	}
	for _, sp := range b.Stack.Secrets() {
		if strings.HasSuffix(sp.Name, "-backup-s3") {
			t.Errorf("Secret %s declared with a role", sp.Name)
		}
	}
	out, err := SynthBuilt(Hundred, b)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range out.Objects {
		if sa, ok := r.Object.(*corev1.ServiceAccount); ok && sa.Name == "mongodb-backup" {
			if sa.Annotations[backup.RoleARNAnnotation] != "arn:aws:iam::123456789012:role/iot-backup" {
				t.Errorf("annotations %v", sa.Annotations)
			}
			return
		}
	}
	t.Error("no ServiceAccount mongodb-backup")
}

func TestDojotBackupValuesErrors(t *testing.T) {
	for _, tc := range []struct {
		profile string
		sets    []string
		want    string
	}{
		{Small, []string{"mongodb.backup.enabled=true"}, "mongodb.backup.enabled: true; needs a store: backup.store.bucket is empty"},
		{Hundred, append([]string{"minio.backup.enabled=true"}, testStore...), "minio.backup.enabled: true; services has no minio"},
		{Small, append([]string{"mongodb.backup.enabled=true", "mongodb.backup.schedule=0 25 * * *"}, testStore...), `mongodb.backup: schedule "0 25 * * *": not a cron schedule`},
		{Small, append([]string{"minio.backup.enabled=true", "minio.backup.retain=-1"}, testStore...), "minio.backup: retain -1; allowed 1 to 1000"},
		{Small, append([]string{"minio.backup.enabled=true", "minio.backup.deadlineMinutes=2"}, testStore...), "minio.backup: deadlineMinutes 2"},
		{Small, []string{"backup.store.bucket=Bad_Bucket", "backup.store.region=eu-west-1", "mongodb.backup.enabled=true"}, `backup.store.bucket: "Bad_Bucket"`},
	} {
		p, _ := Get(tc.profile)
		_, err := p.Load(nil, tc.sets)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %v: %v; want an error containing %q", tc.profile, tc.sets, err, tc.want)
		}
	}
}
