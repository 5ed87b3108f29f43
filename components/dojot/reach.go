package dojot

import (
	"github.com/iotstack/iotstack/stack"
)

// kafkaClients are the services that talk to Kafka: through KAFKA_HOSTS
// or the Kafka address New gives them, or (the bridges) through their
// image's default broker address, which is why the profiles name the
// Kafka cluster "kafka-server".
var kafkaClients = []string{"auth", "cron", "data-broker", "device-manager", "flowbroker", IoTAgentLwM2M, IoTAgentMosca, "k2v-bridge", "kafka-loopback", "kafka-ws", "kafka2ftp", "persister", "v2k-bridge"}

// reach declares who may open which port of the dojot services (the
// NetworkPolicies stack.Synth renders): the data tier from the handles,
// the stores and companion Redis from their consumers, Kong's upstreams
// from the routing table, Kong's consumers gate (:8002) from auth only; Kong's admin API
// listens on the pod's loopback, for the routes sidecar.
func (w *wiring) reach(comps map[string]*stack.Component) {
	uses := func(consumer string, eps ...stack.Endpoint) { // from the service's own pods, not its companion Redis
		if c := comps[consumer]; c != nil {
			c.Pods("").Uses(eps...)
		}
	}
	port := func(provider, name string) []stack.Endpoint {
		if c := comps[provider]; c != nil {
			return []stack.Endpoint{c.Pods("").Port(name)}
		}
		return nil
	}
	for _, name := range kafkaClients {
		uses(name, w.d.Kafka.Client())
		// dojot-module, the library these services share, calls auth,
		// data-broker and device-manager at its default addresses
		// (dojot-module-nodejs lib/config.js: AUTH_URL http://auth:5000,
		// DATA_BROKER_URL http://data-broker, DEVICE_MANAGER_URL
		// http://device-manager:5000). New sets none of these variables,
		// so the defaults, and the Service names they use, hold.
		for _, svc := range []string{"auth", "data-broker", "device-manager"} {
			if svc != name {
				uses(name, port(svc, "http")...)
			}
		}
	}
	uses("data-broker", w.d.ZooKeeper.Client()) // DATABROKER_ZOOKEEPER_HOST
	uses("flowbroker", w.d.ZooKeeper.Client())  // the context manager's ZOOKEEPER_HOST
	for _, name := range []string{"auth", "device-manager", "image-manager", "kong"} {
		uses(name, w.d.Postgres.PrimaryEndpoint()) // their database host is the primary
	}
	uses("history", port("mongodb", "mongodb")...) // HISTORY_DB_ADDRESS
	// history.settings.docker (FALCON_SETTINGS_MODULE): DEVICE_MANAGER_URL
	// defaults to http://device-manager:5000.
	uses("history", port("device-manager", "http")...)
	uses("persister", port("mongodb", "mongodb")...)
	uses("image-manager", port("minio", "s3")...) // S3URL
	for _, name := range []string{"data-broker", "device-manager", "kafka-ws"} {
		if c := comps[name]; c != nil { // the companion Redis, <name>-redis
			c.Pods("").Uses(c.Pods("redis").Port("redis"))
		}
	}
	uses("backstage", port("kong", "http")...) // LOCAL_URL
	uses("auth", port("kong", "consumers")...) // AUTH_KONG_URL: the consumers gate (kong.go); the admin API is on loopback
	uses("v2k-bridge", w.d.X509.API())         // V2K_APP_EJBCA_ADDRESS
	for _, name := range []string{"k2v-bridge", "v2k-bridge"} {
		// The bridges are VerneMQ's MQTT clients (Deps.VerneMQ), over TLS
		// with certificates from x509-identity-mgmt; without VerneMQ
		// there are no bridges (checkAgents).
		if w.d.VerneMQ != nil {
			uses(name, w.d.VerneMQ.MQTTS())
		}
	}
	// Mosca has its certificate signed by x509-identity-mgmt at start
	// (initialConf.py) and refreshes the CRL from it (src/config.js
	// pkiApiUrl); the LwM2M agent downloads firmware images from
	// image-manager (ImageDownloader, see lwm2m).
	uses(IoTAgentMosca, w.d.X509.API())
	uses(IoTAgentLwM2M, port("image-manager", "http")...)
	if kong := comps["kong"]; kong != nil {
		kong.Pods("migrations").Uses(w.d.Postgres.PrimaryEndpoint())
		seen := map[string]bool{}
		for _, r := range w.routes() { // Kong proxies to every upstream of its routing table
			if seen[r.service] {
				continue
			}
			seen[r.service] = true
			if r.service == "x509" {
				kong.Pods("").Uses(w.d.X509.API())
				continue
			}
			kong.Pods("").Uses(port(r.service, "http")...)
		}
	}
}
