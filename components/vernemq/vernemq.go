// Package vernemq renders dojot's VerneMQ MQTT broker as a StatefulSet,
// in place of the abandoned vmq-operator custom resource that
// ansible-dojot v0.5.0 used.
//
// What it reproduces: dojot's broker configuration (the VERNEMQ_CONF of
// the v0.5.0 custom resource): the TLS listener on 8883 requiring client
// certificates with use_identity_as_username, dojot's ACL and disconnect
// plugins instead of vmq_passwd/vmq_acl, unlimited connections, the
// message limits and prefer_local shared subscriptions; the plain listener
// on 1883 only when insecure MQTT is enabled; certificates obtained from
// x509-identity-mgmt at start by the image's own vmq_dojot.sh; the
// PLUGIN_DISC_LIFETIME_SESSION and certificate-check schedules.
//
// Where it differs: VerneMQ clusters through the image's Kubernetes
// discovery (start_vernemq lists the StatefulSet's pods through the API),
// so it gets a ServiceAccount with exactly that: get on its StatefulSet
// and get/list on pods; the Service keeps traffic on the receiving node
// with internalTrafficPolicy/externalTrafficPolicy Local in place of the
// removed topologyKeys. Its NetworkPolicy admits the brokers to each
// other on the clustering listener, epmd and the Erlang distribution
// ports 9100-9109 (docker-vernemq's default; that dojot's vmq_dojot.sh
// keeps it is not verified), the bridges on MQTTS, and anyone on the
// NodePort listeners; the WebSocket listener admits no one, as no
// component of the stack uses it, and the HTTP listener only the
// monitoring namespace, which scrapes VerneMQ's /metrics there.
package vernemq

import (
	"fmt"
	"net"
	"strings"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/ptr"

	"github.com/iotstack/iotstack/components/internal/sts"
	"github.com/iotstack/iotstack/stack"
)

// Ports.
const (
	MQTTPort       = 1883
	MQTTSPort      = 8883
	WebSocketPort  = 8080
	HTTPPort       = 8888
	ClusteringPort = 44053
)

// Name is the broker's Service name, which its certificates carry
// (INTERNAL_DNS) and the bridges connect to.
const Name = "vernemq-k8s"

// Config configures the broker.
type Config struct {
	// Image is dojot/vernemq-dojot at the dojot version (required).
	Image string
	// Replicas; default 1. The 100k profile runs 3.
	Replicas int32
	// Pool is the node pool; with several replicas they run one per host.
	Pool string
	// InsecureMQTT opens plain MQTT on 1883 (no password, username
	// tenant:device); otherwise only mutual-TLS MQTT on 8883.
	InsecureMQTT bool
	// NodePortMQTT and NodePortMQTTS expose the broker on fixed NodePorts,
	// each in the default NodePort range 30000-32767 and distinct; 0 lets
	// Kubernetes pick one. NodePortMQTT is used only with InsecureMQTT.
	NodePortMQTT, NodePortMQTTS int32
	// ExternalHostname is the name devices reach the broker by; default
	// "localhost". The image's start script puts it in the broker's
	// certificate request as a DNS subjectAltName beside INTERNAL_DNS
	// (dojot/dojot v0.5.0 connector/mqtt/vernemq/broker/bin/vmq_dojot/
	// scripts_tls/_initVariables.sh: certDns=$EXTERNAL_SERVER_HOSTNAME,
	// default localhost; createCSR.sh: subjectAltName DNS.1 INTERNAL_DNS,
	// DNS.2 certDns, IP.1 certIp; CN is the pod's HOSTNAME), and
	// x509-identity-mgmt signs what the request names: the brokers post it
	// to /internal/api/v1/throw-away (signCert.sh), whose service takes the
	// subject from the request unchecked (dojot/dojot v0.5.0
	// x509-identity-mgmt/js/src/services/certificates-service.js,
	// throwAwayCertificate) and whose EJBCA certificate profile
	// X509Identity allows extension override (ejbca/resources/profiles/
	// certprofile_X509Identity-1711483265.xml: allowextensionoverride true),
	// so the CA needs no setting of its own for the name.
	ExternalHostname string
	// ExternalIP is the address devices reach the broker by, an IP
	// subjectAltName of its certificate (EXTERNAL_SERVER_IP, default
	// empty: none); set when devices connect by address.
	ExternalIP string
	// EJBCAAddress is x509-identity-mgmt's host:port (required).
	EJBCAAddress string
	// Resources default to 2 CPU / 2 GiB limits.
	Resources stack.Resources
}

