package thingsboard

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/iotstack/iotstack/stack"
)

// Service names a ThingsBoard microservice.
type Service string

// The microservices. The first seven run in every cluster; CoAP, LwM2M and
// SNMP transports are optional.
const (
	Core           Service = "tb-core"
	RuleEngine     Service = "tb-rule-engine"
	JSExecutor     Service = "tb-js-executor"
	WebUI          Service = "tb-web-ui"
	MQTTTransport  Service = "tb-mqtt-transport"
	HTTPTransport  Service = "tb-http-transport"
	VCExecutor     Service = "tb-vc-executor"
	CoAPTransport  Service = "tb-coap-transport"
	LwM2MTransport Service = "tb-lwm2m-transport"
	SNMPTransport  Service = "tb-snmp-transport"
)

// Services lists every microservice in the order they are rendered.
var Services = []Service{Core, RuleEngine, JSExecutor, WebUI, MQTTTransport, HTTPTransport, VCExecutor, CoAPTransport, LwM2MTransport, SNMPTransport}

// Optional reports whether the service is off unless asked for.
func (s Service) Optional() bool {
	return s == CoAPTransport || s == LwM2MTransport || s == SNMPTransport
}

// spec is what differs between the microservices.
type spec struct {
	image       string // thingsboard/<image>
	serviceType string // TB_SERVICE_TYPE
	// limits from the ThingsBoard article's pod table (CPU, memory).
	cpu, memory string
	jvm         bool
	ports       []corev1.ContainerPort
	// probe is the readiness/startup probe; live the liveness probe.
	probe, live *corev1.Probe
	// clientPorts are exposed by the Service of the same name (none: no Service).
	clientPorts []string
}

func tcp(name string, port int32) corev1.ContainerPort {
	return corev1.ContainerPort{Name: name, ContainerPort: port}
}

func udp(name string, port int32) corev1.ContainerPort {
	return corev1.ContainerPort{Name: name, ContainerPort: port, Protocol: corev1.ProtocolUDP}
}

