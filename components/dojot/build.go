package dojot

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/iotstack/iotstack/components/internal/sts"
	"github.com/iotstack/iotstack/components/postgres"
	"github.com/iotstack/iotstack/stack"
)

// uid runs the dojot images that do not name a user of their own.
const uid = 10001

// redisImage is the Redis dojot's services embed (dojot/redis).
const redisImage = "dojot/redis:5.0.5-alpine3.10"

// env is a shorthand for literal variables.
func env(kv ...string) []corev1.EnvVar {
	var out []corev1.EnvVar
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, corev1.EnvVar{Name: kv[i], Value: kv[i+1]})
	}
	return out
}

// wiring carries the addresses every service is built from.
type wiring struct {
	s           *stack.Stack
	cfg         Config
	d           Deps
	kafkaHosts  string // host:port,...
	kafkaHost   string // first broker host
	kafkaPort   string
	zk          string // host:port of the ZooKeeper client Service
	pgHost      string
	dbs         map[string]postgres.Database
	minioSecret *stack.SecretSpec
	mongoSecret *stack.SecretSpec
}

// New adds the dojot services of cfg to s, wired to the data tier.
func New(s *stack.Stack, d Deps, cfg Config) error {
	if s == nil {
		return fmt.Errorf("dojot: stack is nil; pass the stack to add dojot to")
	}
	cfg.Default()
	if err := cfg.Validate(s.Topology()); err != nil {
		return err
	}
	if d.Kafka == nil || d.ZooKeeper == nil || d.Postgres == nil || d.X509 == nil {
		return fmt.Errorf("dojot: deps: Kafka, ZooKeeper, Postgres and X509 handles are all required")
	}
	if err := checkAgents(cfg, d.VerneMQ != nil); err != nil {
		return err
	}
	w := &wiring{s: s, cfg: cfg, d: d, kafkaHosts: d.Kafka.BootstrapServers(), kafkaPort: fmt.Sprint(d.Kafka.Port),
		zk: fmt.Sprintf("%s:%d", s.ServiceHost(d.ZooKeeper.Service), d.ZooKeeper.Port), pgHost: d.Postgres.PrimaryHost(), dbs: map[string]postgres.Database{}}
	w.kafkaHost = s.ServiceHost(d.Kafka.Service)
	// Kong's password is stored as md5 (kongPasswordEncryption); the others
	// keep the server's SCRAM.
	for _, db := range []postgres.DatabaseSpec{{Name: "kong", PasswordEncryption: kongPasswordEncryption}, {Name: "auth", CreateDB: true}, {Name: "devm"}} {
		if db.Name == "devm" && !cfg.Has("device-manager") {
			continue
		}
		if db.Name == "kong" && !cfg.Has("kong") {
			continue
		}
		got, err := d.Postgres.Database(db)
		if err != nil {
			return fmt.Errorf("dojot: %w", err)
		}
		w.dbs[db.Name] = got
	}
	builders := map[string]func(*stack.Component) ([]stack.Object, error){
		"kong": w.kong, "auth": w.auth, "data-broker": w.dataBroker, "device-manager": w.deviceManager,
		"flowbroker": w.flowbroker, "gui": w.simple("gui", 80, "64Mi"), "gui-v2": w.guiV2, "history": w.history, "persister": w.persister,
		IoTAgentLwM2M: w.lwm2m, IoTAgentMosca: w.mosca,
		"image-manager": w.imageManager, "kafka-ws": w.kafkaWS, "kafka2ftp": w.kafka2ftp, "cron": w.cron,
		"backstage": w.backstage, "data-manager": w.simple("data-manager", 3000, "128Mi"),
		"minio": w.minio, "mongodb": w.mongodb, "rabbitmq": w.rabbitmq,
		"k2v-bridge": w.bridge("k2v-bridge"), "v2k-bridge": w.bridge("v2k-bridge"), "kafka-loopback": w.bridge("kafka-loopback"),
	}
	// Stores first, then the services, in name order.
	order := []string{"mongodb", "minio", "rabbitmq"}
	for _, name := range sortedServices(cfg.Services) {
		if name != "mongodb" && name != "minio" && name != "rabbitmq" {
			order = append(order, name)
		}
	}
	comps := map[string]*stack.Component{}
	for _, name := range order {
		if !cfg.Has(name) {
			continue
		}
		c, err := s.AddComponent(name, stack.Meta{App: name, Role: role(name), Version: cfg.Version})
		if err != nil {
			return err
		}
		comps[name] = c
		c.DependsOn(d.Kafka.Component, d.ZooKeeper.Component, d.Postgres.Component)
		objs, err := builders[name](c)
		if err != nil {
			return fmt.Errorf("dojot: %s: %w", name, err)
		}
		c.Add(objs...)
	}
	w.reach(comps)
	return nil
}

