package thingsboard

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/iotstack/iotstack/stack"
	"github.com/iotstack/iotstack/stack/stacktest"
)

func findDeployment(t *testing.T, objs []any, svc Service) *appsv1.Deployment {
	t.Helper()
	for _, o := range objs {
		if d, ok := o.(*appsv1.Deployment); ok && d.Name == string(svc) {
			return d
		}
	}
	t.Fatalf("no Deployment %s", svc)
	return nil
}

func objectsOf(t *testing.T, cfg Config) []any {
	t.Helper()
	_, _, out := build(t, cfg)
	return anyObjects(out.Objects)
}

func anyObjects(rendered []stack.Rendered) []any {
	var objs []any
	for _, o := range rendered {
		objs = append(objs, o.Object)
	}
	return objs
}

func envOf(c corev1.Container) map[string]corev1.EnvVar {
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
	}
	return env
}

// TestJSExecutorQueueSettings: tb-js-executor gets the cluster's queue
// settings under the names its config reads
// (msa/js-executor/config/custom-environment-variables.yml, v4.3.1), so
// js_eval.requests is created with the cluster's replication factor and
// the ThingsBoard article's partitions whichever service starts first.
func TestJSExecutorQueueSettings(t *testing.T) {
	objs := objectsOf(t, Config{Pool: "main", QueueReplicationFactor: 3})
	var settings map[string]string
	for _, o := range objs {
		if cm, ok := o.(*corev1.ConfigMap); ok && cm.Name == clusterConfig {
			settings = cm.Data
		}
	}
	env := envOf(findDeployment(t, objs, JSExecutor).Spec.Template.Spec.Containers[0])
	for name, want := range map[string]string{
		"TB_QUEUE_TYPE":                      "kafka",
		"TB_QUEUE_KAFKA_REPLICATION_FACTOR":  "3",
		"TB_KAFKA_SERVERS":                   settings["TB_KAFKA_SERVERS"],
		"TB_QUEUE_KAFKA_JE_TOPIC_PROPERTIES": settings["TB_QUEUE_KAFKA_JE_TOPIC_PROPERTIES"],
		"TB_KAFKA_ACKS":                      settings["TB_KAFKA_ACKS"],
		"TB_QUEUE_KAFKA_COMPRESSION":         "gzip",
		"TB_KAFKA_BATCH_SIZE":                "250",
		"TB_KAFKA_LINGER_MS":                 "10",
		"SCRIPT_USE_SANDBOX":                 "true",
		"REMOTE_JS_EVAL_REQUEST_TOPIC":       "js_eval.requests",
	} {
		if got := env[name].Value; got != want || want == "" {
			t.Errorf("tb-js-executor %s = %q; want %q", name, got, want)
		}
	}
	if settings["TB_QUEUE_KAFKA_REPLICATION_FACTOR"] != "3" {
		t.Errorf("cluster replication factor %q; want 3", settings["TB_QUEUE_KAFKA_REPLICATION_FACTOR"])
	}
	if !strings.Contains(env["TB_QUEUE_KAFKA_JE_TOPIC_PROPERTIES"].Value, "partitions:12") {
		t.Errorf("js_eval.requests partitions: %q", env["TB_QUEUE_KAFKA_JE_TOPIC_PROPERTIES"].Value)
	}
}

