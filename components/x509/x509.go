// Package x509 renders dojot's x509-identity-mgmt: the certificate
// authority (EJBCA with dojot's Node.js API in one image) that signs device
// and broker certificates.
//
// What it reproduces: ansible-dojot v0.5.0's Deployment (port 3000,
// readiness GET /healthcheck, EJBCA's database in PostgreSQL "ejbca", the
// certificate-to-device map in MongoDB, its volume at /mnt/persistent,
// EJBCA_PERFORM_DOJOT_SETUP, dojot_x509_identity_mgmt_replicas as
// Config.Replicas over the shared volume, and with
// dojot_x509_identity_mgmt_persistent_volumes false no claim, here an
// emptyDir: Config.Ephemeral). Where it differs: the database password comes
// from the database's declared Secret instead of a literal, the addresses
// from handles, and it runs non-root with the original's fsGroup 10001.
//
// MongoDB credentials: v0.5.0 reads MONGO_URI, MONGO_USER, MONGO_PASS and
// MONGO_AUTH_DB (x509-identity-mgmt/js/src/config.js, mongo.conn, passed
// to mongoose.connect as options), so the password stays out of the URI.
// The CA logs in as MongoUser with a password from the Secret
// <MongoUser>-mongo that it declares; whoever runs the MongoDB (dojot's
// mongodb component) creates that user from the Handle.
package x509

import (
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/iotstack/iotstack/components/internal/sts"
	"github.com/iotstack/iotstack/components/postgres"
	"github.com/iotstack/iotstack/stack"
)

// Port is the API port.
const Port = 3000

// Config configures the CA.
type Config struct {
	// Image is dojot/x509-identity-mgmt at the dojot version (required).
	Image string
	// Pool is the node pool.
	Pool string
	// Resources default to 1 CPU / 1536 MiB limits (EJBCA is a Java
	// application server).
	Resources stack.Resources
	// Storage is the persistent volume at /mnt/persistent; default 10Mi
	// ReadWriteMany, as the guide's local volume.
	Storage stack.Storage
	// MongoURI is the MongoDB database URI (required), without
	// credentials: they come from MongoUser and a generated Secret.
	MongoURI string
	// Replicas is the number of pods (the guide's
	// dojot_x509_identity_mgmt_replicas, 1); 0 means 1. The replicas share
	// what they keep: EJBCA's CAs, profiles and end entities are in its
	// PostgreSQL database and the certificate-to-device map in MongoDB;
	// the volume at /mnt/persistent holds the lock file with which the
	// image's setup scripts keep two pods from configuring EJBCA at once
	// (dojot/dojot v0.5.0 x509-identity-mgmt/ejbca/README.md, "Lock
	// configuration to synchronize redundant containers";
	// ejbca/bin/dojot-custom/exec.sh getLock; dojot/docs v0.5.0
	// source/load-testing-dojot-platform.rst scales EJBCA pods over a
	// shared persistent volume). So more than one replica
	// needs that volume, ReadWriteMany, the same directory for every pod:
	// refused with Ephemeral. With more than one, pods prefer distinct
	// nodes, a PodDisruptionBudget allows one down at a time, and updates
	// replace one pod at a time without a surge.
	Replicas int32 `json:"replicas" min:"1" max:"20"`
	// Ephemeral keeps /mnt/persistent in an emptyDir of Storage's size
	// instead of the claim (the guide's
	// dojot_x509_identity_mgmt_persistent_volumes false mounts nothing);
	// set by the profiles from persistence.x509IdentityMgmt.
	Ephemeral bool `json:"-"`
}

// MongoUser is the MongoDB user the CA logs in as (authSource admin), and
// MongoDatabase the database it owns.
const (
	MongoUser     = "x509-identity-mgmt"
	MongoDatabase = "x509-identity-mgmt"
)

