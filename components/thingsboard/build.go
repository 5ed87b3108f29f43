package thingsboard

import (
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/iotstack/iotstack/components/cassandra"
	"github.com/iotstack/iotstack/components/internal/sts"
	"github.com/iotstack/iotstack/components/postgres"
	"github.com/iotstack/iotstack/stack"
)

// uid is the thingsboard user of the images (the ThingsBoard article's
// runAsUser).
const uid = 799

// Names of the shared ConfigMaps.
const (
	clusterConfig = "tb-cluster-stack-config"
	nodeConfig    = "tb-node-config"
)

// wiring is what every JVM service reads besides the ConfigMap.
type wiring struct {
	keyspace cassandra.Keyspace
	database postgres.Database
	deps     Deps
}

// dataTier is what tb-cluster-stack-config wires a JVM service to: every
// Kafka broker, every ZooKeeper server, every Cassandra node, every Redis
// node and the PostgreSQL pooler (the JDBC URL's host).
func (w wiring) dataTier() []stack.Endpoint {
	return []stack.Endpoint{w.deps.Kafka.Client(), w.deps.ZooKeeper.Client(), w.deps.Cassandra.CQL(), w.deps.Redis.Client(), w.deps.Postgres.PoolerEndpoint()}
}

func (w wiring) secretEnv() []corev1.EnvVar {
	return []corev1.EnvVar{
		w.database.Password.EnvVar("SPRING_DATASOURCE_PASSWORD"),
		w.deps.Cassandra.Password.EnvVar("CASSANDRA_PASSWORD"),
		w.deps.Redis.Password.EnvVar("REDIS_PASSWORD"),
	}
}

// New adds ThingsBoard to s: a "thingsboard" component with the shared
// configuration and the install Job, one component per microservice, and
// "thingsboard-exposure" with the Ingress and the MQTT load balancer.
func New(s *stack.Stack, d Deps, cfg Config) (*Handle, error) {
	if s == nil {
		return nil, fmt.Errorf("thingsboard: stack is nil; pass the stack to add ThingsBoard to")
	}
	cfg.Default(d)
	if err := cfg.Validate(d); err != nil {
		return nil, err
	}
	for _, svc := range Services {
		sc := cfg.Services[svc]
		if !sc.Enabled {
			continue
		}
		if err := sts.HostsFit(s.Topology(), "thingsboard: "+string(svc), cfg.Pool, sc.Replicas); err != nil {
			return nil, err
		}
		if err := s.Topology().Fits("thingsboard: "+string(svc), cfg.Pool, int(sc.Replicas), sc.Resources); err != nil {
			return nil, err
		}
	}
	ks, err := d.Cassandra.Keyspace(cassandra.KeyspaceSpec{Name: cfg.Keyspace, ReplicationFactor: cfg.KeyspaceReplication,
		ReadConsistency: cassandra.Quorum, WriteConsistency: cassandra.Quorum})
	if err != nil {
		return nil, fmt.Errorf("thingsboard: %w", err)
	}
	db, err := d.Postgres.Database(postgres.DatabaseSpec{Name: cfg.Database})
	if err != nil {
		return nil, fmt.Errorf("thingsboard: %w", err)
	}
	w := wiring{keyspace: ks, database: db, deps: d}

	shared, err := s.AddComponent("thingsboard", stack.Meta{App: "thingsboard", Role: "config", Version: cfg.Version})
	if err != nil {
		return nil, err
	}
	shared.DependsOn(d.Kafka.Component, d.ZooKeeper.Component, d.Cassandra.Component, d.Redis.Component, d.Postgres.Component)
	// The install Job reads the whole cluster configuration
	// (tb-cluster-stack-config) and waits for the database through the
	// pooler and for the keyspace over CQL.
	shared.Uses(w.dataTier()...)
	shared.Add(
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: clusterConfig}, Data: clusterSettings(cfg, w)},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: nodeConfig}, Data: nodeConfigData(cfg)},
	)
	install, err := installJob(s, shared, cfg, w)
	if err != nil {
		return nil, err
	}
	shared.Add(install)

	h := &Handle{Core: string(Core), MQTT: string(MQTTTransport), HTTP: string(HTTPTransport), Components: map[Service]*stack.Component{},
		RESTURL: fmt.Sprintf("http://%s:8080", s.ServiceHost(string(Core))), MQTTHost: s.ServiceHost(string(MQTTTransport))}
	for _, svc := range Services {
		sc := cfg.Services[svc]
		if !sc.Enabled {
			continue
		}
		c, err := s.AddComponent(string(svc), stack.Meta{App: "thingsboard", Role: string(svc), Version: cfg.Version})
		if err != nil {
			return nil, err
		}
		c.DependsOn(shared)
		switch {
		case specs[svc].jvm: // every JVM service reads tb-cluster-stack-config
			c.Uses(w.dataTier()...)
		case svc == JSExecutor: // TB_KAFKA_SERVERS only
			c.Uses(d.Kafka.Client())
		} // tb-web-ui connects to nothing (TB_ENABLE_PROXY false)
		objs, err := service(s, c, cfg, svc, sc, w)
		if err != nil {
			return nil, err
		}
		c.Add(objs...)
		if svc == MQTTTransport {
			c.Add(mqttsObjects(s, cfg.MQTTS)...)
			c.Alert(mqttsAlerts(c, cfg.MQTTS)...)
		}
		h.Components[svc] = c
	}
	exposure, err := s.AddComponent("thingsboard-exposure", stack.Meta{App: "thingsboard", Role: "exposure", Version: cfg.Version})
	if err != nil {
		return nil, err
	}
	h.ingress = ingress(cfg)
	exposure.Add(h.ingress, mqttLoadBalancer(cfg, h.Components[MQTTTransport]))
	return h, nil
}