// TestJVMOptionsReachEveryJVMService: each JVM service's start script
// sources /config/${pkg.name}.conf; the rendered ConfigMap mounted at
// /config holds that file, and sourcing it the way the script does puts
// the G1 and ExitOnOutOfMemoryError flags into JAVA_OPTS.
func TestJVMOptionsReachEveryJVMService(t *testing.T) {
	// Upstream: thingsboard/thingsboard v4.3.1, the start script (which
	// sources "${CONF_FOLDER}/${configfile}", CONF_FOLDER=/config,
	// configfile=${pkg.name}.conf) and pkg.name from the image's pom.xml.
	table := []struct {
		svc    Service
		script string // upstream start script
		file   string // ${pkg.name}.conf
	}{
		{Core, "msa/tb-node/docker/start-tb-node.sh", "thingsboard.conf"},
		{RuleEngine, "msa/tb-node/docker/start-tb-node.sh", "thingsboard.conf"},
		{MQTTTransport, "msa/transport/mqtt/docker/start-tb-mqtt-transport.sh", "tb-mqtt-transport.conf"},
		{HTTPTransport, "msa/transport/http/docker/start-tb-http-transport.sh", "tb-http-transport.conf"},
		{CoAPTransport, "msa/transport/coap/docker/start-tb-coap-transport.sh", "tb-coap-transport.conf"},
		{LwM2MTransport, "msa/transport/lwm2m/docker/start-tb-lwm2m-transport.sh", "tb-lwm2m-transport.conf"},
		{SNMPTransport, "msa/transport/snmp/docker/start-tb-snmp-transport.sh", "tb-snmp-transport.conf"},
		{VCExecutor, "msa/vc-executor-docker/docker/start-tb-vc-executor.sh", "tb-vc-executor.conf"},
	}
	cfg := Config{Pool: "main", Services: map[Service]ServiceConfig{
		CoAPTransport: {Enabled: true}, LwM2MTransport: {Enabled: true}, SNMPTransport: {Enabled: true}}}
	objs := objectsOf(t, cfg)
	var data map[string]string
	for _, o := range objs {
		if cm, ok := o.(*corev1.ConfigMap); ok && cm.Name == nodeConfig {
			data = cm.Data
		}
	}
	dir := t.TempDir()
	for k, v := range data {
		writeFile(t, filepath.Join(dir, k), v)
	}
	jvm := 0
	for _, svc := range Services {
		if specs[svc].jvm {
			jvm++
		}
	}
	if jvm != len(table) {
		t.Fatalf("%d JVM services, %d in the table", jvm, len(table))
	}
	for _, tc := range table {
		t.Run(string(tc.svc), func(t *testing.T) {
			pod := findDeployment(t, objs, tc.svc).Spec.Template.Spec
			mounted := false
			for _, m := range pod.Containers[0].VolumeMounts {
				for _, v := range pod.Volumes {
					if v.Name == m.Name && m.MountPath == "/config" && v.ConfigMap != nil && v.ConfigMap.Name == nodeConfig && len(v.ConfigMap.Items) == 0 {
						mounted = true
					}
				}
			}
			if !mounted {
				t.Fatalf("%s does not mount %s at /config", tc.svc, nodeConfig)
			}
			if _, ok := data[tc.file]; !ok {
				t.Fatalf("%s sources /config/%s (%s); %s has %v", tc.svc, tc.file, tc.script, nodeConfig, confFiles(data))
			}
			// Source it as the start script does, with the heap the
			// container sets, and read JAVA_OPTS back.
			script := `set -e; JAVA_OPTS="$HEAP"; CONF_FOLDER="` + dir + `"; configfile=` + tc.file + `
source "${CONF_FOLDER}/${configfile}"
printf '%s\n%s' "$JAVA_OPTS" "$LOADER_PATH" > "` + dir + `/out-` + string(tc.svc) + `"`
			if err := runBash(t, script, "HEAP=-Xmx100m", "PATH="+os.Getenv("PATH")); err != nil {
				t.Fatalf("sourcing %s: %v", tc.file, err)
			}
			got, err := os.ReadFile(filepath.Join(dir, "out-"+string(tc.svc)))
			if err != nil {
				t.Fatal(err)
			}
			for _, flag := range []string{"-Xmx100m ", "-XX:+UseG1GC", "-XX:+ExitOnOutOfMemoryError", "-XX:+HeapDumpOnOutOfMemoryError"} {
				if !strings.Contains(string(got), flag) {
					t.Errorf("%s: JAVA_OPTS after sourcing %s lacks %s: %s", tc.svc, tc.file, flag, got)
				}
			}
			if pkg := strings.TrimSuffix(tc.file, ".conf"); !strings.Contains(string(got), "/usr/share/"+pkg+"/conf") {
				t.Errorf("%s: LOADER_PATH is not the package's conf folder: %s", tc.svc, got)
			}
		})
	}
}