// Handle is what the broker and the bridges wire from.
type Handle struct {
	Component *stack.Component
	// Address is host:port of the API (the brokers' EJBCA_ADDRESS).
	Address string
	// MongoUser logs in to MongoDB (authentication database admin) with
	// the password in MongoPassword and needs readWrite on MongoDatabase:
	// the MongoDB the CA uses must create that user.
	MongoUser     string
	MongoDatabase string
	MongoPassword stack.SecretKeyRef
}

// API is the API's port, for a consumer's Uses (network policy) next to
// Address.
func (h *Handle) API() stack.Endpoint { return h.Component.Pods("").Port("http") }

// New adds the CA to s; its database is declared on pg.
func New(s *stack.Stack, pg *postgres.Handle, cfg Config) (*Handle, error) {
	if s == nil {
		return nil, fmt.Errorf("x509: stack is nil; pass the stack to add the CA to")
	}
	if pg == nil {
		return nil, fmt.Errorf("x509: pg is nil; the CA keeps its database (ejbca) on a PostgreSQL handle from postgres.New")
	}
	if cfg.MongoURI == "" {
		return nil, fmt.Errorf("x509: mongoURI is required")
	}
	if err := sts.CheckImages("x509", [2]string{"image", cfg.Image}); err != nil {
		return nil, err
	}
	if strings.Contains(cfg.MongoURI, "@") {
		return nil, fmt.Errorf("x509: mongoURI must not hold credentials (the part before '@'); the CA logs in as %q with a generated password", MongoUser)
	}
	if cfg.Resources.IsZero() {
		cfg.Resources = stack.MustLimits("1", "1536Mi")
	}
	if cfg.Storage.Size.IsZero() {
		cfg.Storage.Size = resource.MustParse("10Mi")
	}
	if err := cfg.Resources.Validate("x509.resources"); err != nil {
		return nil, err
	}
	if err := cfg.Storage.Validate("x509.storage"); err != nil {
		return nil, err
	}
	if cfg.Replicas == 0 {
		cfg.Replicas = 1
	}
	if cfg.Replicas < 1 || cfg.Replicas > 20 {
		return nil, fmt.Errorf("x509: replicas %d; allowed 1 to 20", cfg.Replicas)
	}
	if cfg.Replicas > 1 && cfg.Ephemeral {
		return nil, fmt.Errorf("x509: replicas %d without a volume (ephemeral): the replicas take the setup lock in /mnt/persistent, which must be one shared ReadWriteMany volume; use 1 replica or keep the volume", cfg.Replicas)
	}
	db, err := pg.Database(postgres.DatabaseSpec{Name: "ejbca"})
	if err != nil {
		return nil, fmt.Errorf("x509: %w", err)
	}
	c, err := s.AddComponent("x509-identity-mgmt", stack.Meta{App: "x509-identity-mgmt", Role: "ca", Version: sts.Tag(cfg.Image)})
	if err != nil {
		return nil, err
	}
	c.DependsOn(pg.Component)
	c.Uses(pg.PrimaryEndpoint()) // DATABASE_JDBC_URL names the primary
	mongoPassword := c.DeclareSecret(MongoUser+"-mongo", stack.SecretKey{Key: "password", Kind: stack.RandomPassword}).Ref("password")
	sel := c.SelectorLabels()
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "x509-identity-mgmt"},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: cfg.Storage.Size}},
		},
	}
	if cfg.Storage.Class != "" {
		pvc.Spec.StorageClassName = ptr.To(cfg.Storage.Class)
	}
	pod := corev1.PodSpec{
		AutomountServiceAccountToken: ptr.To(false),
		EnableServiceLinks:           ptr.To(false),
		SecurityContext:              stack.RestrictedPodSecurityContext(stack.PodSecurity{UID: 10001, GID: 10001, FSGroup: 10001}),
		Containers: []corev1.Container{{
			Name:  "x509-identity-mgmt",
			Image: cfg.Image,
			Env: []corev1.EnvVar{
				{Name: "DATABASE_JDBC_URL", Value: fmt.Sprintf("jdbc:postgresql://%s:%d/%s?characterEncoding=UTF-8", pg.PrimaryHost(), pg.Port, db.Name)},
				{Name: "DATABASE_USER", Value: db.User},
				db.Password.EnvVar("DATABASE_PASSWORD"),
				{Name: "EJBCA_PERFORM_DOJOT_SETUP", Value: "true"},
				{Name: "NODE_ENV", Value: "production"},
				{Name: "MONGO_URI", Value: cfg.MongoURI},
				{Name: "MONGO_USER", Value: MongoUser},
				mongoPassword.EnvVar("MONGO_PASS"),
				{Name: "MONGO_AUTH_DB", Value: "admin"},
			},
			Ports:           []corev1.ContainerPort{{Name: "http", ContainerPort: Port}},
			Resources:       cfg.Resources.Requirements(),
			StartupProbe:    stack.HTTPProbe("/healthcheck", "http", stack.ProbeTiming{InitialDelaySeconds: 30, PeriodSeconds: 10, TimeoutSeconds: 5, FailureThreshold: 60}),
			ReadinessProbe:  stack.HTTPProbe("/healthcheck", "http", stack.ProbeTiming{PeriodSeconds: 10, TimeoutSeconds: 5}),
			LivenessProbe:   stack.TCPProbe("http", stack.ProbeTiming{PeriodSeconds: 30, TimeoutSeconds: 5, FailureThreshold: 6}),
			SecurityContext: stack.RestrictedContainerSecurityContext(false), // EJBCA writes into its application server
			VolumeMounts:    []corev1.VolumeMount{{Name: "persistent", MountPath: "/mnt/persistent"}},
		}},
	}
	if cfg.Ephemeral {
		// The pod keeps /mnt/persistent, as the guide's pod with the
		// volume off kept it in its container.
		sts.EphemeralVolume(&pod, "persistent", cfg.Storage.Size)
	} else {
		pod.Volumes = []corev1.Volume{{Name: "persistent", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: pvc.Name}}}}
	}
	if err := s.Topology().Place(&pod, sel, stack.Placement{Pool: cfg.Pool}); err != nil {
		return nil, fmt.Errorf("x509: %w", err)
	}
	// One pod owns the volume: stop the old one before the new one starts.
	strategy := appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
	if cfg.Replicas > 1 {
		// Replicas share the volume and take turns at the setup lock:
		// replace one at a time, with no pod beyond replicas on the
		// group's nodes.
		strategy = appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType, RollingUpdate: &appsv1.RollingUpdateDeployment{
			MaxUnavailable: ptr.To(intstr.FromInt32(1)), MaxSurge: ptr.To(intstr.FromInt32(0))}}
		if pod.Affinity == nil {
			pod.Affinity = &corev1.Affinity{}
		}
		// As dojot's bridges: prefer distinct nodes, never require them
		// (a local volume pins every replica to its one node).
		pod.Affinity.PodAntiAffinity = &corev1.PodAntiAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{
			Weight: 100, PodAffinityTerm: corev1.PodAffinityTerm{LabelSelector: &metav1.LabelSelector{MatchLabels: sel}, TopologyKey: stack.HostnameLabel}}}}
	}
	deploy := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "x509-identity-mgmt"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(cfg.Replicas),
			Selector: &metav1.LabelSelector{MatchLabels: sel},
			Strategy: strategy,
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: sel}, Spec: pod},
		},
	}
	svc := sts.Client("x509-identity-mgmt", sel, []corev1.ServicePort{{Name: "http", Port: Port, TargetPort: intstr.FromString("http")}})
	if !cfg.Ephemeral {
		c.Add(pvc)
	}
	c.Add(svc, deploy)
	if cfg.Replicas > 1 {
		c.Add(stack.PDB("x509-identity-mgmt", sel, 1))
	}
	return &Handle{Component: c, Address: fmt.Sprintf("%s:%d", s.ServiceHost("x509-identity-mgmt"), Port),
		MongoUser: MongoUser, MongoDatabase: MongoDatabase, MongoPassword: mongoPassword}, nil
}
