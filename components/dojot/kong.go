package dojot

import (
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/iotstack/iotstack/components/internal/sts"
	"github.com/iotstack/iotstack/components/postgres"
	"github.com/iotstack/iotstack/stack"
)

// CurlImage runs the route configuration Job (in place of dojot's unpinned
// dojot/byrnedo-alpine-curl).
const CurlImage = "curlimages/curl:8.11.1"

// route is one row of the API gateway's routing table (ansible-dojot
// v0.5.0 apigw_routes_config_map): a Kong service named name forwarding
// paths to url, guarded by auth's PDP and a JWT when protected.
type route struct {
	name, service, url string
	paths              []string
	strip, protected   bool
}

// routes returns the rows whose target service runs.
func (w *wiring) routes() []route {
	host := func(svc string, port int, path string) string {
		return fmt.Sprintf("http://%s:%d%s", w.s.ServiceHost(svc), port, path)
	}
	// kafka-ws over TLS with its switch (v0.5.0's KAFKAWS_PROTOCOL=https).
	kafkaWS := host("kafka-ws", 8080, "/")
	if w.cfg.KafkaWSTLS {
		kafkaWS = "https" + strings.TrimPrefix(kafkaWS, "http")
	}
	all := []route{
		{"gui", "gui", host("gui", 80, ""), []string{"/"}, false, false},
		// ansible-dojot v0.5.0 apigw_routes_config_map.yaml.j2: createEndpoint "gui-v2" "http://gui-v2:80" '"/v2"' "true".
		{"gui-v2", "gui-v2", host("gui-v2", 80, ""), []string{"/v2"}, true, false},
		{"data-broker", "data-broker", host("data-broker", 80, ""), []string{"/device/(.*)/latest", "/subscription"}, false, true},
		{"data-streams", "data-broker", host("data-broker", 80, ""), []string{"/stream"}, true, true},
		{"ws-http", "data-broker", host("data-broker", 80, ""), []string{"/socket.io"}, false, false},
		{"device-manager", "device-manager", host("device-manager", 5000, ""), []string{"/device", "/template"}, false, true},
		{"image", "image-manager", host("image-manager", 5000, ""), []string{"/fw-image"}, true, true},
		{"auth-permissions-service", "auth", host("auth", 5000, "/pap"), []string{"/auth/pap"}, true, true},
		{"auth-service", "auth", host("auth", 5000, ""), []string{"/auth"}, true, false},
		{"auth-revoke", "auth", host("auth", 5000, ""), []string{"/auth/revoke"}, false, false},
		{"user-service", "auth", host("auth", 5000, "/user"), []string{"/auth/user"}, true, true},
		{"flows", "flowbroker", host("flowbroker", 80, ""), []string{"/flows"}, true, true},
		{"flowsIcons", "flowbroker", host("flowbroker", 80, "/icons"), []string{"/flows/icons"}, true, false},
		{"flowsRedImages", "flowbroker", host("flowbroker", 80, "/red/images"), []string{"/flows/red/images"}, true, false},
		{"history", "history", host("history", 8000, ""), []string{"/history"}, true, true},
		{"data-manager", "data-manager", host("data-manager", 3000, "/"), []string{"/export", "/import"}, false, true},
		{"cron", "cron", host("cron", 5000, "/"), []string{"/cron"}, false, true},
		{"x509-identity-mgmt", "x509", "http://" + w.d.X509.Address + "/api", []string{"/x509"}, true, true},
		{"kafka-ws", "kafka-ws", kafkaWS, []string{"/kafka-ws"}, false, false},
	}
	var out []route
	for _, r := range all {
		if r.service == "x509" || w.cfg.Has(r.service) {
			out = append(out, r)
		}
	}
	return out
}

// Kong's admin API and the consumers gate. Kong 2.0 (dojot/kong v0.5.0
// builds FROM kong:2.0.4-alpine; its kong.conf sets admin_listen
// 0.0.0.0:8001, 0.0.0.0:8444 ssl) has no authentication on the admin API
// in its open-source edition. KONG_ADMIN_LISTEN (environment variables
// override kong.conf, kong.conf.default 2.0.4) keeps it on the pod's
// loopback; the routes sidecar configures it from there.
//
// dojot's auth still needs part of it: auth v0.5.0 (auth/kongUtils.py,
// AUTH_KONG_URL) creates a consumer and its JWT credential when a user is
// created (POST /consumers, POST /consumers/<user>/jwt), replaces the
// credential on a password reset (DELETE /consumers/<user>/jwt/<id>, then
// POST) and deletes the consumer with the user (DELETE /consumers/<user>).
// Nothing else: no GET, no services, routes or plugins. The gate is an
// nginx server inside Kong's own nginx (injected with
// KONG_NGINX_HTTP_INCLUDE: Kong 2.0.4 turns any nginx_http_<directive>
// setting, from kong.conf or a KONG_ variable, into that directive in the
// http block: kong.conf.default, conf_loader.lua DYNAMIC_KEY_NAMESPACES,
// templates/nginx_kong.lua) that listens on
// adminGatePort and passes exactly those four requests to the loopback
// admin API, refusing everything else with 403.
const (
	adminPort     = 8001
	adminGatePort = 8002
	// gateDir is where the gate's configuration is mounted in Kong's pod.
	gateDir = "/etc/kong/iotstack"
)