// TestExposure: the NLB is internet-facing and owned by the AWS Load
// Balancer Controller; each ALB backend has its own health check; without
// MQTTS no port 8883 is exposed anywhere.
func TestExposure(t *testing.T) {
	for _, exp := range []Exposure{AWS, Generic} {
		_, _, out := build(t, Config{Pool: "main", Exposure: exp})
		services := map[string]*corev1.Service{}
		var ing *networkingv1.Ingress
		for _, o := range out.Objects {
			switch x := o.Object.(type) {
			case *corev1.Service:
				services[x.Name] = x
			case *networkingv1.Ingress:
				ing = x
			}
		}
		lb := services["tb-mqtt-loadbalancer"]
		if exp == AWS {
			for k, v := range map[string]string{
				"service.beta.kubernetes.io/aws-load-balancer-scheme":          "internet-facing",
				"service.beta.kubernetes.io/aws-load-balancer-type":            "external",
				"service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
			} {
				if lb.Annotations[k] != v {
					t.Errorf("NLB %s = %q; want %q", k, lb.Annotations[k], v)
				}
			}
			if _, ok := ing.Annotations["alb.ingress.kubernetes.io/healthcheck-path"]; ok {
				t.Errorf("the Ingress sets one health check path for every backend")
			}
		} else if len(lb.Annotations) != 0 {
			t.Errorf("generic load balancer has annotations %v", lb.Annotations)
		}
		backends := map[string]bool{}
		for _, p := range ing.Spec.Rules[0].HTTP.Paths {
			backends[p.Backend.Service.Name] = true
		}
		for name := range backends {
			got := services[name].Annotations["alb.ingress.kubernetes.io/healthcheck-path"]
			want := ""
			if exp == AWS {
				want = albHealthChecks[Service(name)]
			}
			if got != want || (exp == AWS && want == "") {
				t.Errorf("%s: backend %s health check %q; want %q", exp, name, got, want)
			}
		}
	}
}

// TestMQTTSPortOnlyWhenServed: 8883 appears in the container, its Service,
// the load balancer and the NetworkPolicy exactly when MQTTS is on.
func TestMQTTSPortOnlyWhenServed(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    MQTTS
	}{
		{"off", MQTTS{}},
		{"secret", MQTTS{Secret: "mqtt-tls"}},
		{"cert-manager", MQTTS{CertManager: &CertManager{Issuer: "letsencrypt", Kind: ClusterIssuer, DNSNames: []string{"mqtt.example.com"}}}},
	} {
		for _, exp := range []Exposure{AWS, Generic} {
			_, _, out := build(t, Config{Pool: "main", Exposure: exp, MQTTS: tc.m})
			on := tc.m.Enabled()
			exposed := map[string]bool{}
			var cert *unstructured.Unstructured
			for _, o := range out.Objects {
				switch x := o.Object.(type) {
				case *corev1.Service:
					for _, p := range x.Spec.Ports {
						if p.Port == 8883 {
							exposed["Service "+x.Name] = true
						}
					}
				case *appsv1.Deployment:
					for _, p := range x.Spec.Template.Spec.Containers[0].Ports {
						if p.ContainerPort == 8883 {
							exposed["container "+x.Name] = true
						}
					}
				case *networkingv1.NetworkPolicy:
					for _, r := range x.Spec.Ingress {
						for _, p := range r.Ports {
							if p.Port != nil && p.Port.IntValue() == 8883 {
								exposed["NetworkPolicy "+x.Name] = true
							}
						}
					}
				case *unstructured.Unstructured:
					if x.GetKind() == "Certificate" {
						cert = x
					}
				}
			}
			for _, where := range []string{"Service tb-mqtt-loadbalancer", "Service tb-mqtt-transport", "container tb-mqtt-transport", "NetworkPolicy tb-mqtt-transport"} {
				if exposed[where] != on {
					t.Errorf("%s/%s: port 8883 in %s = %v; want %v (all: %v)", tc.name, exp, where, exposed[where], on, exposed)
				}
			}
			if len(exposed) > 4 {
				t.Errorf("%s/%s: 8883 also in %v", tc.name, exp, exposed)
			}
			d := findDeployment(t, anyObjects(out.Objects), MQTTTransport)
			pod := d.Spec.Template.Spec
			env := envOf(pod.Containers[0])
			if (env["MQTT_SSL_ENABLED"].Value == "true") != on {
				t.Errorf("%s: MQTT_SSL_ENABLED %q", tc.name, env["MQTT_SSL_ENABLED"].Value)
			}
			if !on {
				if cert != nil {
					t.Errorf("%s: a Certificate without MQTTS", tc.name)
				}
				continue
			}
			if env["MQTT_SSL_CREDENTIALS_TYPE"].Value != "PEM" || env["MQTT_SSL_PEM_CERT"].Value != "/ssl-config/tls.crt" || env["MQTT_SSL_PEM_KEY"].Value != "/ssl-config/tls.key" {
				t.Errorf("%s: MQTT SSL env %v", tc.name, env)
			}
			secret := ""
			for _, v := range pod.Volumes {
				if v.Secret != nil {
					secret = v.Secret.SecretName
				}
			}
			want := tc.m.Secret
			if tc.m.CertManager != nil {
				want = certManagerSecret
				if cert == nil {
					t.Fatalf("%s: no Certificate", tc.name)
				}
				ref, _, _ := unstructured.NestedStringMap(cert.Object, "spec", "issuerRef")
				sn, _, _ := unstructured.NestedString(cert.Object, "spec", "secretName")
				names, _, _ := unstructured.NestedStringSlice(cert.Object, "spec", "dnsNames")
				if ref["name"] != "letsencrypt" || ref["kind"] != "ClusterIssuer" || ref["group"] != "cert-manager.io" || sn != want || strings.Join(names, ",") != "mqtt.example.com" || cert.GetAPIVersion() != "cert-manager.io/v1" {
					t.Errorf("Certificate %v", cert.Object)
				}
			} else if cert != nil {
				t.Errorf("%s: a Certificate with a user Secret", tc.name)
			}
			if secret != want {
				t.Errorf("%s: mounts Secret %q; want %q", tc.name, secret, want)
			}
		}
	}
}