func role(name string) string {
	switch name {
	case "mongodb", "minio", "rabbitmq":
		return "store"
	case "k2v-bridge", "v2k-bridge", "kafka-loopback":
		return "bridge"
	case "kong":
		return "api-gateway"
	case IoTAgentLwM2M, IoTAgentMosca:
		return "iot-agent"
	}
	return "service"
}

// group is the node group of a service (the guide's node affinity).
func group(name string) Group {
	switch name {
	case "kafka-loopback":
		return GroupKafka
	case "k2v-bridge", "v2k-bridge":
		return GroupVerneMQ
	}
	return GroupDojot
}

func (w *wiring) image(name string) string { return fmt.Sprintf("dojot/%s:%s", name, w.cfg.Version) }

// pod builds a restricted pod for a service, placed on its group's pool.
func (w *wiring) pod(c *stack.Component, name string, containers ...corev1.Container) (corev1.PodSpec, error) {
	pod := corev1.PodSpec{
		AutomountServiceAccountToken: ptr.To(false),
		EnableServiceLinks:           ptr.To(false),
		SecurityContext:              stack.RestrictedPodSecurityContext(stack.PodSecurity{UID: uid, GID: uid, FSGroup: uid}),
		Containers:                   containers,
	}
	err := w.s.Topology().Place(&pod, c.SelectorLabels(), stack.Placement{Pool: w.cfg.Pools[group(name)]})
	return pod, err
}

// container is a service container; port 0 means it listens on nothing.
func (w *wiring) container(name, image string, port int32, cpu, memory string, vars []corev1.EnvVar) corev1.Container {
	return w.containerPort(name, image, "http", port, cpu, memory, vars)
}

// containerPort is container with a port name other than "http".
func (w *wiring) containerPort(name, image, portName string, port int32, cpu, memory string, vars []corev1.EnvVar) corev1.Container {
	c := corev1.Container{
		Name:            name,
		Image:           image,
		Env:             vars,
		Resources:       w.cfg.resources(cpu, memory).Requirements(),
		SecurityContext: stack.RestrictedContainerSecurityContext(false), // dojot's images write into their own trees
	}
	if port != 0 {
		c.Ports = []corev1.ContainerPort{{Name: portName, ContainerPort: port}}
		c.ReadinessProbe = stack.TCPProbe(portName, stack.ProbeTiming{PeriodSeconds: 10, TimeoutSeconds: 3})
		c.LivenessProbe = stack.TCPProbe(portName, stack.ProbeTiming{InitialDelaySeconds: 30, PeriodSeconds: 20, TimeoutSeconds: 3, FailureThreshold: 6})
	}
	return c
}

// redisSidecar is the Redis a service keeps next to it on localhost.
func (w *wiring) redisSidecar() corev1.Container {
	c := w.containerPort("redis", redisImage, "redis", 6379, "200m", "64Mi", nil)
	c.ReadinessProbe = stack.ExecProbe(stack.ProbeTiming{PeriodSeconds: 10, TimeoutSeconds: 3}, "redis-cli", "ping")
	c.LivenessProbe = stack.TCPProbe("redis", stack.ProbeTiming{InitialDelaySeconds: 10, PeriodSeconds: 20})
	return c
}

