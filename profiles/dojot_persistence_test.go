package profiles

import (
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/iotstack/iotstack/stack"
)

// storageOf collects what a rendered stack keeps on volumes: the
// volumeClaimTemplates per StatefulSet, the standalone claims, the local
// PersistentVolumes' claims and the emptyDir volumes with a size limit per
// workload.
type storageOf struct {
	templates map[string][]string // StatefulSet -> claim template names
	claims    []string            // PersistentVolumeClaim objects
	pvClaims  []string            // claims the local PersistentVolumes are reserved for
	sized     map[string]map[string]resource.Quantity
	pods      map[string]corev1.PodSpec
}

func storage(out *stack.Output) storageOf {
	st := storageOf{templates: map[string][]string{}, sized: map[string]map[string]resource.Quantity{}, pods: workloads(out)}
	for _, o := range out.Objects {
		switch x := o.Object.(type) {
		case *appsv1.StatefulSet:
			for _, t := range x.Spec.VolumeClaimTemplates {
				st.templates[x.Name] = append(st.templates[x.Name], t.Name)
			}
		case *corev1.PersistentVolumeClaim:
			st.claims = append(st.claims, x.Name)
		case *corev1.PersistentVolume:
			if x.Spec.ClaimRef != nil && x.Spec.ClaimRef.Namespace == out.Namespace {
				st.pvClaims = append(st.pvClaims, x.Spec.ClaimRef.Name)
			}
		}
	}
	for name, pod := range st.pods {
		for _, v := range pod.Volumes {
			if v.EmptyDir != nil && v.EmptyDir.SizeLimit != nil {
				if st.sized[name] == nil {
					st.sized[name] = map[string]resource.Quantity{}
				}
				st.sized[name][v.Name] = *v.EmptyDir.SizeLimit
			}
		}
	}
	return st
}

// ephemeralRequest is the ephemeral-storage request of container in pod.
func ephemeralRequest(pod corev1.PodSpec, container string) resource.Quantity {
	for _, c := range pod.Containers {
		if c.Name == container {
			return c.Resources.Requests[corev1.ResourceEphemeralStorage]
		}
	}
	return resource.Quantity{}
}

// TestDojotPersistenceSwitches: each store's persistence switch off (the
// guide's dojot_<service>_persistent_volumes false) drops exactly that
// store's claims and local PersistentVolumes, puts an emptyDir of the
// volume's size where the claim was mounted and raises the container's
// ephemeral-storage request by it; every other store keeps its claim.
func TestDojotPersistenceSwitches(t *testing.T) {
	type claim struct{ workload, volume, pvc, size string }
	cases := []struct {
		profile, set, container string
		claims                  []claim
	}{
		{Small, "persistence.zookeeper=false", "zookeeper", []claim{{"zookeeper", "data", "data-zookeeper-0", "1Gi"}, {"zookeeper", "datalog", "datalog-zookeeper-0", "1Gi"}}},
		{Small, "persistence.kafka=false", "kafka", []claim{{"kafka-server", "data", "data-kafka-server-0", "2Gi"}}},
		{Small, "persistence.mongodb=false", "mongodb", []claim{{"mongodb", "data", "data-mongodb-0", "2Gi"}}},
		{Small, "persistence.minio=false", "minio", []claim{{"minio", "data", "data-minio-0", "2Gi"}}},
		{Small, "persistence.x509IdentityMgmt=false", "x509-identity-mgmt", []claim{{"x509-identity-mgmt", "persistent", "x509-identity-mgmt", "10Mi"}}},
		{Hundred, "persistence.kafka=false", "kafka", []claim{{"kafka-server", "data", "data-kafka-server-0", "2Gi"}}},
		{Hundred, "persistence.x509IdentityMgmt=false", "x509-identity-mgmt", []claim{{"x509-identity-mgmt", "persistent", "x509-identity-mgmt", "10Mi"}}},
	}
	for _, tc := range cases {
		t.Run(tc.profile+"/"+tc.set, func(t *testing.T) {
			_, base := render(t, tc.profile, nil)
			_, out := render(t, tc.profile, nil, tc.set)
			before, after := storage(base), storage(out)
			gone := map[string]bool{}
			for _, c := range tc.claims {
				gone[c.pvc] = true
				if !slices.Contains(before.pvClaims, c.pvc) {
					t.Fatalf("default: no local PersistentVolume reserved for %s", c.pvc)
				}
				if slices.Contains(after.pvClaims, c.pvc) {
					t.Errorf("a local PersistentVolume is still reserved for %s", c.pvc)
				}
				if slices.Contains(after.templates[c.workload], c.volume) || slices.Contains(after.claims, c.pvc) {
					t.Errorf("%s still claims %s", c.workload, c.volume)
				}
				got, ok := after.sized[c.workload][c.volume]
				if !ok || got.Cmp(resource.MustParse(c.size)) != 0 {
					t.Errorf("%s: volume %s is not an emptyDir of %s (got %v, %v)", c.workload, c.volume, c.size, got.String(), ok)
				}
				if _, ok := before.sized[c.workload][c.volume]; ok {
					t.Errorf("default: %s's %s is an emptyDir", c.workload, c.volume)
				}
			}
			w := tc.claims[0].workload
			var grown resource.Quantity
			for _, c := range tc.claims {
				grown.Add(resource.MustParse(c.size))
			}
			want := ephemeralRequest(before.pods[w], tc.container)
			want.Add(grown)
			if got := ephemeralRequest(after.pods[w], tc.container); got.Cmp(want) != 0 {
				t.Errorf("%s/%s ephemeral-storage request %s; want %s (the default's plus the volumes)", w, tc.container, got.String(), want.String())
			}
			// Every other claim stays.
			for _, c := range before.pvClaims {
				if !gone[c] && !slices.Contains(after.pvClaims, c) {
					t.Errorf("the local PersistentVolume for %s went too", c)
				}
			}
		})
	}
}