// TestMQTTSValidation: bad MQTTS settings are refused with the field, the
// value and what is allowed.
func TestMQTTSValidation(t *testing.T) {
	cm := func(issuer string, kind IssuerKind, names ...string) MQTTS {
		return MQTTS{CertManager: &CertManager{Issuer: issuer, Kind: kind, DNSNames: names}}
	}
	for _, tc := range []struct {
		m    MQTTS
		want string
	}{
		{MQTTS{Secret: "Bad_Name"}, `thingsboard: mqtts.secret "Bad_Name" is not a Secret name`},
		{MQTTS{Secret: "a", CertManager: &CertManager{Issuer: "x", DNSNames: []string{"a.example.com"}}}, `mqtts: secret "a" and certManager are exclusive`},
		{cm("", Issuer, "a.example.com"), `mqtts.certManager.issuer ""`},
		{cm("x", "Cluster", "a.example.com"), `mqtts.certManager.kind "Cluster"; allowed "Issuer", "ClusterIssuer"`},
		{cm("x", Issuer), "mqtts.certManager.dnsNames is empty"},
		{cm("x", Issuer, "a.example.com", "not a name"), `mqtts.certManager.dnsNames[1] "not a name" is not a DNS name`},
	} {
		s := stacktest.NewStack(t, stacktest.ThreeZones())
		d := dataTier(t, s)
		before := len(s.Components())
		if _, err := New(s, d, Config{Pool: "main", MQTTS: tc.m}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v; want %q", err, tc.want)
		}
		if len(s.Components()) != before {
			t.Errorf("%+v: a rejected Config added components", tc.m)
		}
	}
	// An empty kind means Issuer, without changing the caller's value.
	given := &CertManager{Issuer: "x", DNSNames: []string{"*.example.com"}}
	objs := objectsOf(t, Config{Pool: "main", MQTTS: MQTTS{CertManager: given}})
	for _, o := range objs {
		if u, ok := o.(*unstructured.Unstructured); ok && u.GetKind() == "Certificate" {
			if kind, _, _ := unstructured.NestedString(u.Object, "spec", "issuerRef", "kind"); kind != "Issuer" {
				t.Errorf("issuerRef.kind %q; want Issuer", kind)
			}
		}
	}
	if given.Kind != "" {
		t.Errorf("New changed the caller's CertManager.Kind to %q", given.Kind)
	}
}

func FuzzMQTTS(f *testing.F) {
	f.Add("", "", "", "")
	f.Add("mqtt-tls", "", "", "")
	f.Add("", "letsencrypt", "ClusterIssuer", "mqtt.example.com")
	f.Add("x", "Bad Issuer", "Other", "*.")
	f.Fuzz(func(t *testing.T, secret, issuer, kind, name string) {
		m := MQTTS{Secret: secret}
		if issuer != "" || kind != "" || name != "" {
			m.CertManager = &CertManager{Issuer: issuer, Kind: IssuerKind(kind), DNSNames: []string{name}}
		}
		stacktest.AcceptedSynthesizes(t, func(s *stack.Stack) error {
			_, err := New(s, dataTier(t, s), Config{Pool: "main", MQTTS: m})
			return err
		})
	})
}