// service builds one microservice: Deployment, Service, PDB.
func service(s *stack.Stack, c *stack.Component, cfg Config, svc Service, sc ServiceConfig, w wiring) ([]stack.Object, error) {
	sp := specs[svc]
	sel := c.SelectorLabels()
	container := corev1.Container{
		Name:            string(svc),
		Image:           fmt.Sprintf("%s/%s:%s", cfg.Registry, sp.image, cfg.Version),
		Ports:           sp.ports,
		Env:             serviceEnv(cfg, svc, sc, w),
		Resources:       sc.Resources.Requirements(),
		ReadinessProbe:  sp.probe,
		LivenessProbe:   sp.live,
		SecurityContext: stack.RestrictedContainerSecurityContext(true),
		VolumeMounts:    []corev1.VolumeMount{{Name: "tmp", MountPath: "/tmp"}},
	}
	volumes := []corev1.Volume{sts.EmptyDir("tmp")}
	if svc == MQTTTransport {
		withMQTTS(cfg.MQTTS, &container, &volumes)
	}
	startup := *sp.probe
	startup.InitialDelaySeconds, startup.PeriodSeconds, startup.FailureThreshold = 20, 10, 60
	container.StartupProbe = &startup
	var annotations map[string]string
	if sp.jvm {
		container.EnvFrom = []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: clusterConfig}}}}
		container.VolumeMounts = append(container.VolumeMounts,
			corev1.VolumeMount{Name: "config", MountPath: "/config"},
			corev1.VolumeMount{Name: "logs", MountPath: "/var/log/thingsboard"})
		volumes = append(volumes, sts.EmptyDir("logs"), corev1.Volume{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: nodeConfig}}}})
		metricsPort := int32(8080)
		for _, p := range sp.ports {
			if p.Name == "metrics" || (p.Name == "http" && metricsPort == 8080) {
				metricsPort = p.ContainerPort
			}
		}
		annotations = sts.ScrapeAnnotations(metricsPort, "/actuator/prometheus")
	}
	var initContainers []corev1.Container
	if sp.jvm { // a JVM service starts on the schema of its own version only
		initContainers = []corev1.Container{waitForSchema(cfg, w)}
	}
	pod := corev1.PodSpec{
		AutomountServiceAccountToken:  ptr.To(false),
		EnableServiceLinks:            ptr.To(false),
		SecurityContext:               stack.RestrictedPodSecurityContext(stack.PodSecurity{UID: uid, GID: uid, FSGroup: uid}),
		TerminationGracePeriodSeconds: ptr.To(int64(60)),
		InitContainers:                initContainers,
		Containers:                    []corev1.Container{container},
		Volumes:                       volumes,
	}
	if err := s.Topology().Place(&pod, sel, stack.Placement{Pool: cfg.Pool, SpreadZones: true, OnePerHost: true}); err != nil {
		return nil, fmt.Errorf("thingsboard: %s: %w", svc, err)
	}
	deploy := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: string(svc)},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(sc.Replicas),
			Selector: &metav1.LabelSelector{MatchLabels: sel},
			// One node per pod: a surge pod would have nowhere to go.
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType, RollingUpdate: &appsv1.RollingUpdateDeployment{
				MaxSurge: ptr.To(intstr.FromInt32(0)), MaxUnavailable: ptr.To(intstr.FromInt32(1))}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: sel, Annotations: annotations}, Spec: pod},
		},
	}
	objs := []stack.Object{deploy, stack.PDB(string(svc), sel, 1)}
	if clientPorts := serviceClientPorts(cfg, svc); len(clientPorts) > 0 {
		var ports []corev1.ServicePort
		for _, name := range clientPorts {
			for _, p := range container.Ports {
				if p.Name == name {
					ports = append(ports, corev1.ServicePort{Name: name, Port: p.ContainerPort, Protocol: p.Protocol, TargetPort: intstr.FromString(name)})
				}
			}
		}
		client := sts.Client(string(svc), sel, ports)
		client.Annotations = albHealthCheck(cfg, svc)
		objs = append(objs, client)
	}
	return objs, nil
}