// specs are the microservices as the ThingsBoard article runs them. Readiness
// asks the service (GET /login, /livenessProbe, /index.html); liveness only
// checks that the process accepts connections, so a slow dependency takes a pod
// out of the Service without restarting it (pod table limits; web-ui at the
// table's 0.5 / 0.5, not the YAML's 100Mi, which the Angular server outgrows
// under load).
var specs = map[Service]spec{
	Core: {image: "tb-node", serviceType: "tb-core", cpu: "3", memory: "3Gi", jvm: true,
		ports:       []corev1.ContainerPort{tcp("http", 8080), tcp("edge", 7070)},
		probe:       stack.HTTPProbe("/login", "http", stack.ProbeTiming{PeriodSeconds: 10, TimeoutSeconds: 10, FailureThreshold: 3}),
		live:        stack.TCPProbe("http", stack.ProbeTiming{PeriodSeconds: 20, TimeoutSeconds: 10, FailureThreshold: 6}),
		clientPorts: []string{"http"}},
	RuleEngine: {image: "tb-node", serviceType: "tb-rule-engine", cpu: "3", memory: "3584Mi", jvm: true,
		ports: []corev1.ContainerPort{tcp("http", 8080)},
		probe: stack.HTTPProbe("/login", "http", stack.ProbeTiming{PeriodSeconds: 10, TimeoutSeconds: 10, FailureThreshold: 3}),
		live:  stack.TCPProbe("http", stack.ProbeTiming{PeriodSeconds: 20, TimeoutSeconds: 10, FailureThreshold: 6})},
	JSExecutor: {image: "tb-js-executor", cpu: "1", memory: "512Mi",
		ports: []corev1.ContainerPort{tcp("http", 8888)},
		probe: stack.HTTPProbe("/livenessProbe", "http", stack.ProbeTiming{PeriodSeconds: 10, TimeoutSeconds: 5}),
		live:  stack.TCPProbe("http", stack.ProbeTiming{PeriodSeconds: 20, TimeoutSeconds: 5, FailureThreshold: 6})},
	WebUI: {image: "tb-web-ui", cpu: "500m", memory: "512Mi",
		ports:       []corev1.ContainerPort{tcp("http", 8080)},
		probe:       stack.HTTPProbe("/index.html", "http", stack.ProbeTiming{PeriodSeconds: 10, TimeoutSeconds: 5}),
		live:        stack.TCPProbe("http", stack.ProbeTiming{PeriodSeconds: 20, TimeoutSeconds: 5, FailureThreshold: 6}),
		clientPorts: []string{"http"}},
	MQTTTransport: {image: "tb-mqtt-transport", serviceType: "tb-transport", cpu: "1", memory: "1536Mi", jvm: true,
		ports:       []corev1.ContainerPort{tcp("mqtt", 1883), tcp("metrics", 8081)}, // mqtts 8883 with MQTTS only
		probe:       stack.TCPProbe("mqtt", stack.ProbeTiming{PeriodSeconds: 10, TimeoutSeconds: 5}),
		live:        stack.HTTPProbe("/actuator/prometheus", "metrics", stack.ProbeTiming{PeriodSeconds: 20, TimeoutSeconds: 10, FailureThreshold: 6}),
		clientPorts: []string{"mqtt"}},
	HTTPTransport: {image: "tb-http-transport", serviceType: "tb-transport", cpu: "1", memory: "1Gi", jvm: true,
		ports:       []corev1.ContainerPort{tcp("http", 8080)},
		probe:       stack.TCPProbe("http", stack.ProbeTiming{PeriodSeconds: 10, TimeoutSeconds: 5}),
		live:        stack.HTTPProbe("/actuator/prometheus", "http", stack.ProbeTiming{PeriodSeconds: 20, TimeoutSeconds: 10, FailureThreshold: 6}),
		clientPorts: []string{"http"}},
	VCExecutor: {image: "tb-vc-executor", serviceType: "tb-vc-executor", cpu: "1", memory: "1Gi", jvm: true,
		ports: []corev1.ContainerPort{tcp("http", 8086)},
		probe: stack.TCPProbe("http", stack.ProbeTiming{PeriodSeconds: 10, TimeoutSeconds: 5}),
		live:  stack.HTTPProbe("/actuator/prometheus", "http", stack.ProbeTiming{PeriodSeconds: 20, TimeoutSeconds: 10, FailureThreshold: 6})},
	CoAPTransport: {image: "tb-coap-transport", serviceType: "tb-transport", cpu: "1", memory: "1Gi", jvm: true,
		ports:       []corev1.ContainerPort{udp("coap", 5683), udp("coaps", 5684), tcp("metrics", 8081)},
		probe:       stack.HTTPProbe("/actuator/prometheus", "metrics", stack.ProbeTiming{PeriodSeconds: 10, TimeoutSeconds: 10}),
		live:        stack.TCPProbe("metrics", stack.ProbeTiming{PeriodSeconds: 20, TimeoutSeconds: 5, FailureThreshold: 6}),
		clientPorts: []string{"coap", "coaps"}},
	LwM2MTransport: {image: "tb-lwm2m-transport", serviceType: "tb-transport", cpu: "1", memory: "1Gi", jvm: true,
		ports:       []corev1.ContainerPort{udp("lwm2m", 5685), udp("lwm2ms", 5686), udp("lwm2m-bs", 5687), udp("lwm2ms-bs", 5688), tcp("metrics", 8081)},
		probe:       stack.HTTPProbe("/actuator/prometheus", "metrics", stack.ProbeTiming{PeriodSeconds: 10, TimeoutSeconds: 10}),
		live:        stack.TCPProbe("metrics", stack.ProbeTiming{PeriodSeconds: 20, TimeoutSeconds: 5, FailureThreshold: 6}),
		clientPorts: []string{"lwm2m", "lwm2ms", "lwm2m-bs", "lwm2ms-bs"}},
	SNMPTransport: {image: "tb-snmp-transport", serviceType: "tb-transport", cpu: "1", memory: "1Gi", jvm: true,
		ports: []corev1.ContainerPort{udp("snmp", 1620), tcp("metrics", 8081)},
		probe: stack.HTTPProbe("/actuator/prometheus", "metrics", stack.ProbeTiming{PeriodSeconds: 10, TimeoutSeconds: 10}),
		live:  stack.TCPProbe("metrics", stack.ProbeTiming{PeriodSeconds: 20, TimeoutSeconds: 5, FailureThreshold: 6})},
}

// serviceClientPorts are the ports of the service's Service: its spec's,
// and MQTTS on tb-mqtt-transport when it is configured.
func serviceClientPorts(cfg Config, svc Service) []string {
	ports := specs[svc].clientPorts
	if svc == MQTTTransport && cfg.MQTTS.Enabled() {
		ports = append(append([]string(nil), ports...), "mqtts")
	}
	return ports
}

// DefaultResources returns the service's limits from the ThingsBoard article's
// pod table with requests of a tenth of the CPU and all of the memory.
func DefaultResources(s Service) stack.Resources {
	sp := specs[s]
	return stack.MustLimits(sp.cpu, sp.memory)
}
