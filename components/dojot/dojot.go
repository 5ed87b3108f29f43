package dojot

import (
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/iotstack/iotstack/components/kafka"
	"github.com/iotstack/iotstack/components/postgres"
	"github.com/iotstack/iotstack/components/vernemq"
	"github.com/iotstack/iotstack/components/x509"
	"github.com/iotstack/iotstack/components/zookeeper"
	"github.com/iotstack/iotstack/stack"
)

// Group is a dojot node group (the dojot.components/group node label).
type Group string

// The node groups of the 100k environment.
const (
	GroupDojot   Group = "dojot"
	GroupKafka   Group = "kafka"
	GroupVerneMQ Group = "vernemq"
	GroupX509    Group = "x509"
)

// Config configures the dojot services.
type Config struct {
	// Version is the tag of the dojot/* images (v0.5.0; the guide's 100k
	// environment uses v0.5.0-alpha.4).
	Version string
	// Services is the set of optional services to run; nil means every
	// service of the few-devices environment.
	Services []string
	// Bridges is the number of k2v-bridge, v2k-bridge and kafka-loopback
	// pods, and the partitions of dojot's Kafka topics; default 1.
	Bridges int32
	// Pools maps each node group to the topology pool its services run on.
	Pools map[Group]string
	// Storage is the StorageClass of every volume ("" : cluster default).
	StorageClass string
	// NodePorts are the fixed NodePorts; default DefaultNodePorts.
	NodePorts NodePorts
	// Domain is the name users reach dojot by (auth's password-reset
	// link); default "localhost".
	Domain string
	// Email, when set, lets auth send e-mail (new users' and
	// password-reset links) through an SMTP server; nil keeps auth's
	// NOEMAIL (the guide's dojot_auth_email_enabled: false).
	Email *Email
	// MutualTLS serves Kong's TLS proxy port 8443 on the HTTPS NodePort
	// with mutual TLS to its upstreams (the guide's
	// dojot_apigw_enable_mutual_tls); the certificates are the Secret
	// kong-tls (KongTLSSecret), which the user provides. NodePorts must
	// serve the HTTPS port exactly then (ServeAPIGatewayHTTPS).
	MutualTLS bool
	// KafkaWSTLS serves kafka-ws over TLS, requesting clients'
	// certificates (the guide's dojot_kafka_ws_enable_tls); Kong reaches
	// it by https. The certificates are the Secret kafka-ws-tls
	// (KafkaWSTLSSecret), which the user provides.
	KafkaWSTLS bool
	// InsecureMQTT serves plain MQTT on 1883 beside MQTTS on 8883 (the
	// guide's dojot_insecure_mqtt), for the Mosca agent (VerneMQ has its
	// own setting, vernemq.Config.InsecureMQTT).
	InsecureMQTT bool
	// Lean sets memory requests to half of the limits, for the
	// few-devices environment whose single worker holds every service.
	Lean bool
}

// Email is auth's SMTP account (ansible-dojot v0.5.0
// roles/auth/templates/auth_deployment.yaml.j2 with
// dojot_auth_email_enabled: AUTH_EMAIL_HOST, AUTH_EMAIL_USER and
// AUTH_EMAIL_PASSWD from the Secret auth-secret; dojot/auth auth/conf.py
// reads them, with AUTH_EMAIL_PORT, default 587, and AUTH_EMAIL_TLS,
// default true: the version of conf.py read is the one stored by the
// search index, not checked at the v0.5.0 tag). The password is the key
// password of the declared Secret auth-email (AuthEmailSecret), which the
// user provides: it is never generated nor rendered.
type Email struct {
	// Host is the SMTP server's name.
	Host string `json:"host"`
	// Port is the SMTP port; 0 keeps auth's default, 587.
	Port int32 `json:"port" min:"0" max:"65535"`
	// User is the account that sends the e-mail.
	User string `json:"user"`
}