// Handle is what bridges wire from.
type Handle struct {
	Component *stack.Component
	// Host is the broker Service's DNS name.
	Host string
}

// MQTTS is the brokers' MQTT-over-TLS port, for a consumer's Uses
// (network policy) next to Host.
func (h *Handle) MQTTS() stack.Endpoint { return h.Component.Pods("").Port("mqtts") }

// New adds the broker to s.
func New(s *stack.Stack, cfg Config) (*Handle, error) {
	if cfg.Replicas == 0 {
		cfg.Replicas = 1
	}
	if cfg.ExternalHostname == "" {
		cfg.ExternalHostname = "localhost"
	}
	if cfg.Resources.IsZero() {
		cfg.Resources = stack.MustLimits("2", "2Gi")
	}
	if s == nil {
		return nil, fmt.Errorf("vernemq: stack is nil; pass the stack to add the broker to")
	}
	if cfg.EJBCAAddress == "" {
		return nil, fmt.Errorf("vernemq: ejbcaAddress is required")
	}
	if errs := validation.IsDNS1123Subdomain(cfg.ExternalHostname); len(errs) > 0 && net.ParseIP(cfg.ExternalHostname) == nil {
		return nil, fmt.Errorf("vernemq: externalHostname %q is not a DNS name (%s) nor an IP address", cfg.ExternalHostname, strings.Join(errs, "; "))
	}
	if cfg.ExternalIP != "" && net.ParseIP(cfg.ExternalIP) == nil {
		return nil, fmt.Errorf("vernemq: externalIP %q is not an IP address", cfg.ExternalIP)
	}
	if err := sts.CheckImages("vernemq", [2]string{"image", cfg.Image}); err != nil {
		return nil, err
	}
	for _, p := range []struct {
		field string
		port  int32
	}{{"nodePortMQTT", cfg.NodePortMQTT}, {"nodePortMQTTS", cfg.NodePortMQTTS}} {
		if p.port != 0 && (p.port < 30000 || p.port > 32767) {
			return nil, fmt.Errorf("vernemq: %s %d; allowed 30000 to 32767 (the default NodePort range) or 0 for a port Kubernetes picks", p.field, p.port)
		}
	}
	if cfg.NodePortMQTT != 0 && cfg.NodePortMQTT == cfg.NodePortMQTTS {
		return nil, fmt.Errorf("vernemq: nodePortMQTT %d is also nodePortMQTTS; every NodePort must be unique", cfg.NodePortMQTT)
	}
	if cfg.Replicas < 1 || cfg.Replicas > 50 {
		return nil, fmt.Errorf("vernemq: replicas %d; allowed 1 to 50", cfg.Replicas)
	}
	if err := cfg.Resources.Validate("vernemq.resources"); err != nil {
		return nil, err
	}
	if err := sts.HostsFit(s.Topology(), "vernemq", cfg.Pool, cfg.Replicas); err != nil {
		return nil, err
	}
	if err := s.Topology().Fits("vernemq", cfg.Pool, int(cfg.Replicas), cfg.Resources); err != nil {
		return nil, err
	}
	c, err := s.AddComponent("vernemq", stack.Meta{App: "vernemq", Role: "broker", Version: sts.Tag(cfg.Image)})
	if err != nil {
		return nil, err
	}
	sel := c.SelectorLabels()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "vernemq"}, AutomountServiceAccountToken: ptr.To(false)}
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "vernemq"},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list"}},
			{APIGroups: []string{"apps"}, Resources: []string{"statefulsets"}, ResourceNames: []string{"vernemq"}, Verbs: []string{"get"}},
		},
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "vernemq"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: sa.Name}},
	}
	start := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "vernemq-start"}, Data: map[string]string{"start.sh": startScript}}
	plain := "127.0.0.1:1883" // the image always opens a TCP listener; keep it off the network
	if cfg.InsecureMQTT {
		plain = fmt.Sprintf("0.0.0.0:%d", MQTTPort)
	}
	env := append(sts.PodEnv(),
		corev1.EnvVar{Name: "MY_POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
		corev1.EnvVar{Name: "EJBCA_ADDRESS", Value: cfg.EJBCAAddress},
		corev1.EnvVar{Name: "USE_VMQ_OPERATOR", Value: "n"},
		corev1.EnvVar{Name: "CRL_UPDATE_TIME", Value: "*/10 * * * *"},
		corev1.EnvVar{Name: "CHECK_EXPIRATION_TIME", Value: "*/10 * * * *"},
		corev1.EnvVar{Name: "CHECK_BROKER_CERT_REVOKED_TIME", Value: "*/10 * * * *"},
		corev1.EnvVar{Name: "CHECKEND_EXPIRATION_SEC", Value: "43200"},
		corev1.EnvVar{Name: "EXTERNAL_SERVER_HOSTNAME", Value: cfg.ExternalHostname},
		corev1.EnvVar{Name: "INTERNAL_DNS", Value: Name},
		corev1.EnvVar{Name: "PLUGIN_DISC_LIFETIME_SESSION", Value: "1500000"},
		corev1.EnvVar{Name: "DOCKER_VERNEMQ_DISCOVERY_KUBERNETES", Value: "1"},
		corev1.EnvVar{Name: "DOCKER_VERNEMQ_KUBERNETES_LABEL_SELECTOR", Value: fmt.Sprintf("%s=%s,%s=%s", stack.LabelName, sel[stack.LabelName], stack.LabelInstance, sel[stack.LabelInstance])},
		corev1.EnvVar{Name: "DOCKER_VERNEMQ_LISTENER__TCP__DEFAULT", Value: plain},
	)
	if cfg.ExternalIP != "" {
		env = append(env, corev1.EnvVar{Name: "EXTERNAL_SERVER_IP", Value: cfg.ExternalIP})
	}
	for _, kv := range brokerSettings {
		env = append(env, corev1.EnvVar{Name: kv[0], Value: kv[1]})
	}
	set, err := sts.StatefulSet(s.Topology(), sts.Spec{
		Name: "vernemq", Service: "vernemq-headless", Replicas: cfg.Replicas, Parallel: true, Selector: sel,
		Placement:   stack.Placement{Pool: cfg.Pool, SpreadZones: true, OnePerHost: true},
		Security:    stack.PodSecurity{UID: 10000, GID: 10000, FSGroup: 10000},
		GracePeriod: 60,
		// VerneMQ serves its metrics in Prometheus' text format at
		// /metrics on the HTTP listener (vernemq 1.10.0, the base of
		// dojot's image: connector/mqtt/vernemq/broker/Dockerfile at
		// dojot v0.5.0, FROM vernemq/vernemq:1.10.0-alpine;
		// apps/vmq_server/src/vmq_metrics_http.erl routes "/metrics",
		// and vmq_server.schema enables vmq_metrics_http in
		// http_modules by default), which brokerSettings opens on 8888;
		// ansible-dojot v0.5.0 scraped the same port
		// (roles/vernemq/templates/z_vernemq-serviceMonitor.yaml.j2: port
		// http, the Service's 8888, default path /metrics).
		PodAnnotations: sts.ScrapeAnnotations(HTTPPort, "/metrics"),
		Containers: []corev1.Container{{
			Name:    "vernemq",
			Image:   cfg.Image,
			Command: []string{"/bin/sh", "/start/start.sh"},
			Env:     env,
			Ports: []corev1.ContainerPort{
				{Name: "mqtt", ContainerPort: MQTTPort}, {Name: "mqtts", ContainerPort: MQTTSPort},
				{Name: "ws", ContainerPort: WebSocketPort}, {Name: "http", ContainerPort: HTTPPort},
				{Name: "cluster", ContainerPort: ClusteringPort}, {Name: "epmd", ContainerPort: 4369},
			},
			Resources:       cfg.Resources.Requirements(),
			StartupProbe:    stack.HTTPProbe("/health", "http", stack.ProbeTiming{InitialDelaySeconds: 30, PeriodSeconds: 10, TimeoutSeconds: 5, FailureThreshold: 60}),
			ReadinessProbe:  stack.HTTPProbe("/health", "http", stack.ProbeTiming{PeriodSeconds: 10, TimeoutSeconds: 5}),
			LivenessProbe:   stack.TCPProbe("mqtts", stack.ProbeTiming{PeriodSeconds: 20, TimeoutSeconds: 5, FailureThreshold: 6}),
			SecurityContext: stack.RestrictedContainerSecurityContext(false), // the image writes its configuration and certificates in place
			VolumeMounts:    []corev1.VolumeMount{{Name: "start", MountPath: "/start"}},
		}},
		Volumes: []corev1.Volume{sts.ScriptVolume("start", start.Name)},
		Config:  []*corev1.ConfigMap{start},
	})
	if err != nil {
		return nil, fmt.Errorf("vernemq: %w", err)
	}
	set.Spec.Template.Spec.ServiceAccountName = sa.Name
	set.Spec.Template.Spec.AutomountServiceAccountToken = ptr.To(true) // Kubernetes discovery
	ports := []corev1.ServicePort{{Name: "mqtts", Port: MQTTSPort, TargetPort: intstr.FromString("mqtts")}}
	if cfg.InsecureMQTT {
		ports = append([]corev1.ServicePort{{Name: "mqtt", Port: MQTTPort, TargetPort: intstr.FromString("mqtt")}}, ports...)
	}
	internal := sts.Client(Name, sel, append(append([]corev1.ServicePort(nil), ports...),
		corev1.ServicePort{Name: "ws", Port: WebSocketPort, TargetPort: intstr.FromString("ws")},
		corev1.ServicePort{Name: "http", Port: HTTPPort, TargetPort: intstr.FromString("http")}))
	internal.Spec.InternalTrafficPolicy = ptr.To(corev1.ServiceInternalTrafficPolicyLocal)
	external := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: Name + "-external-service"},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Selector: sel, ExternalTrafficPolicy: corev1.ServiceExternalTrafficPolicyLocal},
	}
	for _, p := range ports {
		if p.Name == "mqtt" {
			p.NodePort = cfg.NodePortMQTT
		} else {
			p.NodePort = cfg.NodePortMQTTS
		}
		external.Spec.Ports = append(external.Spec.Ports, p)
	}
	headless := sts.Headless("vernemq-headless", sel, []corev1.ServicePort{
		{Name: "cluster", Port: ClusteringPort, TargetPort: intstr.FromString("cluster")},
		{Name: "epmd", Port: 4369, TargetPort: intstr.FromString("epmd")},
	})
	// Brokers cluster over the vmq clustering listener and Erlang
	// distribution: epmd on 4369 and the distribution ports, which the
	// image's start script (docker-vernemq bin/vernemq.sh, which
	// vmq_dojot.sh is assumed to follow: not verified for dojot's image)
	// sets to 9100-9109 unless DOCKER_VERNEMQ_ERLANG__DISTRIBUTION__PORT_RANGE__*
	// say otherwise.
	c.Peers("", "cluster", "epmd")
	c.Pods("").Uses(c.Pods("").PortRange(9100, 9109))
	c.Add(sa, role, binding, start, headless, internal, external, stack.PDB("vernemq", sel, 1), set)
	return &Handle{Component: c, Host: s.ServiceHost(Name)}, nil
}