// TestDojotPersistenceAllOff: every switch PostgreSQL allows off renders,
// and the stack then claims PostgreSQL's volume only (the monitoring's
// claims are its own); PostgreSQL off is refused, naming why.
func TestDojotPersistenceAllOff(t *testing.T) {
	var sets []string
	for _, s := range []string{"zookeeper", "x509IdentityMgmt", "mongodb", "minio", "kafka", "kafkaWS", "apigw"} {
		sets = append(sets, "persistence."+s+"=false")
	}
	_, out := render(t, Small, nil, sets...)
	st := storage(out)
	if len(st.templates) != 1 || len(st.templates["postgres"]) != 1 || len(st.claims) != 0 || !slices.Equal(st.pvClaims, []string{"data-postgres-0"}) {
		t.Errorf("claims: templates %v, claims %v, local volumes for %v; want PostgreSQL's only", st.templates, st.claims, st.pvClaims)
	}
	for _, name := range []string{Small, Hundred} {
		_, _, err := renderValues(name, nil, "persistence.postgres=false")
		if err == nil || !strings.Contains(err.Error(), "persistence.postgres: false; PostgreSQL runs under Patroni") || !strings.Contains(err.Error(), "postgres-config") {
			t.Errorf("%s: postgres off: %v", name, err)
		}
	}
}

// TestDojotPersistenceTLSVolumes: the Kong and kafka-ws switches only
// matter with their TLS on, where they are refused (the certificates came
// from those volumes); with TLS off the output is the default's.
func TestDojotPersistenceTLSVolumes(t *testing.T) {
	_, base := render(t, Small, nil)
	_, out := render(t, Small, nil, "persistence.kafkaWS=false", "persistence.apigw=false")
	if len(base.Objects) != len(out.Objects) {
		t.Errorf("kafkaWS/apigw off without TLS changed the output: %d objects, default %d", len(out.Objects), len(base.Objects))
	}
	for _, tc := range []struct {
		sets []string
		want string
	}{
		{[]string{"mutualTLS=true", "persistence.apigw=false"}, "persistence.apigw: false; mutualTLS is true"},
		{[]string{"kafkaWSTLS=true", "persistence.kafkaWS=false"}, "persistence.kafkaWS: false; kafkaWSTLS is true"},
	} {
		if _, _, err := renderValues(Small, nil, tc.sets...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v; want an error containing %q", tc.sets, err, tc.want)
		}
	}
}

