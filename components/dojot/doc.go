// Package dojot renders the dojot v0.5.0 IoT platform's services for
// Kubernetes — the Kong API gateway with its migrations and routes, auth,
// data-broker, device-manager, flowbroker, gui, gui-v2, the LwM2M and
// Mosca IoT agents, history, persister,
// image-manager, kafka-ws, kafka2ftp, cron, backstage, data-manager,
// MongoDB, MinIO, RabbitMQ, the k2v/v2k bridges and kafka-loopback — wired
// to Kafka, ZooKeeper and PostgreSQL through their handles, and the
// external load balancers in front of them (NGINX for the few-devices
// environment, HAProxy for 100k devices) from the same inputs: the fixed
// NodePorts and the workers' addresses. VerneMQ and x509-identity-mgmt
// have packages of their own (components/vernemq, components/x509).
//
// What it reproduces: ansible-dojot v0.5.0 (images dojot/* at the
// profile's version, each service's environment, ports, sidecars and the
// API gateway's routing table) and the install guide's two environments.
//
// Defects of the original manifests, fixed here:
//   - minio's StatefulSet had apiVersion v1 and kafka-loopback's none:
//     every workload is apps/v1;
//   - Services used topologyKeys (removed in Kubernetes 1.22): the broker
//     uses internalTrafficPolicy/externalTrafficPolicy Local;
//   - the Kafka PodDisruptionBudget was policy/v1beta1 (removed in 1.25)
//     and the VerneMQ operator's CRD apiextensions v1beta1 (removed in
//     1.22): PDBs are policy/v1, and VerneMQ is a StatefulSet, no operator;
//   - kong-migrate-up passed "&&" as an argument, so the second migration
//     never ran: the migrations run through a shell;
//   - dojot_insecure_mqtt was a string, and Jinja read 'false' as true: it
//     is a typed boolean;
//   - Grafana and iotagent-mosca both took NodePort 30003 (dojot#1837):
//     NodePorts are validated, a collision names both fields;
//   - IPv6 worker addresses are written in brackets ([2001:db8::1]:30001).
//
// The guide's metrics NodePort (30003, Grafana) is served when the
// monitoring is on (NodePorts.ServeMetrics): the load balancers then
// forward port 3000 to it.
//
// IoT agents (agents.go), as ansible-dojot v0.5.0's deploy tags select
// them: VerneMQ (components/vernemq, Deps.VerneMQ) with the bridges, or
// Mosca (iotagent-mosca, never both: checkAgents), each optionally with
// the LwM2M agent (iotagent-lwm2m). Mosca takes the MQTT NodePorts
// (30004, 30005) and never Grafana's 30003 (dojot#1837). The LwM2M agent's
// Service serves the guide's NodePorts 30006-30010 (NodePorts.ServeLwM2M),
// which NGINX forwards from UDP 5683, 5684, 5693, 5694 and TCP 5896;
// HAProxyConfig refuses LwM2M, since HAProxy forwards no UDP. Fixed in
// the LwM2M role: its HTTP file server listened on a port nothing
// forwarded (see lwm2m); the role's file-server HTTPS port 5897 is served
// by nothing in v0.5.0 and is not rendered. What remains: the v0.5.0
// NGINX task never installed coap_http.conf, so the guide's own NGINX did
// not forward 5896; here it does, untested against a device.
//
// A store whose persistence is off (the guide's
// dojot_<service>_persistent_volumes false, which mounts no volume) keeps
// its data in a sized emptyDir instead of its claim: Ephemeral rewrites a
// component's claim templates so, and the profiles reserve no local
// volume for it.
//
// gui-v2 (Config.Services) is routed by Kong at /v2. The guide's
// switches: the API gateway's mutual TLS (Config.MutualTLS, Kong's 8443
// and the HTTPS NodePort only then) and kafka-ws's TLS
// (Config.KafkaWSTLS) read their certificates from Secrets the user
// provides (KongTLSSecret, KafkaWSTLSSecret) where the guide mounted its
// kong and kafka-ws volumes; auth's e-mail (Config.Email) takes its
// password from the user-provided Secret auth-email.
//
// Further defects of the original manifests, fixed here:
//   - credentials were literals in Secrets and env (kong/kong, the
//     device-manager crypto constants, MinIO keys, image-manager's S3 keys):
//     every one is a declared Secret, generated at apply time;
//   - no container had resources or, but for two, probes: all have
//     requests and limits, and every listening container a probe;
//   - service addresses were typed everywhere (kafka-server,
//     zookeeper-client, postgres): they come from the components' handles;
//   - the Kafka partition count and the bridges were set apart by hand:
//     the profiles refuse a mismatch.
//
// Deliberate choices: MongoDB runs mongo:4.4.29 (v0.5.0 used dojot/mongo
// 3.2; 4.4 is the last release whose wire protocol still serves its
// drivers); the routes are configured by a sidecar of Kong running
// curlimages/curl (dojot's curl image had no tag) that upserts services
// and routes, adding plugins only when absent, so it can run again; in the
// few-devices environment (Config.Lean) memory requests are half the
// limits, because the guide's single 6 GB worker holds every service.
//
// Network policy (see reach.go): the data tier admits the services wired
// to it, each store and companion Redis its consumers, Kong's upstreams
// the gateway, Kong's consumers gate (:8002) auth only. What remains
// wide or open: every Kafka client may call auth, data-broker and
// device-manager, because dojot-module calls them at its default
// addresses and which service uses which call is not documented;
// flowbroker's flow nodes, Deployments it creates at run time, are not
// part of the stack, so no policy admits them anywhere (a flow that calls
// a service directly needs a policy of its own); RabbitMQ admits no one,
// since no service of the set is wired to it; whether data-manager and
// backstage call services other than through Kong at default addresses
// is not verified, and they are admitted nowhere but Kong.
//
// Internal admin surfaces, narrowed, and what remains:
//   - Kong's admin API (no authentication in Kong 2.0's open-source
//     edition) listens on the pod's loopback only (KONG_ADMIN_LISTEN
//     127.0.0.1:8001); the routes sidecar reaches it there. dojot's auth
//     must still create and delete consumers and their JWT credentials
//     (auth v0.5.0 kongUtils.py), so Kong's own nginx serves a consumers
//     gate on :8002 (Service kong, port consumers) that passes exactly
//     those four calls and refuses the rest with 403. What remains: any pod
//     that reaches :8002 can create a consumer with a JWT credential (and
//     so sign tokens Kong accepts) or delete one; the NetworkPolicy must
//     admit only auth to kong:8002.
//   - MongoDB runs with authentication. history (read) and persister
//     (readWrite) on device_history, and x509-identity-mgmt (readWrite on
//     its database), log in as users of their own with generated
//     passwords (Secret mongodb-auth, and the CA's x509-identity-mgmt-mongo);
//     a sidecar creates the administrator through MongoDB's localhost
//     exception and keeps the users in step with the Secrets. What
//     remains: history's and persister's password is part of their
//     HISTORY_DB_ADDRESS (v0.5.0 accepts no separate password variable),
//     visible to whoever can read the pod's environment; the
//     administrator's password is only in the sidecar.
//   - flowbroker's Role grants exactly the calls of its v0.5.0 kubernetes
//     remote node: list, get, create, patch (scale to 0) and delete on
//     Deployments, create and delete on Services. What remains: RBAC cannot
//     constrain what a created Deployment contains, so a compromised
//     flowbroker could start pods that mount any Secret or use any
//     ServiceAccount of the namespace; the namespace's Pod Security
//     "restricted" level still forbids privileged, host and root pods. A
//     ValidatingAdmissionPolicy matching the flowbroker ServiceAccount
//     (no Secret volumes or references, default ServiceAccount, flow node
//     images only) would close it; it is not rendered yet. flowbroker
//     v0.5.0 also hard-codes the namespace "dojot" in those calls, so
//     remote flow nodes work only in a stack whose namespace is dojot.
//
// Kafka clients and the broker line. Kafka 4.0 removed the request
// versions older than Kafka 2.1's (KIP-896); the 3.9 branch's message
// specs (apache/kafka clients/src/main/resources/common/message/*.json,
// deprecatedVersions) mark them: Produce 0-6, Fetch 0-3, ListOffsets 0,
// Metadata 0-3, JoinGroup 0-1, and 3.9 still serves them. What dojot
// v0.5.0's services send, from their own manifests at v0.5.0:
//
//	service              manifest                               client                            versions sent
//	data-broker          data-broker package.json               kafka-node 2.6.1 (lock)           Produce v0-2, Fetch v0-2, ListOffsets v0, Metadata v0, JoinGroup v0 (kafka-node v2.6.1 lib/protocol/protocolVersions.js): refused by 4.x
//	data-broker, cron,   package.json: @dojot/dojot-module      node-rdkafka 2.5.1 = librdkafka     JoinGroup v0, sent without negotiation (librdkafka v0.11.5 src/rdkafka_request.c): refused by 4.x
//	flowbroker           0.0.1-beta.9 (flowbroker: orchestrator) 0.11.5 (node-rdkafka v2.5.1 package.json)
//	kafka2ftp            dojot/dojot connector/kafka2ftp         @dojot/microservice-sdk 0.1.1 ->   per-API versions negotiated from ApiVersions (librdkafka v1.2.2/v1.3.0
//	k2v-, v2k-bridge,    connector/mqtt/vernemq/*-bridge,        node-rdkafka 2.7.4 (librdkafka 1.2.2); src/rdkafka_request.c, rd_kafka_broker_ApiVersion_supported);
//	kafka-ws             subscription-engine/kafka-ws            sdk 0.1.3 -> node-rdkafka 2.8.0 (1.3.0)  that each lands at or above 4.x's floor is not verified
//	auth, history,       requirements: dojot.module 0.0.1a5,     kafka-python 1.4.7 (dojot-module-python  Produce v3, Fetch v4, ListOffsets v1, JoinGroup v2 against a broker it
//	persister            auth also kafka-python==1.4.7          v0.0.1-alpha.5 setup.py)            detects as 0.11+ (kafka-python 1.4.7 producer/sender.py, consumer/fetcher.py,
//	device-manager       requirements: kafka-python==1.4.1      kafka-python 1.4.1                  coordinator/base.py); its broker-version probe against 4.x is not verified
//	kafka-loopback       dojot/dojot tools/kafka/loopback        confluentinc/cp-kafkacat:5.4.1      librdkafka inside not verified
//
// (persister's image is built from dojot/history v0.5.0,
// docker/persister.docker; backstage v0.5.0 has no Kafka client; gui,
// image-manager and data-manager were not checked.) Two of them can only
// speak versions Kafka 4.x refuses, so the dojot profiles run the 3.9
// line (kafka.Image39, KRaft still supported, every old version still
// served); the install guide itself ran Confluent 5.5 (Kafka 2.5).
//
// The broker's name: the profiles' domain becomes VerneMQ's
// EXTERNAL_SERVER_HOSTNAME (or EXTERNAL_SERVER_IP), which the image puts
// into the certificate request that x509-identity-mgmt signs (see
// vernemq.Config.ExternalHostname); Kong's database password is stored as
// md5 because Kong 2.0's pgmoon has no SCRAM (kongPasswordEncryption).
package dojot