// brokerSettings are dojot's VerneMQ settings as the image's DOCKER_VERNEMQ_
// variables ("." is "__").
var brokerSettings = [][2]string{
	{"DOCKER_VERNEMQ_METADATA_PLUGIN", "vmq_swc"},
	{"DOCKER_VERNEMQ_LISTENER__HTTP__DEFAULT", fmt.Sprintf("0.0.0.0:%d", HTTPPort)},
	{"DOCKER_VERNEMQ_LISTENER__WS__DEFAULT", fmt.Sprintf("0.0.0.0:%d", WebSocketPort)},
	{"DOCKER_VERNEMQ_LISTENER__SSL__DEFAULT", fmt.Sprintf("0.0.0.0:%d", MQTTSPort)},
	{"DOCKER_VERNEMQ_LISTENER__SSL__DEFAULT__CAFILE", "/vernemq/cert/ca.crt"},
	{"DOCKER_VERNEMQ_LISTENER__SSL__DEFAULT__CRLFILE", "/vernemq/cert/ca.crl"},
	{"DOCKER_VERNEMQ_LISTENER__SSL__DEFAULT__USE_IDENTITY_AS_USERNAME", "on"},
	{"DOCKER_VERNEMQ_LISTENER__SSL__DEFAULT__REQUIRE_CERTIFICATE", "on"},
	{"DOCKER_VERNEMQ_PLUGINS__VMQ_PASSWD", "off"},
	{"DOCKER_VERNEMQ_PLUGINS__VMQ_ACL", "off"},
	{"DOCKER_VERNEMQ_PLUGINS__DOJOT_ACL_PLUGIN", "on"},
	{"DOCKER_VERNEMQ_PLUGINS__DOJOT_ACL_PLUGIN__PATH", "/vernemq/dojot_acl_plugin/default"},
	{"DOCKER_VERNEMQ_PLUGINS__DOJOT_ACL_PLUGIN__PRIORITY", "2"},
	{"DOCKER_VERNEMQ_PLUGINS__DOJOT_DISCONNECT_PLUGIN", "on"},
	{"DOCKER_VERNEMQ_PLUGINS__DOJOT_DISCONNECT_PLUGIN__PATH", "/vernemq/dojot_disconnect_plugin/default"},
	{"DOCKER_VERNEMQ_PLUGINS__DOJOT_DISCONNECT_PLUGIN__PRIORITY", "2"},
	{"DOCKER_VERNEMQ_LOG__CONSOLE", "console"},
	{"DOCKER_VERNEMQ_LOG__CONSOLE__LEVEL", "info"},
	{"DOCKER_VERNEMQ_LISTENER__MAX_CONNECTIONS", "infinity"},
	{"DOCKER_VERNEMQ_ERLANG__MAX_PORTS", "134217727"},
	{"DOCKER_VERNEMQ_SYSTREE_ENABLED", "off"},
	{"DOCKER_VERNEMQ_LEVELDB__MAXIMUM_MEMORY__PERCENT", "20"},
	{"DOCKER_VERNEMQ_MAX_ONLINE_MESSAGES", "50000"},
	{"DOCKER_VERNEMQ_MAX_OFFLINE_MESSAGES", "50000"},
	{"DOCKER_VERNEMQ_MAX_INFLIGHT_MESSAGES", "100"},
	{"DOCKER_VERNEMQ_SHARED_SUBSCRIPTION_POLICY", "prefer_local"},
	{"DOCKER_VERNEMQ_ERLANG__DISTRIBUTION_BUFFER_SIZE", "512000"},
	{"DOCKER_VERNEMQ_ALLOW_REGISTER_DURING_NETSPLIT", "on"},
	{"DOCKER_VERNEMQ_ALLOW_PUBLISH_DURING_NETSPLIT", "on"},
	{"DOCKER_VERNEMQ_ALLOW_SUBSCRIBE_DURING_NETSPLIT", "on"},
	{"DOCKER_VERNEMQ_ALLOW_UNSUBSCRIBE_DURING_NETSPLIT", "on"},
}

// startScript names the pod's own certificate files (vmq_dojot.sh writes
// them as /vernemq/cert/$HOSTNAME.{crt,key}) and runs the image's start
// script, which fetches the certificates from x509-identity-mgmt and
// starts VerneMQ.
const startScript = `#!/bin/sh
# Starts one dojot VerneMQ broker (generated by iotstack).
set -e
export DOCKER_VERNEMQ_LISTENER__SSL__DEFAULT__CERTFILE="/vernemq/cert/${HOSTNAME}.crt"
export DOCKER_VERNEMQ_LISTENER__SSL__DEFAULT__KEYFILE="/vernemq/cert/${HOSTNAME}.key"
export DOCKER_VERNEMQ_LISTENER__VMQ__CLUSTERING="${MY_POD_IP:-${POD_IP}}:44053"
exec /vernemq/vmq_dojot.sh
`