// deployment wraps containers in a one-replica Deployment and, for a
// listening service, a Service named after it on servicePort.
func (w *wiring) deployment(c *stack.Component, name string, servicePort int32, containers ...corev1.Container) ([]stack.Object, error) {
	pod, err := w.pod(c, name, containers...)
	if err != nil {
		return nil, err
	}
	sel := c.SelectorLabels()
	objs := []stack.Object{&appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(int32(1)),
			Selector: &metav1.LabelSelector{MatchLabels: sel},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: sel}, Spec: pod},
		},
	}}
	if servicePort != 0 {
		p := containers[0].Ports[0].Name
		objs = append(objs, sts.Client(name, sel, []corev1.ServicePort{{Name: p, Port: servicePort, TargetPort: intstr.FromString(p)}}))
	}
	return objs, nil
}

// companionRedis is a separate Redis Deployment and Service (<name>-redis).
func (w *wiring) companionRedis(c *stack.Component, name, image string) ([]stack.Object, error) {
	sel := c.SelectorFor("redis")
	rc := w.redisSidecar()
	rc.Image = image
	pod, err := w.pod(c, name, rc)
	if err != nil {
		return nil, err
	}
	if err := w.s.Topology().Place(&pod, sel, stack.Placement{}); err != nil {
		return nil, err
	}
	return []stack.Object{
		&appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: name + "-redis"},
			Spec: appsv1.DeploymentSpec{
				Replicas: ptr.To(int32(1)),
				Selector: &metav1.LabelSelector{MatchLabels: sel},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: sel}, Spec: pod},
			},
		},
		sts.Client(name+"-redis", sel, []corev1.ServicePort{{Name: "redis", Port: 6379, TargetPort: intstr.FromString("redis")}}),
	}, nil
}

func (w *wiring) simple(name string, port int32, memory string) func(*stack.Component) ([]stack.Object, error) {
	return func(c *stack.Component) ([]stack.Object, error) {
		return w.deployment(c, name, port, w.container(name, w.image(name), port, "500m", memory, nil))
	}
}

func (w *wiring) auth(c *stack.Component) ([]stack.Object, error) {
	db := w.dbs["auth"]
	vars := env("KAFKA_HOSTS", w.kafkaHosts, "KAFKA_GROUP_ID", "auth-group", "DOJOT_MANAGEMENT_USER", "auth",
		"AUTH_DB_HOST", w.pgHost, "AUTH_DB_USER", db.User, "AUTH_KONG_URL", fmt.Sprintf("http://%s:%d", w.s.ServiceHost("kong"), adminGatePort),
		"AUTH_CACHE_NAME", "redis", "AUTH_CACHE_HOST", "localhost")
	if e := w.cfg.Email; e != nil {
		mail := c.DeclareSecret(AuthEmailSecret, stack.SecretKey{Key: "password", Kind: stack.UserProvided})
		vars = append(vars, env("AUTH_EMAIL_HOST", e.Host, "AUTH_EMAIL_USER", e.User)...)
		if e.Port != 0 {
			vars = append(vars, env("AUTH_EMAIL_PORT", fmt.Sprint(e.Port))...)
		}
		vars = append(vars, mail.Ref("password").EnvVar("AUTH_EMAIL_PASSWD"))
	} else {
		vars = append(vars, env("AUTH_EMAIL_HOST", "NOEMAIL")...)
	}
	vars = append(vars, env("AUTH_RESET_PWD_VIEW", "https://"+w.cfg.Domain+"/#/setPassword/")...)
	vars = append(vars, db.Password.EnvVar("AUTH_DB_PWD"))
	return w.deployment(c, "auth", 5000, w.container("auth", w.image("auth"), 5000, "500m", "192Mi", vars), w.redisSidecar())
}