// adminGateConfig is the nginx server of the consumers gate. nginx
// matches locations on the normalized, decoded path, so dot segments and
// encoded slashes cannot reach another endpoint.
func adminGateConfig() string {
	upstream := fmt.Sprintf("http://127.0.0.1:%d", adminPort)
	return fmt.Sprintf(`# Consumers gate in front of Kong's loopback admin API (generated by iotstack):
# only what dojot's auth does with consumers and their JWT credentials.
server {
    server_name kong_consumers_gate;
    listen 0.0.0.0:%d;
    access_log /dev/stdout;
    client_max_body_size 16k;

    location = /consumers {
        limit_except POST { deny all; }
        proxy_pass %[2]s;
    }
    location ~ ^/consumers/[^/]+$ {
        limit_except DELETE { deny all; }
        proxy_pass %[2]s;
    }
    location ~ ^/consumers/[^/]+/jwt$ {
        limit_except POST { deny all; }
        proxy_pass %[2]s;
    }
    location ~ ^/consumers/[^/]+/jwt/[^/]+$ {
        limit_except DELETE { deny all; }
        proxy_pass %[2]s;
    }
    location / {
        return 403;
    }
}
`, adminGatePort, upstream)
}

// routesReady is the file the routes sidecar creates once every route is
// configured; its readiness probe waits for it.
const routesReady = "/tmp/routes-configured"

// routesScript configures Kong through its admin API on the pod's
// loopback, idempotently: services and routes are upserted (PUT), plugins
// added only when absent. It runs as a sidecar of Kong: when it is done it
// marks itself ready and waits; when it fails the container restarts and
// the script runs again.
func (w *wiring) routesScript() string {
	var b strings.Builder
	b.WriteString(`#!/bin/sh
# Configures dojot's API gateway routes from inside Kong's pod (generated by iotstack). Safe to run again.
set -eu
kong="http://127.0.0.1:` + fmt.Sprint(adminPort) + `"
rm -f ` + routesReady + `
until curl -fsS -o /dev/null "$kong"; do echo "waiting for Kong's admin API at $kong"; sleep 5; done
service() { curl -fsS -o /dev/null -X PUT "$kong/services/$1" --data "name=$1" --data "url=$2"; echo "service $1 -> $2"; }
route() { curl -fsS -o /dev/null -X PUT "$kong/services/$1/routes/$1_route" -H 'Content-Type: application/json' -d "{\"paths\": [$2], \"strip_path\": $3}"; }
plugin() {
  # $1 service, $2 plugin name, then its --data arguments
  svc="$1"; name="$2"; shift 2
  if curl -fsS "$kong/services/$svc/plugins" | grep -q "\"name\":\"$name\""; then return 0; fi
  curl -fsS -o /dev/null -X POST "$kong/services/$svc/plugins" --data "name=$name" "$@"
  echo "plugin $name on $svc"
}
`)
	for _, r := range w.routes() {
		var paths []string
		for _, p := range r.paths {
			paths = append(paths, `\"`+p+`\"`)
		}
		fmt.Fprintf(&b, "service %s %s\nroute %s \"%s\" %v\n", r.name, r.url, r.name, strings.Join(paths, ", "), r.strip)
		if r.protected {
			fmt.Fprintf(&b, "plugin %s pepkong --data config.pdpUrl=http://%s:5000/pdp\nplugin %s jwt\n", r.name, w.s.ServiceHost("auth"), r.name)
		}
		switch r.name {
		case "auth-service":
			b.WriteString("plugin auth-service rate-limiting --data config.minute=5 --data config.hour=40 --data config.policy=local\n")
		case "auth-revoke":
			b.WriteString("plugin auth-revoke request-termination --data config.status_code=403 --data \"config.message=Not authorized\"\n")
		case "kafka-ws":
			b.WriteString("curl -fsS -o /dev/null -X PATCH \"$kong/services/kafka-ws\" --data read_timeout=300000 --data write_timeout=300000 --data connect_timeout=300000\n")
		}
	}
	b.WriteString("echo \"routes configured\"\ntouch " + routesReady + "\nwhile :; do sleep 3600; done\n")
	return b.String()
}

