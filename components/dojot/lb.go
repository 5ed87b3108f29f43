package dojot

import (
	"fmt"
	"net"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// NodePorts are the fixed NodePorts the external load balancer forwards
// to (the guide's dojot_nodeports). Only the ports a rendered Service
// serves are used: the API gateway's (Kong), the MQTT agent's (VerneMQ or
// Mosca), with the monitoring on Metrics (Grafana, see ServeMetrics), and
// with the LwM2M agent on its five ports (see ServeLwM2M): CoAP, CoAPS,
// the CoAP file servers (FileServer, FileServers) and the HTTP file
// server (HTTPAgent, the guide's dojot_nodeports.lwm2m.http). A port of
// a service that is not rendered must stay 0.
type NodePorts struct {
	APIGatewayHTTP, APIGatewayHTTPS int32
	Metrics                         int32
	MQTT, MQTTS                     int32
	CoAP, CoAPS                     int32
	FileServer, FileServers         int32
	HTTPAgent                       int32
	// metricsServed is set by ServeMetrics when a rendered Service (the
	// monitoring's Grafana) serves the Metrics NodePort.
	metricsServed bool
	// lwm2mServed is set by ServeLwM2M when the LwM2M agent's Service
	// serves the five LwM2M NodePorts.
	lwm2mServed bool
	// httpsServed is set by ServeAPIGatewayHTTPS when Kong serves its
	// TLS proxy port (the API gateway's mutual TLS).
	httpsServed bool
}

// DefaultAPIGatewayHTTPSNodePort is the guide's NodePort for Kong's TLS
// proxy port 8443 (dojot_nodeports.apigw.https), which ansible-dojot
// v0.5.0 exposes only with dojot_apigw_enable_mutual_tls
// (roles/apigw/templates/apigw_external_service.yaml.j2).
const DefaultAPIGatewayHTTPSNodePort = 30002

// ServeAPIGatewayHTTPS returns the ports with the API gateway's HTTPS
// NodePort served (Kong's 8443, with mutual TLS on):
// DefaultAPIGatewayHTTPSNodePort unless set. The load balancers then
// forward 443 to it.
func (n NodePorts) ServeAPIGatewayHTTPS() NodePorts {
	if n.APIGatewayHTTPS == 0 {
		n.APIGatewayHTTPS = DefaultAPIGatewayHTTPSNodePort
	}
	n.httpsServed = true
	return n
}

// APIGatewayHTTPSServed says whether Kong serves the HTTPS NodePort.
func (n NodePorts) APIGatewayHTTPSServed() bool { return n.httpsServed }

// The guide's LwM2M NodePorts (ansible-dojot v0.5.0
// inventories/example_local/group_vars/all/dojot.yaml, dojot_nodeports.lwm2m:
// coap 30006, coaps 30007, file_server 30008, file_servers 30009, http
// 30010), which roles/iotagent-lwm2m/templates/iotagent_lwm2m_service.yaml.j2
// puts on the agent's ports UDP 5683, UDP 5684, UDP 5693, UDP 5694 and
// TCP 5896, in that order.
const (
	DefaultCoAPNodePort        = 30006
	DefaultCoAPSNodePort       = 30007
	DefaultFileServerNodePort  = 30008
	DefaultFileServersNodePort = 30009
	DefaultHTTPAgentNodePort   = 30010
)

// ServeLwM2M returns the ports with the LwM2M NodePorts served (by the
// iotagent-lwm2m Service): each the guide's default unless set. The
// NGINX configuration then forwards the LwM2M ports (LwM2MPorts) to them
// on the Backends.LwM2M workers; HAProxy cannot (HAProxyConfig refuses).
func (n NodePorts) ServeLwM2M() NodePorts {
	for _, d := range []struct {
		p   *int32
		def int32
	}{{&n.CoAP, DefaultCoAPNodePort}, {&n.CoAPS, DefaultCoAPSNodePort}, {&n.FileServer, DefaultFileServerNodePort},
		{&n.FileServers, DefaultFileServersNodePort}, {&n.HTTPAgent, DefaultHTTPAgentNodePort}} {
		if *d.p == 0 {
			*d.p = d.def
		}
	}
	n.lwm2mServed = true
	return n
}

// LwM2MServed says whether the LwM2M agent's Service serves the LwM2M
// NodePorts.
func (n NodePorts) LwM2MServed() bool { return n.lwm2mServed }

// DefaultMetricsNodePort is the guide's metrics NodePort (Grafana).
const DefaultMetricsNodePort = 30003

// MetricsListenPort is the port the load balancers forward to the
// Metrics NodePort: Grafana's own port. The guide names the NodePort
// (30003) but not the port its load balancers listen on for it; 3000 is
// this project's choice.
const MetricsListenPort = 3000

// ServeMetrics returns the ports with the Metrics NodePort served (by
// Grafana, when the monitoring is on): DefaultMetricsNodePort unless
// Metrics is set. Then the load balancers forward MetricsListenPort to it
// on the Backends.Metrics workers.
func (n NodePorts) ServeMetrics() NodePorts {
	if n.Metrics == 0 {
		n.Metrics = DefaultMetricsNodePort
	}
	n.metricsServed = true
	return n
}

// MetricsServed says whether a rendered Service serves the Metrics NodePort.
func (n NodePorts) MetricsServed() bool { return n.metricsServed }

// DefaultNodePorts are the guide's values for the ports always served:
// the API gateway's HTTP and the MQTT agent's. The others are filled in
// when their service runs (ServeAPIGatewayHTTPS, ServeMetrics,
// ServeLwM2M).
func DefaultNodePorts() NodePorts {
	return NodePorts{APIGatewayHTTP: 30001, MQTT: 30004, MQTTS: 30005}
}

// port is one NodePort with its field name and whether a Service serves it.
type port struct {
	field  string
	port   int32
	served bool
}

func (n NodePorts) list() []port {
	return []port{
		{"apiGatewayHTTP", n.APIGatewayHTTP, true}, {"apiGatewayHTTPS", n.APIGatewayHTTPS, n.httpsServed}, {"metrics", n.Metrics, n.metricsServed},
		{"mqtt", n.MQTT, true}, {"mqtts", n.MQTTS, true}, {"coAP", n.CoAP, n.lwm2mServed}, {"coAPS", n.CoAPS, n.lwm2mServed},
		{"fileServer", n.FileServer, n.lwm2mServed}, {"fileServers", n.FileServers, n.lwm2mServed}, {"httpAgent", n.HTTPAgent, n.lwm2mServed},
	}
}

// Validate checks what the ports alone can say: the ports always served
// (apiGatewayHTTP, mqtt, mqtts) and every other port that is set are in
// the NodePort range, and no two share a port (dojot hit this with
// Grafana and mosca both on 30003, dojot/dojot#1837: "provided port is
// already allocated"). Whether a set port's service runs depends on the
// configuration: CheckServed.
func (n NodePorts) Validate() error { return n.check(false) }

// CheckServed is Validate on ports whose served services are known
// (ServeAPIGatewayHTTPS, ServeMetrics, ServeLwM2M): every served port must
// be set, and a port is refused when no rendered Service serves it.
func (n NodePorts) CheckServed() error { return n.check(true) }

func (n NodePorts) check(served bool) error {
	seen := map[int32]string{}
	for _, p := range n.list() {
		if !p.served && (served || p.port == 0) {
			if p.port != 0 {
				return fmt.Errorf("dojot: nodePorts.%s %d; no rendered Service serves it (apiGatewayHTTPS is Kong's TLS port, served only with the API gateway's mutual TLS; metrics is Grafana's, served only with monitoring.enabled; coAP, coAPS, fileServer, fileServers and httpAgent are the LwM2M agent's, served only when agents includes lwm2m), so it must be 0", p.field, p.port)
			}
			continue
		}
		if p.port < 30000 || p.port > 32767 {
			return fmt.Errorf("dojot: nodePorts.%s %d; allowed 30000 to 32767 (the default NodePort range)", p.field, p.port)
		}
		if other, dup := seen[p.port]; dup {
			return fmt.Errorf("dojot: nodePorts.%s %d is also nodePorts.%s; every NodePort must be unique", p.field, p.port, other)
		}
		seen[p.port] = p.field
	}
	return nil
}

// Backends are the worker addresses the load balancer forwards to, by the
// guide's inventory groups (apigw_nodes, mqtt_nodes, lwm2m_nodes,
// metrics_nodes). LwM2M is used only with the LwM2M agent on and Metrics
// (Grafana's NodePort) only with the monitoring on; each must be empty
// otherwise.
type Backends struct {
	APIGateway, MQTT, LwM2M, Metrics []string
}

// Validate checks that the API gateway and MQTT groups have addresses,
// each an IP address (v4 or v6) or a DNS name, listed once, and that
// metrics and LwM2M, when listed, are addresses too (whether they must be
// empty or set depends on the monitoring and the agents: ValidateServed).
func (b Backends) Validate() error { return b.validate(optional, optional) }

// ValidateServed is Validate where the metrics group is served (Grafana
// on the metrics NodePort, with the monitoring on) when metricsServed,
// and the LwM2M group when lwm2mServed; each must be empty otherwise.
func (b Backends) ValidateServed(metricsServed, lwm2mServed bool) error {
	of := func(on bool) serving {
		if on {
			return served
		}
		return unserved
	}
	return b.validate(of(metricsServed), of(lwm2mServed))
}

// serving says whether a backend group is forwarded.
type serving int

const (
	unserved serving = iota // must be empty
	served                  // needs addresses
	optional                // checked only when listed
)

// validate is Validate with the Metrics and LwM2M groups served, unserved
// or either.
func (b Backends) validate(metrics, lwm2m serving) error {
	for _, g := range []struct {
		name   string
		addrs  []string
		served serving
	}{{"apiGateway", b.APIGateway, served}, {"mqtt", b.MQTT, served}, {"lwm2m", b.LwM2M, lwm2m}, {"metrics", b.Metrics, metrics}} {
		if g.served == optional && len(g.addrs) == 0 {
			continue
		}
		if g.served == unserved {
			if len(g.addrs) > 0 {
				return fmt.Errorf("dojot: backends.%s: %v; no rendered Service serves it (metrics is Grafana's, served only with monitoring.enabled; lwm2m is the LwM2M agent's, served only when agents includes lwm2m), so it must be empty", g.name, g.addrs)
			}
			continue
		}
		if len(g.addrs) == 0 {
			return fmt.Errorf("dojot: backends.%s: empty; the load balancer needs at least one worker address", g.name)
		}
		seen := map[string]int{}
		for i, a := range g.addrs {
			if net.ParseIP(a) == nil && len(validation.IsDNS1123Subdomain(a)) > 0 {
				return fmt.Errorf("dojot: backends.%s[%d]: %q is neither an IP address nor a DNS name", g.name, i, a)
			}
			key := strings.ToLower(a)
			if ip := net.ParseIP(a); ip != nil {
				key = ip.String()
			}
			if j, dup := seen[key]; dup {
				return fmt.Errorf("dojot: backends.%s[%d]: %q is also backends.%s[%d]; list every worker once", g.name, i, a, g.name, j)
			}
			seen[key] = i
		}
	}
	return nil
}

// hostPort joins a backend address and a port, with an IPv6 address in
// brackets ([2001:db8::1]:30001), the form NGINX and HAProxy both read.
func hostPort(addr string, port int32) string {
	return net.JoinHostPort(addr, fmt.Sprint(port))
}

// NginxConfig is the small profile's NGINX configuration: a stream
// (layer 4) load balancer with least_conn, the guide's worker limits
// (800000 open files, 400000 connections) and MQTT timeouts, forwarding
// the API gateway (80, and 443 with its mutual TLS on), MQTT (1883 when
// insecure MQTT is on, 8883) and, with the LwM2M agent on, LwM2M (UDP 5683, 5684, 5693, 5694 and
// TCP 5896). It includes modules-enabled so the stream module loads where it
// is a dynamic module (Debian), and is a complete nginx.conf (`nginx -t
// -c` checks it). NGINX resolves backend names when it loads: names must
// resolve on its host. The ports and backends are validated first.
func NginxConfig(ports NodePorts, b Backends, insecureMQTT bool) (string, error) {
	if err := ports.CheckServed(); err != nil {
		return "", err
	}
	if err := b.ValidateServed(ports.metricsServed, ports.lwm2mServed); err != nil {
		return "", err
	}
	var s strings.Builder
	s.WriteString(`# NGINX stream load balancer for dojot, small profile (generated by iotstack).
include /etc/nginx/modules-enabled/*.conf;
worker_processes auto;
worker_rlimit_nofile 800000;
error_log /var/log/nginx/error.log warn;
pid /run/nginx.pid;

events {
    worker_connections 400000;
}

stream {
    access_log off;
`)
	upstream := func(name string, addrs []string, port int32, zone bool) {
		fmt.Fprintf(&s, "\n    upstream %s {\n", name)
		if zone {
			fmt.Fprintf(&s, "        zone %s 256k;\n", name)
		}
		s.WriteString("        least_conn;\n")
		for _, a := range addrs {
			fmt.Fprintf(&s, "        server %s;\n", hostPort(a, port))
		}
		s.WriteString("    }\n")
	}
	server := func(listen, backend string, mqtt bool) {
		fmt.Fprintf(&s, "    server {\n        listen %s;\n        proxy_pass %s;\n", listen, backend)
		if mqtt {
			s.WriteString("        proxy_timeout 10m;\n        proxy_connect_timeout 5s;\n        proxy_buffer_size 16k;\n")
		}
		s.WriteString("    }\n")
	}
	upstream("apigw_backend", b.APIGateway, ports.APIGatewayHTTP, false)
	server("80", "apigw_backend", false)
	if ports.httpsServed {
		upstream("apigw_secure_backend", b.APIGateway, ports.APIGatewayHTTPS, false)
		server("443", "apigw_secure_backend", false)
	}
	if insecureMQTT {
		upstream("mqtt_backend", b.MQTT, ports.MQTT, true)
		server("1883", "mqtt_backend", true)
	}
	upstream("mqtts_backend", b.MQTT, ports.MQTTS, true)
	server("8883", "mqtts_backend", true)
	if ports.metricsServed {
		upstream("metrics_backend", b.Metrics, ports.Metrics, false)
		server(fmt.Sprint(MetricsListenPort), "metrics_backend", false)
	}
	if ports.lwm2mServed {
		// ansible-dojot v0.5.0 roles/nginx/templates/{coap,coaps,file_server,file_servers,coap_http}.conf.j2;
		// its task copied all but coap_http.conf, so the HTTP file server
		// was not forwarded there: here it is.
		for _, p := range ports.lwm2mPorts() {
			upstream(p.name+"_backend", b.LwM2M, p.nodePort, false)
			listen := fmt.Sprint(p.listen)
			if p.udp {
				listen += " udp"
			}
			server(listen, p.name+"_backend", false)
		}
	}
	s.WriteString("}\n")
	return s.String(), nil
}

// lwm2mPort is one LwM2M port: the port the load balancer and the agent's
// Service listen on, and the NodePort between them.
type lwm2mPort struct {
	name     string
	listen   int32
	nodePort int32
	udp      bool
}

// lwm2mPorts are the LwM2M agent's ports, in the guide's order: the
// agent (dojot/iotagent-leshan v0.5.0) runs a Leshan server
// (leshan-server-cf 1.0.0-M5, pom.xml) built without an address
// (src/main/java/org/cpqd/iotagent/LwM2MAgent.java, run), so on Leshan's
// default CoAP and CoAPS ports 5683 and 5684 (not verified in Leshan's
// source); its CoAP file servers on COAP_PORT 5693 and COAP_SECURE_PORT
// 5694 (fileServerCoAP.properties); its HTTP file server on
// FILE_SERVER_HTTP_PORT, default 5896 (Config.java, LwM2MIoTAgent.java).
func (n NodePorts) lwm2mPorts() []lwm2mPort {
	return []lwm2mPort{
		{"coap", LwM2MCoAPPort, n.CoAP, true}, {"coaps", LwM2MCoAPSPort, n.CoAPS, true},
		{"file_server", LwM2MFileServerPort, n.FileServer, true}, {"file_servers", LwM2MFileServersPort, n.FileServers, true},
		{"coap_http", LwM2MHTTPPort, n.HTTPAgent, false},
	}
}

// The LwM2M agent's ports (see lwm2mPorts): the load balancer listens on
// the same numbers (ansible-dojot v0.5.0 roles/nginx/templates/coap*.conf.j2,
// file_server*.conf.j2).
const (
	LwM2MCoAPPort        = 5683
	LwM2MCoAPSPort       = 5684
	LwM2MFileServerPort  = 5693
	LwM2MFileServersPort = 5694
	LwM2MHTTPPort        = 5896
)

// HAProxyConfig is the 100k profile's HAProxy configuration: layer 4 with
// leastconn, health checks (inter 1000ms fall 3 rise 5), maxconn 100000
// and the guide's timeouts, forwarding MQTT (1883 when insecure MQTT is
// on, 8883) and the API gateway (80, and 443 with its mutual TLS on). The
// ports and backends are validated first; LwM2M (UDP) is refused.
func HAProxyConfig(ports NodePorts, b Backends, insecureMQTT bool) (string, error) {
	if err := ports.CheckServed(); err != nil {
		return "", err
	}
	if ports.lwm2mServed {
		return "", fmt.Errorf("dojot: the LwM2M agent is on (agents includes lwm2m), but the HAProxy load balancer cannot carry LwM2M: CoAP and CoAPS are UDP and HAProxy forwards TCP only (the dojot v0.5.0 installation guide, p. 2, fronts LwM2M with NGINX); use an agents choice without lwm2m in an HAProxy-fronted profile, or the small profile")
	}
	if err := b.ValidateServed(ports.metricsServed, false); err != nil {
		return "", err
	}
	var s strings.Builder
	s.WriteString(`# HAProxy load balancer for dojot, 100k profile (generated by iotstack).
global
    log /dev/log local0
    log /dev/log local1 notice
    maxconn 100000
    ulimit-n 200099
    ssl-default-bind-options ssl-min-ver TLSv1.2 no-tls-tickets

defaults
    log global
    mode tcp
    option tcplog
    timeout connect 5000ms
    timeout client 300000ms
    timeout server 300000ms
    default-server init-addr last,libc,none
`)
	listen := func(name string, bind int, prefix string, addrs []string, port int32) {
		fmt.Fprintf(&s, "\nlisten %s\n    mode tcp\n    bind *:%d\n    balance leastconn\n", name, bind)
		for i, a := range addrs {
			fmt.Fprintf(&s, "    server %s-%d %s check inter 1000ms fall 3 rise 5\n", prefix, i+1, hostPort(a, port))
		}
	}
	if insecureMQTT {
		listen("mqtt", 1883, "mqtt", b.MQTT, ports.MQTT)
	}
	listen("mqtts", 8883, "mqtt", b.MQTT, ports.MQTTS)
	listen("apigw", 80, "dojot", b.APIGateway, ports.APIGatewayHTTP)
	if ports.httpsServed {
		listen("apigws", 443, "dojot", b.APIGateway, ports.APIGatewayHTTPS)
	}
	if ports.metricsServed {
		listen("metrics", MetricsListenPort, "metrics", b.Metrics, ports.Metrics)
	}
	return s.String(), nil
}

// SysctlConfig is the host tuning the guide asks for on the HAProxy host
// (p. 29): every local port for outgoing connections to the workers.
const SysctlConfig = "# Host tuning for the dojot HAProxy load balancer (generated by iotstack).\n" +
	"# Install as /etc/sysctl.d/90-dojot-haproxy.conf and run: sysctl --system\n" +
	"net.ipv4.ip_local_port_range = 1024 65535\n"
