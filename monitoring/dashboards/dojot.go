package dashboards

import (
	"fmt"

	"github.com/iotstack/iotstack/stack"
)

// LocustApp is the app name (app.kubernetes.io/name) of the load test's
// Locust master, whose pod runs the Locust exporter (components/locust):
// For takes its scrape targets from the also stacks.
const LocustApp = "locust"

// vernemqMetrics are the VerneMQ 1.10.0 series the dojot MQTT dashboard
// reads (dojot's image is built FROM vernemq/vernemq:1.10.0-alpine,
// connector/mqtt/vernemq/broker/Dockerfile at dojot v0.5.0), each
// registered in apps/vmq_server/src/vmq_metrics.erl at tag 1.10.0 and
// written under that name with a node label (and mqtt_version on the
// MQTT packet counters) by vmq_metrics_http.erl: socket_open and
// socket_close (counters), queue_processes (gauge), queue_message_in,
// _out, _drop and _unhandled, mqtt_publish_received, _sent, _error and
// _auth_error, mqtt_connect_received, mqtt_connack_accepted_sent,
// mqtt_connack_sent{return_code} and the refused CONNACK counters.
var vernemqMetrics = []string{
	"socket_open", "socket_close", "queue_processes",
	"queue_message_in", "queue_message_out", "queue_message_drop", "queue_message_unhandled",
	"mqtt_publish_received", "mqtt_publish_sent", "mqtt_publish_error", "mqtt_publish_auth_error",
	"mqtt_connect_received", "mqtt_connack_accepted_sent", "mqtt_connack_sent",
	"mqtt_connack_bad_credentials_sent", "mqtt_connack_identifier_rejected_sent", "mqtt_connack_not_authorized_sent",
	"mqtt_connack_server_unavailable_sent", "mqtt_connack_unacceptable_protocol_sent",
}

// locustMetrics are the Locust exporter's series the dashboard reads:
// containersol/locust_exporter v0.3.0 (the exporter dojot's
// docker-compose-master.yml runs beside the Locust master at dojot
// v0.5.0), main.go: namespace "locust", locust_users, locust_slaves_count,
// locust_running, and per request type and name (labels method, name)
// locust_requests_current_rps, locust_requests_current_fail_per_sec,
// locust_requests_avg_response_time and
// locust_requests_median_response_time (milliseconds, as Locust reports
// them). dojot's Locust client reports its MQTT events with method "mqtt"
// and names publish (response time: PUBLISH to PUBACK), recv_message
// (response time: from the publish timestamp in the payload to the
// message's arrival on the client's /config topic, the round trip through
// dojot and kafka-loopback), connect and disconnect
// (connector/mqtt/locust/src/mqtt_locust/mqtt_client.py at v0.5.0).
var locustMetrics = []string{
	"locust_users", "locust_slaves_count", "locust_running",
	"locust_requests_current_rps", "locust_requests_current_fail_per_sec",
	"locust_requests_avg_response_time", "locust_requests_median_response_time",
}