// AuthEmailSecret is the Secret (key password) holding auth's SMTP
// password when Config.Email is set.
const AuthEmailSecret = "auth-email"

// Validate checks the e-mail settings; path prefixes the field names.
func (e Email) Validate(path string) error {
	if e.Host == "" || e.Host == "NOEMAIL" || strings.ContainsAny(e.Host, " /:") {
		return fmt.Errorf("%s.host %q; must be the SMTP server's DNS name or address (NOEMAIL, auth's switch for no e-mail, is e-mail off: leave the e-mail settings out)", path, e.Host)
	}
	if e.User == "" || strings.ContainsAny(e.User, " \t\n") {
		return fmt.Errorf("%s.user %q; must be the SMTP account, without spaces", path, e.User)
	}
	if e.Port < 0 || e.Port > 65535 {
		return fmt.Errorf("%s.port %d; allowed 0 (auth's default, 587) to 65535", path, e.Port)
	}
	return nil
}

// Deps are the data-tier handles dojot is wired from.
type Deps struct {
	Kafka     *kafka.Handle
	ZooKeeper *zookeeper.Handle
	Postgres  *postgres.Handle
	X509      *x509.Handle
	VerneMQ   *vernemq.Handle
}

// Optional services, by name.
var allServices = []string{
	"auth", "backstage", "cron", "data-broker", "data-manager", "device-manager", "flowbroker", "gui", "gui-v2",
	"history", "image-manager", IoTAgentLwM2M, IoTAgentMosca, "k2v-bridge", "kafka-loopback", "kafka-ws", "kafka2ftp", "kong",
	"minio", "mongodb", "persister", "rabbitmq", "v2k-bridge",
}

// The IoT agents besides VerneMQ, as services (ansible-dojot v0.5.0
// roles/iotagent-lwm2m, roles/iotagent-mosca; deploy.yaml tags them
// "never", so only the lwm2m and mosca tags deploy them).
const (
	IoTAgentLwM2M = "iotagent-lwm2m"
	IoTAgentMosca = "iotagent-mosca"
)

// vernemqServices need VerneMQ (Deps.VerneMQ): the bridges are its MQTT
// clients, and kafka-loopback echoes what they carry.
var vernemqServices = []string{"k2v-bridge", "kafka-loopback", "v2k-bridge"}

// SmallServices is the few-devices environment as the guide runs it
// (deploy.yaml without tags; dojot_guiv2_enabled false, guide p. 19):
// every service but kafka-loopback, gui-v2 and the LwM2M and Mosca agents.
func SmallServices() []string {
	var out []string
	for _, s := range allServices {
		switch s {
		case "kafka-loopback", "gui-v2", IoTAgentLwM2M, IoTAgentMosca:
		default:
			out = append(out, s)
		}
	}
	return out
}

// HundredServices is the guide's 100k subset (deploy.yaml --tags 100k):
// apigw, auth, data-broker, the bridges, kafka-loopback, kafka-ws and
// MongoDB (for x509-identity-mgmt).
func HundredServices() []string {
	return []string{"auth", "data-broker", "k2v-bridge", "kafka-loopback", "kafka-ws", "kong", "mongodb", "v2k-bridge"}
}

// Default fills zero fields.
func (c *Config) Default() {
	if c.Version == "" {
		c.Version = "v0.5.0"
	}
	if c.Services == nil {
		c.Services = SmallServices()
	}
	if c.Bridges == 0 {
		c.Bridges = 1
	}
	if c.NodePorts == (NodePorts{}) {
		c.NodePorts = DefaultNodePorts()
	}
	if c.Domain == "" {
		c.Domain = "localhost"
	}
}