// TestDojotPersistenceBackups: a backup of a store without persistence is
// refused, naming both values paths.
func TestDojotPersistenceBackups(t *testing.T) {
	store := []string{"backup.store.bucket=dojot-backups", "backup.store.endpoint=http://192.0.2.1:9000"}
	for _, tc := range []struct {
		set  []string
		want string
	}{
		{[]string{"persistence.mongodb=false", "mongodb.backup.enabled=true"}, "persistence.mongodb: false; mongodb.backup.enabled is true"},
		{[]string{"persistence.minio=false", "minio.backup.enabled=true"}, "persistence.minio: false; minio.backup.enabled is true"},
	} {
		_, _, err := renderValues(Small, nil, append(store, tc.set...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v; want an error containing %q", tc.set, err, tc.want)
		}
		// The same backup with the store's volume renders.
		if _, _, err := renderValues(Small, nil, append(store, tc.set[1])...); err != nil {
			t.Errorf("%s with persistence: %v", tc.set[1], err)
		}
	}
}

// TestX509Replicas: x509.replicas above 1 renders that many pods sharing
// the one ReadWriteMany claim, preferring distinct nodes, with a
// PodDisruptionBudget and one-at-a-time updates; 1 (the guide's value)
// keeps the Recreate strategy and no budget; without the volume, or on
// local volumes spread over several x509 nodes, more than one is refused.
func TestX509Replicas(t *testing.T) {
	find := func(out *stack.Output) (*appsv1.Deployment, bool) {
		var d *appsv1.Deployment
		pdb := false
		for _, o := range out.Objects {
			switch x := o.Object.(type) {
			case *appsv1.Deployment:
				if x.Name == "x509-identity-mgmt" {
					d = x
				}
			case *policyv1.PodDisruptionBudget:
				pdb = pdb || x.Name == "x509-identity-mgmt"
			}
		}
		if d == nil {
			t.Fatal("no Deployment x509-identity-mgmt")
		}
		return d, pdb
	}
	_, out := render(t, Small, nil)
	d, pdb := find(out)
	if *d.Spec.Replicas != 1 || d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType || pdb {
		t.Errorf("default: replicas %d, strategy %s, PDB %v; want 1, Recreate, none", *d.Spec.Replicas, d.Spec.Strategy.Type, pdb)
	}
	_, out = render(t, Small, nil, "x509.replicas=2")
	d, pdb = find(out)
	if *d.Spec.Replicas != 2 || !pdb {
		t.Errorf("replicas %d, PDB %v; want 2 with a PodDisruptionBudget", *d.Spec.Replicas, pdb)
	}
	if ru := d.Spec.Strategy.RollingUpdate; d.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType || ru == nil || ru.MaxSurge.IntValue() != 0 || ru.MaxUnavailable.IntValue() != 1 {
		t.Errorf("strategy %+v; want a rolling update of one pod at a time, no surge", d.Spec.Strategy)
	}
	aff := d.Spec.Template.Spec.Affinity
	if aff == nil || aff.PodAntiAffinity == nil || len(aff.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution) != 1 || aff.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil {
		t.Errorf("affinity %+v; want a preferred host anti-affinity only", aff)
	}
	shared := false
	for _, v := range d.Spec.Template.Spec.Volumes {
		shared = shared || (v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == "x509-identity-mgmt")
	}
	if !shared {
		t.Error("the replicas do not mount the shared claim x509-identity-mgmt")
	}
	for _, tc := range []struct {
		profile string
		sets    []string
		want    string
	}{
		{Small, []string{"x509.replicas=2", "persistence.x509IdentityMgmt=false"}, "x509.replicas: 2; needs persistence.x509IdentityMgmt true"},
		{Small, []string{"x509.replicas=0"}, "x509.replicas: 0; below the minimum 1"},
		{Hundred, []string{"x509.replicas=2", "topology.pools[3].nodesPerZone=2"}, "x509.replicas: 2; the x509 group's pool x509 has 2 nodes"},
	} {
		if _, _, err := renderValues(tc.profile, nil, tc.sets...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v; want an error containing %q", tc.sets, err, tc.want)
		}
	}
}