func (w *wiring) dataBroker(c *stack.Component) ([]stack.Object, error) {
	vars := env("KAFKA_HOSTS", w.kafkaHosts, "KAFKA_GROUP_ID", "data-broker-group", "DATABROKER_ZOOKEEPER_HOST", w.zk,
		"DATABROKER_KAFKA_ADDRESS", w.kafkaHost, "DATABROKER_KAFKA_PORT", w.kafkaPort,
		"KAFKA_NUM_PARTITIONS", fmt.Sprint(w.cfg.Bridges), "KAFKA_REPLICATION_FACTOR", fmt.Sprint(w.d.Kafka.ReplicationFactor))
	objs, err := w.deployment(c, "data-broker", 80, w.container("data-broker", w.image("data-broker"), 80, "500m", "192Mi", vars))
	if err != nil {
		return nil, err
	}
	redis, err := w.companionRedis(c, "data-broker", redisImage)
	return append(objs, redis...), err
}

func (w *wiring) deviceManager(c *stack.Component) ([]stack.Object, error) {
	db := w.dbs["devm"]
	crypto := c.DeclareSecret("devm-crypto",
		stack.SecretKey{Key: "pass", Kind: stack.RandomPassword},
		stack.SecretKey{Key: "iv", Kind: stack.RandomPassword, Length: 16},
		stack.SecretKey{Key: "salt", Kind: stack.RandomPassword})
	vars := env("DBHOST", w.pgHost, "DBUSER", db.User, "KAFKA_HOST", w.kafkaHost, "KAFKA_PORT", w.kafkaPort)
	vars = append(vars, db.Password.EnvVar("DBPASS"), crypto.Ref("pass").EnvVar("DEV_MNGR_CRYPTO_PASS"),
		crypto.Ref("iv").EnvVar("DEV_MNGR_CRYPTO_IV"), crypto.Ref("salt").EnvVar("DEV_MNGR_CRYPTO_SALT"))
	objs, err := w.deployment(c, "device-manager", 5000, w.container("device-manager", w.image("device-manager"), 5000, "500m", "192Mi", vars))
	if err != nil {
		return nil, err
	}
	redis, err := w.companionRedis(c, "device-manager", redisImage)
	return append(objs, redis...), err
}

// flowbroker deploys remote flow nodes as Deployments and Services of its
// own, hence its Role: exactly the calls of flowbroker v0.5.0's
// kubernetes remote node (orchestrator/nodes/kubernetesRemoteNode/index.js,
// kubernetes-client): it lists the deployments (GET on the collection;
// get is kept for the same read through a named path), creates a
// Deployment and a Service per node, scales a Deployment to 0 (PATCH)
// and deletes it and its Service. It never reads, lists or patches
// Services, so those verbs are gone. Names are generated per tenant and
// node (flownode-<tenant><id>), so resourceNames cannot narrow them, and
// RBAC cannot restrict what a created Deployment contains: see the
// package doc for what remains.
func (w *wiring) flowbroker(c *stack.Component) ([]stack.Object, error) {
	vars := env("FLOWBROKER_CACHE_HOST", "localhost", "KAFKA_HOSTS", w.kafkaHosts, "CONTEXT_MANAGER_ADDRESS", "localhost",
		"DEPLOY_ENGINE", "kubernetes", "KAFKA_GROUP_ID", "flowbroker-group", "DOJOT_MANAGEMENT_USER", "flowbroker")
	zkHost, zkPort := w.s.ServiceHost(w.d.ZooKeeper.Service), fmt.Sprint(w.d.ZooKeeper.Port)
	ctx := w.container("context-manager", w.image("flowbroker-context-manager"), 0, "200m", "128Mi",
		env("SERVICE_PORT", "8080", "ZOOKEEPER_HOST", zkHost, "ZOOKEEPER_PORT", zkPort, "ZEROMQ_PORT", "5556",
			"HOLD_LOCK_TIMEOUT", "10000", "WAIT_LOCK_TIMEOUT", "30000"))
	ctx.Ports = []corev1.ContainerPort{{Name: "ctx", ContainerPort: 5556}}
	ctx.ReadinessProbe = stack.TCPProbe("ctx", stack.ProbeTiming{PeriodSeconds: 10})
	ctx.LivenessProbe = stack.TCPProbe("ctx", stack.ProbeTiming{InitialDelaySeconds: 30, PeriodSeconds: 20})
	objs, err := w.deployment(c, "flowbroker", 80, w.container("flowbroker", w.image("flowbroker"), 80, "500m", "256Mi", vars), w.redisSidecar(), ctx)
	if err != nil {
		return nil, err
	}
	deploy := objs[0].(*appsv1.Deployment)
	deploy.Spec.Template.Spec.ServiceAccountName = "flowbroker"
	deploy.Spec.Template.Spec.AutomountServiceAccountToken = ptr.To(true)
	return append(objs,
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "flowbroker"}, AutomountServiceAccountToken: ptr.To(false)},
		&rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "flowbroker"}, Rules: flowbrokerRules()},
		&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "flowbroker"},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "flowbroker"},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "flowbroker"}}},
	), nil
}