// Validate checks a defaulted Config.
func (c Config) Validate(topo stack.Topology) error {
	if c.Version == "" || c.Version == "latest" || strings.ContainsAny(c.Version, " :/") {
		return fmt.Errorf("dojot: version %q; must be a pinned tag such as v0.5.0", c.Version)
	}
	known := map[string]bool{}
	for _, s := range allServices {
		known[s] = true
	}
	seen := map[string]bool{}
	for _, s := range c.Services {
		if !known[s] {
			return fmt.Errorf("dojot: services: unknown service %q; known: %s", s, strings.Join(allServices, ", "))
		}
		if seen[s] {
			return fmt.Errorf("dojot: services: %q listed twice", s)
		}
		seen[s] = true
	}
	for _, need := range [][2]string{{"history", "mongodb"}, {"persister", "mongodb"}, {"image-manager", "minio"}, {"kafka-loopback", "auth"}, {"kafka-loopback", "data-broker"},
		{"gui-v2", "kong"}, {IoTAgentLwM2M, "auth"}, {IoTAgentLwM2M, "data-broker"}, {IoTAgentLwM2M, "device-manager"},
		{IoTAgentMosca, "auth"}, {IoTAgentMosca, "data-broker"}, {IoTAgentMosca, "device-manager"}} {
		if seen[need[0]] && !seen[need[1]] {
			return fmt.Errorf("dojot: services: %s needs %s", need[0], need[1])
		}
	}
	if seen[IoTAgentLwM2M] != c.NodePorts.lwm2mServed {
		return fmt.Errorf("dojot: services: %s listed %v but the LwM2M NodePorts served %v; serve them (NodePorts.ServeLwM2M) exactly when the agent runs", IoTAgentLwM2M, seen[IoTAgentLwM2M], c.NodePorts.lwm2mServed)
	}
	if c.MutualTLS != c.NodePorts.httpsServed {
		return fmt.Errorf("dojot: mutualTLS %v but the API gateway's HTTPS NodePort served %v; serve it (NodePorts.ServeAPIGatewayHTTPS) exactly with mutual TLS", c.MutualTLS, c.NodePorts.httpsServed)
	}
	if c.MutualTLS && !seen["kong"] {
		return fmt.Errorf("dojot: mutualTLS is Kong's, but services lists no kong")
	}
	if c.KafkaWSTLS && !seen["kafka-ws"] {
		return fmt.Errorf("dojot: kafkaWSTLS is kafka-ws's, but services lists no kafka-ws")
	}
	if c.Email != nil {
		if err := c.Email.Validate("dojot: email"); err != nil {
			return err
		}
	}
	if c.Bridges < 1 || c.Bridges > 100 {
		return fmt.Errorf("dojot: bridges %d; allowed 1 to 100", c.Bridges)
	}
	for _, g := range []Group{GroupDojot, GroupKafka, GroupVerneMQ, GroupX509} {
		if _, err := topo.Pool(c.Pools[g]); err != nil {
			return fmt.Errorf("dojot: pools[%s]: %w", g, err)
		}
	}
	return c.NodePorts.CheckServed()
}

// Has reports whether the service runs.
func (c Config) Has(name string) bool {
	for _, s := range c.Services {
		if s == name {
			return true
		}
	}
	return false
}

// CheckPartitions rejects a Kafka default partition count that differs
// from the bridges: k2v-bridge instances beyond the partitions sit idle,
// and partitions beyond the instances are read by none in parallel.
func CheckPartitions(partitions int, bridges int32) error {
	if partitions != int(bridges) {
		return fmt.Errorf("dojot: Kafka numPartitions %d must equal the %d bridges (dojot_bridges_replicas sets both): extra bridges sit idle, extra partitions lose parallelism", partitions, bridges)
	}
	return nil
}

// sortedServices returns the services in name order.
func sortedServices(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

// lean returns limits with CPU requests a tenth and memory requests half of
// the limit (Config.Lean), or stack.FromLimits's rule (memory request = limit).
func (c Config) resources(cpu, memory string) stack.Resources {
	r := stack.MustLimits(cpu, memory)
	if c.Lean {
		half := resource.NewQuantity(r.MemoryLimit.Value()/2, resource.BinarySI)
		r.MemoryRequest = *half
	}
	return r
}