// kongPasswordEncryption stores Kong's database password as md5. dojot/kong
// v0.5.0 is Kong 2.0.4, whose rockspec pins "pgmoon == 1.10.0" (Kong/kong
// kong-2.0.4-0.rockspec); pgmoon 1.10.0 answers only the cleartext (3) and
// MD5 (5) password requests and fails on any other ("don't know how to
// auth", leafo/pgmoon v1.10.0 pgmoon/init.moon, auth), so it cannot log in
// with a SCRAM verifier, the default of PostgreSQL 14+ and the
// password_encryption the postgres component sets. Spilo's pg_hba has
// "md5" lines, which ask an md5-stored user for MD5 (postgres.MD5). auth
// and device-manager keep SCRAM: they use psycopg2 2.7.4 (their
// requirements/requirements.txt at v0.5.0), which logs in through libpq,
// and libpq has SCRAM from PostgreSQL 10 on; which libpq their images link
// is not verified.
const kongPasswordEncryption = postgres.MD5

// kong is the API gateway: the proxy on NodePorts, its admin API on the
// pod's loopback with the consumers gate for auth, its database
// migrations, and the routes sidecar.
func (w *wiring) kong(c *stack.Component) ([]stack.Object, error) {
	db := w.dbs["kong"]
	pgVars := append(env("KONG_DATABASE", "postgres", "KONG_PG_HOST", w.pgHost, "KONG_PG_USER", db.User, "KONG_PG_DATABASE", db.Name),
		db.Password.EnvVar("KONG_PG_PASSWORD"))
	gate := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "kong-gate"}, Data: map[string]string{"consumers-gate.conf": adminGateConfig()}}
	script := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "kong-routes"}, Data: map[string]string{"routes.sh": w.routesScript()}}
	proxy := w.container("kong", w.image("kong"), 8000, "1", "256Mi", pgVars)
	proxy.Ports = []corev1.ContainerPort{{Name: "http", ContainerPort: 8000}, {Name: "consumers", ContainerPort: adminGatePort}}
	listen := "0.0.0.0:8000"
	if w.cfg.MutualTLS {
		proxy.Ports = append(proxy.Ports, corev1.ContainerPort{Name: "https", ContainerPort: 8443})
		listen += ", 0.0.0.0:8443 ssl"
	}
	proxy.Env = append(proxy.Env, env(
		"KONG_ADMIN_LISTEN", fmt.Sprintf("127.0.0.1:%d", adminPort),
		"KONG_PROXY_LISTEN", listen,
		"KONG_NGINX_HTTP_INCLUDE", gateDir+"/consumers-gate.conf")...)
	proxy.VolumeMounts = []corev1.VolumeMount{{Name: "gate", MountPath: gateDir, ReadOnly: true}}
	if w.cfg.MutualTLS {
		w.kongTLS(c, &proxy)
	}
	routes := corev1.Container{
		Name:           "routes",
		Image:          CurlImage,
		Command:        []string{"/bin/sh", "/scripts/routes.sh"},
		Resources:      w.cfg.resources("100m", "32Mi").Requirements(),
		ReadinessProbe: stack.ExecProbe(stack.ProbeTiming{PeriodSeconds: 10}, "test", "-f", routesReady),
		// Not configured after 15 minutes: restart and try again.
		LivenessProbe:   stack.ExecProbe(stack.ProbeTiming{InitialDelaySeconds: 600, PeriodSeconds: 30, FailureThreshold: 10}, "test", "-f", routesReady),
		SecurityContext: stack.RestrictedContainerSecurityContext(true),
		VolumeMounts:    []corev1.VolumeMount{{Name: "scripts", MountPath: "/scripts"}, {Name: "tmp", MountPath: "/tmp"}},
	}
	objs, err := w.deployment(c, "kong", 0, proxy, routes)
	if err != nil {
		return nil, err
	}
	deploy := objs[0].(*appsv1.Deployment)
	tpl := &deploy.Spec.Template
	tpl.Spec.Volumes = []corev1.Volume{sts.ScriptVolume("gate", gate.Name), sts.ScriptVolume("scripts", script.Name), sts.EmptyDir("tmp")}
	if w.cfg.MutualTLS {
		tpl.Spec.Volumes = append(tpl.Spec.Volumes, tlsVolume("certs", KongTLSSecret))
	}
	tpl.Annotations = map[string]string{sts.ChecksumAnnotation: sts.Checksum(gate, script)}
	sel := c.SelectorLabels()
	internal := sts.Client("kong", sel, []corev1.ServicePort{
		{Name: "http", Port: 8000, TargetPort: intstr.FromString("http")},
		{Name: "consumers", Port: adminGatePort, TargetPort: intstr.FromString("consumers")},
	})
	external := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "kong-external"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Selector: sel, Ports: []corev1.ServicePort{
			{Name: "http", Port: 8000, TargetPort: intstr.FromString("http"), NodePort: w.cfg.NodePorts.APIGatewayHTTP},
		}},
	}
	if w.cfg.MutualTLS {
		external.Spec.Ports = append(external.Spec.Ports, corev1.ServicePort{Name: "https", Port: 8443, TargetPort: intstr.FromString("https"), NodePort: w.cfg.NodePorts.APIGatewayHTTPS})
	}
	// Migrations run through a shell, so that "&&" chains them (v0.5.0
	// passed it as an argument, which kong received literally).
	migrate, err := sts.Job(w.s.Topology(), sts.JobSpec{
		Name: "kong-migrations-" + dashed(w.cfg.Version), Selector: c.SelectorFor("migrations"), Pool: w.cfg.Pools[GroupDojot],
		Security: stack.PodSecurity{UID: uid, GID: uid, FSGroup: uid},
		Container: corev1.Container{
			Name:            "migrations",
			Image:           w.image("kong"),
			Command:         []string{"/bin/sh", "-c", "kong migrations bootstrap && kong migrations up && kong migrations finish"},
			Env:             pgVars,
			Resources:       w.cfg.resources("500m", "256Mi").Requirements(),
			SecurityContext: stack.RestrictedContainerSecurityContext(false),
		},
		BackoffLimit: 10, DeadlineSeconds: 1800,
	})
	if err != nil {
		return nil, err
	}
	return append(objs, internal, external, gate, script, migrate), nil
}