// flowbrokerRules is flowbroker's Role (see flowbroker).
func flowbrokerRules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"get", "list", "create", "patch", "delete"}},
		{APIGroups: []string{""}, Resources: []string{"services"}, Verbs: []string{"create", "delete"}},
	}
}

func (w *wiring) history(c *stack.Component) ([]stack.Object, error) {
	vars := append(w.mongoLogin("history"), env("FALCON_SETTINGS_MODULE", "history.settings.docker", "DOJOT_MANAGEMENT_USER", "history")...)
	return w.deployment(c, "history", 8000, w.container("history", w.image("history"), 8000, "500m", "128Mi", vars))
}

func (w *wiring) persister(c *stack.Component) ([]stack.Object, error) {
	vars := append(w.mongoLogin("persister"), env("FALCON_SETTINGS_MODULE", "history.settings.docker", "DOJOT_MANAGEMENT_USER", "persister",
		"KAFKA_GROUP_ID", "persister-group", "KAFKA_HOSTS", w.kafkaHosts, "KAFKA_ADDRESS", w.kafkaHost)...)
	c.Except("probes", "dojot's persister listens on no port and ships no health command; a failed Kafka or MongoDB session ends the process, which restarts it")
	return w.deployment(c, "persister", 0, w.container("persister", w.image("persister"), 0, "500m", "128Mi", vars))
}

// imageManager uses auth's database credentials, as in v0.5.0.
func (w *wiring) imageManager(c *stack.Component) ([]stack.Object, error) {
	db := w.dbs["auth"]
	vars := env("S3URL", fmt.Sprintf("%s:9000", w.s.ServiceHost("minio")), "DBHOST", w.pgHost, "DBUSER", db.User)
	vars = append(vars, w.minioSecret.Ref("access-key").EnvVar("S3ACCESSKEY"), w.minioSecret.Ref("secret-key").EnvVar("S3SECRETKEY"), db.Password.EnvVar("DBPASS"))
	return w.deployment(c, "image-manager", 5000, w.container("image-manager", w.image("image-manager"), 5000, "500m", "128Mi", vars))
}

