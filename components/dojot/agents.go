package dojot

import (
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/iotstack/iotstack/components/internal/sts"
	"github.com/iotstack/iotstack/stack"
)

// checkAgents refuses the IoT agent combinations ansible-dojot v0.5.0
// refuses: its deploy.yaml aborts a run tagged both vernemq and mosca
// ("The tags vernemq and mosca cannot be used together"), since both
// serve MQTT on the same NodePorts (dojot_nodeports.mqtt, .mqtts). The
// bridges and kafka-loopback carry VerneMQ's traffic, so they need it.
func checkAgents(cfg Config, vernemq bool) error {
	if vernemq && cfg.Has(IoTAgentMosca) {
		return fmt.Errorf("dojot: services: %s together with VerneMQ; ansible-dojot v0.5.0's deploy.yaml aborts the vernemq and mosca tags together (both serve MQTT on nodePorts.mqtt and nodePorts.mqtts): choose one MQTT agent", IoTAgentMosca)
	}
	if !vernemq {
		var need []string
		for _, s := range vernemqServices {
			if cfg.Has(s) {
				need = append(need, s)
			}
		}
		if len(need) > 0 {
			return fmt.Errorf("dojot: services: %s need VerneMQ (deps.VerneMQ), which is not rendered: they carry VerneMQ's MQTT traffic; leave them out with Mosca", strings.Join(need, ", "))
		}
		if !cfg.Has(IoTAgentMosca) {
			return fmt.Errorf("dojot: no MQTT agent: neither VerneMQ (deps.VerneMQ) nor %s; the MQTT NodePorts would forward to nothing", IoTAgentMosca)
		}
	}
	return nil
}

// guiV2 is dojot's second GUI (ansible-dojot v0.5.0 roles/gui-v2:
// dojot/gui-v2:<version>, Service gui-v2 port 80 to the container's 80,
// deployed when dojot_guiv2_enabled); Kong routes /v2 to it (routes).
// That the image's server listens on 80 is taken from that Service; the
// image's own Dockerfile at v0.5.0 was not checked.
func (w *wiring) guiV2(c *stack.Component) ([]stack.Object, error) {
	return w.deployment(c, "gui-v2", 80, w.container("gui-v2", w.image("gui-v2"), 80, "500m", "64Mi", nil))
}