func dashed(v string) string { return strings.ReplaceAll(strings.ToLower(v), ".", "-") }

// The Secrets holding the API gateway's and kafka-ws's TLS material, which
// the user provides (never generated, never rendered). ansible-dojot
// v0.5.0 read the same files from the volumes kong and kafka-ws (5Mi
// ReadOnlyMany PersistentVolumeClaims on local volumes at /mnt/data/kong
// and /mnt/data/kafka_ws, dojot_apigw_persistent_volumes and
// dojot_kafka_ws_persistent_volumes), which the operator filled by hand;
// certificates are Secrets here, so those two volumes are not rendered.
const (
	KongTLSSecret    = "kong-tls"
	KafkaWSTLSSecret = "kafka-ws-tls"
)

// kongTLSKeys are the files of Kong's mutual TLS (ansible-dojot v0.5.0
// roles/apigw/templates/apigw_deployment.yaml.j2 with
// dojot_apigw_enable_mutual_tls, all under /certs): the proxy's own key
// and certificate (KONG_SSL_CERT_KEY, KONG_SSL_CERT), the client
// certificate Kong presents to its upstreams and the CA it checks them
// with (KONG_NGINX_PROXY_PROXY_SSL_CERTIFICATE_KEY, _CERTIFICATE,
// _TRUSTED_CERTIFICATE, with PROXY_SSL_VERIFY on, depth 2).
var kongTLSKeys = []string{"ca.crt", "kong.crt", "kong.key", "kong-internal.crt", "kong-internal.key"}

// kongTLS declares kong-tls, mounts it at /certs and points Kong at it.
func (w *wiring) kongTLS(c *stack.Component, proxy *corev1.Container) {
	var keys []stack.SecretKey
	for _, k := range kongTLSKeys {
		keys = append(keys, stack.SecretKey{Key: k, Kind: stack.UserProvided})
	}
	c.DeclareSecret(KongTLSSecret, keys...)
	proxy.Env = append(proxy.Env, env(
		"KONG_SSL_CERT_KEY", "/certs/kong.key", "KONG_SSL_CERT", "/certs/kong.crt",
		"KONG_NGINX_PROXY_PROXY_SSL_CERTIFICATE_KEY", "/certs/kong-internal.key",
		"KONG_NGINX_PROXY_PROXY_SSL_CERTIFICATE", "/certs/kong-internal.crt",
		"KONG_NGINX_PROXY_PROXY_SSL_TRUSTED_CERTIFICATE", "/certs/ca.crt",
		"KONG_NGINX_PROXY_PROXY_SSL_VERIFY", "on", "KONG_NGINX_PROXY_PROXY_SSL_VERIFY_DEPTH", "2")...)
	proxy.VolumeMounts = append(proxy.VolumeMounts, corev1.VolumeMount{Name: "certs", MountPath: "/certs", ReadOnly: true})
}

// tlsVolume mounts a TLS Secret readable by the pod's group only (the
// pods run with fsGroup uid; ansible-dojot asked for owner-only files
// of Kong's user 100).
func tlsVolume(name, secret string) corev1.Volume {
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: secret, DefaultMode: ptr.To(int32(0o440))}}}
}