func (w *wiring) kafkaWS(c *stack.Component) ([]stack.Object, error) {
	vars := env("KAFKA_HOSTS", w.kafkaHosts, "LOG_LEVEL", "info", "LOG_VERBOSE", "false", "KAFKA_WS_PORT", "8080",
		"REDIS_HOST", w.s.ServiceHost("kafka-ws-redis"), "REDIS_PORT", "6379", "KAFKA_WS_TLS", fmt.Sprint(w.cfg.KafkaWSTLS))
	if w.cfg.KafkaWSTLS {
		// ansible-dojot v0.5.0 roles/kafka-ws/templates/kafka_ws_deployment.yaml.j2:
		// the files under /opt/kafka-ws/certs, clients' certificates requested.
		vars = append(vars, env("KAFKA_WS_TLS_CA_FILE", "/opt/kafka-ws/certs/ca.crt", "KAFKA_WS_TLS_KEY_FILE", "/opt/kafka-ws/certs/kafka-ws.key",
			"KAFKA_WS_TLS_CERT_FILE", "/opt/kafka-ws/certs/kafka-ws.crt", "KAFKA_WS_REQUEST_CERT", "true")...)
	}
	ws := w.container("kafka-ws", w.image("kafka-ws"), 8080, "500m", "128Mi", vars)
	ws.ReadinessProbe = stack.HTTPProbe("/healthcheck", "http", stack.ProbeTiming{PeriodSeconds: 20, TimeoutSeconds: 5})
	if w.cfg.KafkaWSTLS {
		// The role's own warning: with mutual TLS the HTTPS readiness
		// check cannot present a client certificate, so it is a TCP
		// check here.
		ws.ReadinessProbe = stack.TCPProbe("http", stack.ProbeTiming{PeriodSeconds: 20, TimeoutSeconds: 5})
		ws.VolumeMounts = append(ws.VolumeMounts, corev1.VolumeMount{Name: "certs", MountPath: "/opt/kafka-ws/certs", ReadOnly: true})
		c.DeclareSecret(KafkaWSTLSSecret, stack.SecretKey{Key: "ca.crt", Kind: stack.UserProvided},
			stack.SecretKey{Key: "kafka-ws.crt", Kind: stack.UserProvided}, stack.SecretKey{Key: "kafka-ws.key", Kind: stack.UserProvided})
	}
	objs, err := w.deployment(c, "kafka-ws", 8080, ws)
	if err != nil {
		return nil, err
	}
	if w.cfg.KafkaWSTLS {
		deploymentOf(objs).Spec.Template.Spec.Volumes = []corev1.Volume{tlsVolume("certs", KafkaWSTLSSecret)}
	}
	redis, err := w.companionRedis(c, "kafka-ws", "dojot/redis:6.0.4-alpine3.11")
	return append(objs, redis...), err
}

// kafka2ftp keeps v0.5.0's placeholder FTP target: configure a real one.
func (w *wiring) kafka2ftp(c *stack.Component) ([]stack.Object, error) {
	vars := env("KAFKA_HOSTS", w.kafkaHosts, "KAFKA_GROUP_ID", "kafka2ftp-group", "LOG_LEVEL", "info", "FTP_TENANT", "admin",
		"FTP_HOST", "localhost", "FTP_PORT", "21", "FTP_FTPS", "false", "FTP_USER", "anonymous", "FTP_REMOTE_DIR", "/incoming/",
		"MAX_CONCURRENT_CONNECTIONS", "10", "RETRIES", "13")
	c.Except("probes", "dojot's kafka2ftp listens on no port and ships no health command; a failed Kafka session ends the process, which restarts it")
	return w.deployment(c, "kafka2ftp", 0, w.container("kafka2ftp", w.image("kafka2ftp"), 0, "500m", "128Mi", vars))
}

func (w *wiring) cron(c *stack.Component) ([]stack.Object, error) {
	return w.deployment(c, "cron", 5000, w.container("cron", w.image("cron"), 5000, "500m", "128Mi", env("KAFKA_HOSTS", w.kafkaHosts)))
}

func (w *wiring) backstage(c *stack.Component) ([]stack.Object, error) {
	return w.deployment(c, "backstage", 3005, w.container("backstage", w.image("backstage"), 3005, "500m", "128Mi",
		env("LOCAL_URL", "http://"+w.s.ServiceHost("kong")+":8000")))
}