// lwm2m is the LwM2M IoT agent (ansible-dojot v0.5.0 roles/iotagent-lwm2m:
// Deployment iotagent-lwm2m running dojot/iotagent-leshan:<version> with
// KAFKA_HOSTS, KAFKA_ADDRESS, DOJOT_MANAGEMENT_USER iotagent-lwm2m,
// KAFKA_GROUP_ID iotagent-lwm2m-group and FILE_SERVER_ADDRESS the
// domain) and its NodePort Service on the five LwM2M NodePorts
// (lwm2mPorts). Defects of the role, fixed here:
//   - it set FILE_SERVER_HTTP_PORT 30015, but dojot/iotagent-leshan
//     v0.5.0 both listens on that port (LwM2MIoTAgent.java:
//     new SimpleFileServerHttp(httpPort, ...)) and tells devices to fetch
//     firmware from it (ImageDownloader), while its Service forwarded
//     5896: nothing answered there. Here the agent listens on 5896, the
//     port the Service and the load balancer forward;
//   - FILE_SERVER_HTTPS_PORT (30016, Service port 5897) is only named to
//     devices: v0.5.0 starts no HTTPS file server (LwM2MIoTAgent.java), so
//     5897 is not served, and the variable keeps the image's default;
//   - the agent ran as root and wrote downloaded images into its image's
//     tree (FILE_SERVER_DATA_PATH ./data): here it runs as an unprivileged
//     user and keeps them in an emptyDir.
//
// The agent is the Leshan server itself; v0.5.0 has no separate LwM2M
// bootstrap server (the agent's "bootstrap" is dojot's tenant bootstrap
// over Kafka, LwM2MAgent.bootstrap), so no bootstrap port is rendered.
// Its dojot clients (dojot-module-java, iotagent-java) call auth,
// data-broker and device-manager, and image-manager for firmware
// (ImageDownloader, dojot-module-java's getImageManagerAddress); those
// libraries' default addresses are the Service names and are not
// verified beyond that.
func (w *wiring) lwm2m(c *stack.Component) ([]stack.Object, error) {
	const dataDir = "/var/lib/iotagent-lwm2m"
	vars := env("FILE_SERVER_ADDRESS", w.cfg.Domain, "FILE_SERVER_HTTP_PORT", fmt.Sprint(LwM2MHTTPPort),
		"FILE_SERVER_DATA_PATH", dataDir, "DOJOT_MANAGEMENT_USER", "iotagent-lwm2m", "KAFKA_GROUP_ID", "iotagent-lwm2m-group",
		"KAFKA_HOSTS", w.kafkaHosts, "KAFKA_ADDRESS", w.kafkaHost+":"+w.kafkaPort)
	ct := w.containerPort(IoTAgentLwM2M, fmt.Sprintf("dojot/iotagent-leshan:%s", w.cfg.Version), "http", 0, "1", "512Mi", vars)
	var svcPorts []corev1.ServicePort
	for _, p := range w.cfg.NodePorts.lwm2mPorts() {
		proto := corev1.ProtocolTCP
		if p.udp {
			proto = corev1.ProtocolUDP
		}
		name := strings.ReplaceAll(p.name, "_", "-")
		ct.Ports = append(ct.Ports, corev1.ContainerPort{Name: name, ContainerPort: p.listen, Protocol: proto})
		svcPorts = append(svcPorts, corev1.ServicePort{Name: name, Protocol: proto, Port: p.listen, TargetPort: intstr.FromString(name), NodePort: p.nodePort})
	}
	// Only the HTTP file server is TCP: it answers once the agent has
	// started its servers (LwM2MIoTAgent.java starts it after the
	// bootstrap, with the CoAP ones).
	ct.ReadinessProbe = stack.TCPProbe("coap-http", stack.ProbeTiming{PeriodSeconds: 10, TimeoutSeconds: 3})
	ct.LivenessProbe = stack.TCPProbe("coap-http", stack.ProbeTiming{InitialDelaySeconds: 60, PeriodSeconds: 20, TimeoutSeconds: 3, FailureThreshold: 6})
	ct.VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: dataDir}}
	objs, err := w.deployment(c, IoTAgentLwM2M, 0, ct)
	if err != nil {
		return nil, err
	}
	deploymentOf(objs).Spec.Template.Spec.Volumes = []corev1.Volume{sts.EmptyDir("data")}
	return append(objs, w.nodePortService(c, IoTAgentLwM2M, svcPorts)), nil
}