// serviceEnv is a service's own environment; the shared settings come
// from the cluster ConfigMap.
func serviceEnv(cfg Config, svc Service, sc ServiceConfig, w wiring) []corev1.EnvVar {
	sp := specs[svc]
	podName := corev1.EnvVar{Name: "TB_SERVICE_ID", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}
	switch svc {
	case JSExecutor:
		return jsExecutorEnv(cfg, sc, w)
	case WebUI:
		return []corev1.EnvVar{
			{Name: "HTTP_BIND_ADDRESS", Value: "0.0.0.0"},
			{Name: "HTTP_BIND_PORT", Value: "8080"},
			{Name: "TB_ENABLE_PROXY", Value: "false"},
		}
	}
	env := []corev1.EnvVar{
		podName,
		{Name: "TB_SERVICE_TYPE", Value: sp.serviceType},
		{Name: "JAVA_OPTS", Value: fmt.Sprintf("-Xms%[1]dm -Xmx%[1]dm -Xss384k", sc.Resources.HeapMiB(66))},
	}
	env = append(env, w.secretEnv()...)
	switch svc {
	case Core, RuleEngine:
		for _, t := range []string{"HTTP", "MQTT", "COAP", "SNMP", "LWM2M"} {
			env = append(env, corev1.EnvVar{Name: t + "_ENABLED", Value: "false"})
		}
	case HTTPTransport:
		env = append(env, corev1.EnvVar{Name: "HTTP_BIND_PORT", Value: "8080"})
	case VCExecutor:
		env = append(env, corev1.EnvVar{Name: "WEB_APPLICATION_ENABLE", Value: "true"}, corev1.EnvVar{Name: "WEB_APPLICATION_TYPE", Value: "servlet"},
			corev1.EnvVar{Name: "HTTP_BIND_PORT", Value: "8086"})
	default: // the other transports serve metrics on 8081
		env = append(env, corev1.EnvVar{Name: "WEB_APPLICATION_ENABLE", Value: "true"}, corev1.EnvVar{Name: "WEB_APPLICATION_TYPE", Value: "servlet"},
			corev1.EnvVar{Name: "HTTP_BIND_PORT", Value: "8081"})
	}
	return env
}

func dashed(v string) string { return strings.ReplaceAll(strings.ToLower(v), ".", "-") }

func hostOf(hostPort string) string {
	if i := strings.LastIndex(hostPort, ":"); i >= 0 {
		return hostPort[:i]
	}
	return hostPort
}