// bridge is a StatefulSet of cfg.Bridges pods (the guide's
// dojot_bridges_replicas), on its group's pool.
func (w *wiring) bridge(name string) func(*stack.Component) ([]stack.Object, error) {
	return func(c *stack.Component) ([]stack.Object, error) {
		var vars []corev1.EnvVar
		if name == "v2k-bridge" {
			vars = env("V2K_APP_EJBCA_ADDRESS", w.d.X509.Address, "V2K_MQTT_BACKPRESSURE_QUEUE_LENGTH_MAX", "104857600",
				"V2K_KAFKA_COMPRESSION_CODEC", "gzip", "V2K_KAFKA_QUEUE_BUFFERING_MAX_MS", "50")
		}
		ct := w.container(name, w.image(name), 0, "1", "256Mi", vars)
		sel := c.SelectorLabels()
		set, err := sts.StatefulSet(w.s.Topology(), sts.Spec{
			Name: name, Service: name, Replicas: w.cfg.Bridges, Parallel: true, Selector: sel,
			Placement:   stack.Placement{Pool: w.cfg.Pools[group(name)], SpreadZones: true},
			Security:    stack.PodSecurity{UID: uid, GID: uid, FSGroup: uid},
			GracePeriod: 30,
			Containers:  []corev1.Container{ct},
		})
		if err != nil {
			return nil, err
		}
		// Many bridges share few hosts: prefer spreading them.
		if set.Spec.Template.Spec.Affinity == nil { // a pool without labels asks for no node affinity
			set.Spec.Template.Spec.Affinity = &corev1.Affinity{}
		}
		set.Spec.Template.Spec.Affinity.PodAntiAffinity = &corev1.PodAntiAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{
			Weight: 100, PodAffinityTerm: corev1.PodAffinityTerm{LabelSelector: &metav1.LabelSelector{MatchLabels: sel}, TopologyKey: stack.HostnameLabel}}}}
		c.Except("probes", "dojot's "+name+" image listens on no port and ships no health command; a failed Kafka or MQTT session ends the process, which restarts it")
		objs := []stack.Object{sts.Headless(name, sel, nil), set}
		if w.cfg.Bridges > 1 {
			objs = append(objs, stack.PDB(name, sel, 1))
		}
		return objs, nil
	}
}

// store is a one-replica StatefulSet with a data volume.
func (w *wiring) store(c *stack.Component, name string, port int32, size string, ct corev1.Container, mount string, security stack.PodSecurity) ([]stack.Object, error) {
	ct.VolumeMounts = append(ct.VolumeMounts, corev1.VolumeMount{Name: "data", MountPath: mount})
	sel := c.SelectorLabels()
	set, err := sts.StatefulSet(w.s.Topology(), sts.Spec{
		Name: name, Service: name + "-headless", Replicas: 1, Selector: sel,
		Placement:   stack.Placement{Pool: w.cfg.Pools[GroupDojot]},
		Security:    security,
		GracePeriod: 60,
		Containers:  []corev1.Container{ct},
		Claims:      []corev1.PersistentVolumeClaim{stack.ClaimTemplate("data", stack.Storage{Size: resource.MustParse(size), Class: w.cfg.StorageClass})},
	})
	if err != nil {
		return nil, err
	}
	ports := []corev1.ServicePort{{Name: ct.Ports[0].Name, Port: port, TargetPort: intstr.FromString(ct.Ports[0].Name)}}
	return []stack.Object{sts.Headless(name+"-headless", sel, ports), sts.Client(name, sel, ports), set}, nil
}

func (w *wiring) minio(c *stack.Component) ([]stack.Object, error) {
	w.minioSecret = c.DeclareSecret("minio-auth",
		stack.SecretKey{Key: "access-key", Kind: stack.RandomPassword, Length: 20},
		stack.SecretKey{Key: "secret-key", Kind: stack.RandomPassword, Length: 40})
	ct := w.containerPort("minio", "dojot/minio:2019.09.20", "s3", 9000, "500m", "256Mi", nil)
	ct.Args = []string{"server", "/data"}
	ct.Env = []corev1.EnvVar{w.minioSecret.Ref("access-key").EnvVar("MINIO_ACCESS_KEY"), w.minioSecret.Ref("secret-key").EnvVar("MINIO_SECRET_KEY")}
	ct.ReadinessProbe = stack.HTTPProbe("/minio/health/ready", "s3", stack.ProbeTiming{PeriodSeconds: 20})
	ct.LivenessProbe = stack.HTTPProbe("/minio/health/live", "s3", stack.ProbeTiming{InitialDelaySeconds: 30, PeriodSeconds: 20})
	return w.store(c, "minio", 9000, "2Gi", ct, "/data", stack.PodSecurity{UID: uid, GID: uid, FSGroup: uid})
}

func (w *wiring) rabbitmq(c *stack.Component) ([]stack.Object, error) {
	ct := w.containerPort("rabbitmq", "dojot/rabbitmq:3.7-alpine", "amqp", 5672, "500m", "256Mi", nil)
	return w.deployment(c, "rabbitmq", 5672, ct)
}