// mosca is the Mosca MQTT IoT agent (ansible-dojot v0.5.0
// roles/iotagent-mosca: dojot/iotagent-mosca:<version> with a Redis
// sidecar, BACKEND_HOST localhost, DOJOT_MANAGEMENT_USER iotagent-mqtt,
// KAFKA_GROUP_ID iotagent-mqtt-group, ALLOW_UNSECURED_MODE, KAFKA_HOSTS,
// MOSCA_TLS_DNS_LIST the domain) and its NodePort Service.
//
// Its ports: MQTTS 8883 always, MQTT 1883 only with ALLOW_UNSECURED_MODE
// (dojot/iotagent-mosca v0.5.0 src/mosca.js). They take the MQTT and MQTTS
// NodePorts (30004, 30005), as the role's Service does from v0.5.0-alpha.4
// on (roles/iotagent-mosca/templates/iotagent_mosca_service.yaml.j2:
// dojot_nodeports.mqtt and .mqtts): VerneMQ, which has them otherwise, is
// not rendered with Mosca (checkAgents), and Grafana keeps 30003. Before
// v0.5.0-alpha.4 the role fixed Mosca's 8883 on 30003 and 1883 on 30002
// (commit c46e93b, in v0.5.0-alpha.1), the collision dojot/dojot#1837
// reports ("provided port is already allocated").
//
// At start the image's initialConf.py creates a key and has
// x509-identity-mgmt sign its certificate, writing both into
// ./mosca/certs/ (conf.py certsDir, under WORKDIR /opt/iot-agent): an
// emptyDir here, since the agent does not run as root. conf.py reads the
// CA's address from "MOSCA_TLS_X509_IDENTITY_MGMT " (with a trailing
// space, so never set) and falls back to http://x509-identity-mgmt:3000;
// the Node.js side (src/config.js) reads MOSCA_TLS_X509_IDENTITY_MGMT,
// set here. Both reach the same Service, x509-identity-mgmt. The role's
// MQTTREST_EJBCA_URL (ejbca-wrapper:5583) is read by nothing in v0.5.0
// and is left out. Its dojot clients (@dojot/iotagent-nodejs) call auth,
// data-broker and device-manager at their default Service names
// (src/config.js).
func (w *wiring) mosca(c *stack.Component) ([]stack.Object, error) {
	const certs = "/opt/iot-agent/mosca/certs"
	insecure := w.cfg.InsecureMQTT
	vars := env("MOSCA_TLS_DNS_LIST", w.cfg.Domain, "LOG_LEVEL", "info", "BACKEND_HOST", "localhost",
		"DOJOT_MANAGEMENT_USER", "iotagent-mqtt", "KAFKA_GROUP_ID", "iotagent-mqtt-group",
		"ALLOW_UNSECURED_MODE", fmt.Sprint(insecure), "KAFKA_HOSTS", w.kafkaHosts,
		"MOSCA_TLS_X509_IDENTITY_MGMT", "http://"+w.d.X509.Address)
	ct := w.containerPort(IoTAgentMosca, w.image(IoTAgentMosca), "mqtts", 8883, "1", "256Mi", vars)
	ct.LivenessProbe.InitialDelaySeconds = 60 // the 4096-bit key and the CA's signature come first
	ct.VolumeMounts = []corev1.VolumeMount{{Name: "certs", MountPath: certs}}
	svcPorts := []corev1.ServicePort{{Name: "mqtts", Port: 8883, TargetPort: intstr.FromString("mqtts"), NodePort: w.cfg.NodePorts.MQTTS}}
	if insecure {
		ct.Ports = append(ct.Ports, corev1.ContainerPort{Name: "mqtt", ContainerPort: 1883})
		svcPorts = append([]corev1.ServicePort{{Name: "mqtt", Port: 1883, TargetPort: intstr.FromString("mqtt"), NodePort: w.cfg.NodePorts.MQTT}}, svcPorts...)
	}
	objs, err := w.deployment(c, IoTAgentMosca, 0, ct, w.redisSidecar())
	if err != nil {
		return nil, err
	}
	deploymentOf(objs).Spec.Template.Spec.Volumes = []corev1.Volume{sts.EmptyDir("certs")}
	return append(objs, w.nodePortService(c, IoTAgentMosca, svcPorts)), nil
}

// nodePortService is an agent's NodePort Service. Its external traffic
// policy is Cluster, not the role's Local: the load balancer lists every
// worker of the group, and with Local a worker without the agent's pod
// would drop what it receives; the load balancer hides the devices'
// addresses anyway.
func (w *wiring) nodePortService(c *stack.Component, name string, ports []corev1.ServicePort) *corev1.Service {
	svc := sts.Client(name, c.SelectorLabels(), ports)
	svc.Spec.Type = corev1.ServiceTypeNodePort
	return svc
}

// deploymentOf is the Deployment deployment returned first.
func deploymentOf(objs []stack.Object) *appsv1.Deployment { return objs[0].(*appsv1.Deployment) }