// dojotMQTT is the published dojot 100k dashboard ("Dojot - 100k",
// connector/mqtt/latency-pub-test-prometheus/examples/dashboard-grafana/
// Dojot_100k_V3.json in dojot/dojot at v0.5.0) rebuilt on the series the
// exporters here expose: its Main row (connected devices, clients online
// and offline, connect and disconnect rates), its VerneMQ row (PUBLISH
// received, sent and failed, queue messages, queue processes, CONNECT and
// CONNACK, refused CONNACKs), and latency. Where it differs: the published
// CPU and memory panels read recording rules of kube-prometheus
// (namespace_pod_name_container_name:...) that this monitoring does not
// record: the overview dashboard shows CPU and memory per pod; the
// published latency panels read dojot_latency_pub_statistics of dojot's
// latency-pub-test-prometheus service (time from Locust to Kafka), which
// the load test does not run: latency here is the Locust client's own,
// PUBLISH to PUBACK and the round trip to the /config topic, through the
// Locust exporter (locusts, when the load test part is rendered).
func dojotMQTT(vmq, locusts []stack.ScrapeTarget) spec {
	sel := jobs(vmq)
	online := fmt.Sprintf(`(sum(socket_open{%[1]s}) - sum(socket_close{%[1]s}))`, sel)
	rate := func(metric string) string { return fmt.Sprintf(`sum(rate(%s{%s}[2m]))`, metric, sel) }
	p := []panel{
		up(sel),
		{title: "Connected devices", stat: true, description: "MQTT sockets open on the brokers (socket_open less socket_close).",
			queries: []query{{online, "connected"}}},
		{title: "Clients", description: "Online: open sockets. Offline: sessions (queue processes) without a socket.",
			queries: []query{{online, "online"}, {fmt.Sprintf(`sum(queue_processes{%s}) - %s`, sel, online), "offline"}}},
		{title: "Connect and disconnect rate", unit: "ops", queries: []query{
			{rate("socket_open"), "connect (socket open)"}, {rate("socket_close"), "disconnect (socket close)"}}},
		{title: "MQTT PUBLISH received and sent per second", unit: "ops",
			description: "Received: the devices' publishes (and the bridges'); sent: what the brokers deliver to subscribers (v2k-bridge, the devices' /config topics).",
			queries: []query{{rate("mqtt_publish_received"), "received"}, {rate("mqtt_publish_sent"), "sent"},
				{rate("mqtt_publish_error"), "error"}, {rate("mqtt_publish_auth_error"), "auth error"}}},
		{title: "PUBLISH received per broker", unit: "ops", queries: []query{
			{fmt.Sprintf(`sum by (pod) (rate(mqtt_publish_received{%s}[2m]))`, sel), "{{pod}}"}}},
		{title: "Messages in queues", unit: "ops", queries: []query{
			{rate("queue_message_in"), "in"}, {rate("queue_message_out"), "out"},
			{rate("queue_message_drop"), "dropped"}, {rate("queue_message_unhandled"), "unhandled"}}},
		{title: "Queue processes", queries: []query{{fmt.Sprintf(`sum by (pod) (queue_processes{%s})`, sel), "{{pod}}"}}},
		{title: "CONNECT received and CONNACK accepted", unit: "ops", queries: []query{
			{rate("mqtt_connect_received"), "CONNECT received"}, {rate("mqtt_connack_accepted_sent"), "CONNACK accepted"}}},
		{title: "CONNACK refused", unit: "ops", queries: []query{
			{rate("mqtt_connack_bad_credentials_sent"), "bad credentials"},
			{rate("mqtt_connack_identifier_rejected_sent"), "identifier rejected"},
			{rate("mqtt_connack_not_authorized_sent"), "not authorized"},
			{rate("mqtt_connack_server_unavailable_sent"), "server unavailable"},
			{rate("mqtt_connack_unacceptable_protocol_sent"), "unacceptable protocol"}}},
		{title: "CONNACK by return code", unit: "ops", queries: []query{
			{fmt.Sprintf(`sum by (return_code) (rate(mqtt_connack_sent{%s}[2m]))`, sel), "{{return_code}}"}}},
	}
	if len(locusts) > 0 {
		ls := jobs(locusts)
		rps := func(name string) string {
			return fmt.Sprintf(`sum(locust_requests_current_rps{%s,method="mqtt",name=%q})`, ls, name)
		}
		p = append(p,
			panel{title: "Load test: users and workers", stat: true, queries: []query{
				{fmt.Sprintf(`max(locust_users{%s})`, ls), "users"}, {fmt.Sprintf(`max(locust_slaves_count{%s})`, ls), "workers"}}},
			panel{title: "Load test: state", stat: true, description: "0 stopped, 1 hatching, 2 running (the exporter's locust_running).",
				queries: []query{{fmt.Sprintf(`max(locust_running{%s})`, ls), "state"}}},
			panel{title: "Load test: publishes and receives per second", unit: "ops",
				description: "The target: 100,000 clients publishing every 30 s, about 3,333 publishes and 3,333 receives per second (kafka-loopback echoes every publish to the device's /config topic).",
				queries: []query{{rps("publish"), "publish (PUBACK received)"}, {rps("recv_message"), "receive (/config)"},
					{rps("connect"), "connect"}, {fmt.Sprintf(`sum(locust_requests_current_fail_per_sec{%s})`, ls), "failures"}}},
			panel{title: "Load test: latency", unit: "ms",
				description: "publish: PUBLISH to PUBACK; round trip: from the publish to its echo on /config, through VerneMQ, v2k-bridge, Kafka, kafka-loopback and k2v-bridge.",
				queries: []query{
					{fmt.Sprintf(`max(locust_requests_median_response_time{%s,method="mqtt",name="publish"})`, ls), "publish median"},
					{fmt.Sprintf(`max(locust_requests_avg_response_time{%s,method="mqtt",name="publish"})`, ls), "publish average"},
					{fmt.Sprintf(`max(locust_requests_median_response_time{%s,method="mqtt",name="recv_message"})`, ls), "round trip median"},
					{fmt.Sprintf(`max(locust_requests_avg_response_time{%s,method="mqtt",name="recv_message"})`, ls), "round trip average"}}},
		)
	}
	return spec{uid: "dojot-mqtt", title: "dojot MQTT (100k)", tags: []string{"dojot", "vernemq"}, panels: p}
}
