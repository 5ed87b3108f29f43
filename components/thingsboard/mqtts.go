package thingsboard

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/ptr"

	"github.com/iotstack/iotstack/stack"
)

// MQTTS serves MQTT over TLS on tb-mqtt-transport's port 8883, with a key
// pair from a Secret the user provides (Secret) or one cert-manager issues
// (CertManager). Zero: no MQTTS, and port 8883 is exposed nowhere (not by
// the container, its Service, the load balancer or the NetworkPolicy).
type MQTTS struct {
	// Secret names a kubernetes.io/tls Secret in the namespace (keys
	// tls.crt, the certificate chain, and tls.key, an unencrypted PEM
	// key) that tb-mqtt-transport serves MQTTS with. Create it before
	// applying. The transport reads it once: after replacing the key
	// pair, restart tb-mqtt-transport.
	Secret string
	// CertManager has cert-manager (installed in the cluster, API
	// cert-manager.io/v1) issue the key pair into the Secret tb-mqtts-tls
	// instead; exclusive with Secret. The transport reads the key pair
	// once: restart tb-mqtt-transport after each renewal, before the old
	// certificate expires.
	CertManager *CertManager
}

// CertManager selects the cert-manager issuer of the MQTTS certificate.
type CertManager struct {
	// Issuer is the name of the Issuer (in the namespace) or
	// ClusterIssuer that signs the certificate.
	Issuer string
	// Kind is Issuer or ClusterIssuer; required in values documents (in
	// Go an empty Kind means Issuer).
	Kind IssuerKind
	// DNSNames are the names devices connect to (the MQTT load
	// balancer's DNS name or a CNAME of it); at least one.
	DNSNames []string
}

// IssuerKind is a cert-manager issuer kind.
type IssuerKind string

// The cert-manager issuer kinds.
const (
	Issuer        IssuerKind = "Issuer"
	ClusterIssuer IssuerKind = "ClusterIssuer"
)

// Enum lists the allowed issuer kinds (for values and the schema).
func (IssuerKind) Enum() []string { return []string{string(Issuer), string(ClusterIssuer)} }

// Enabled reports whether MQTTS is configured.
func (m MQTTS) Enabled() bool { return m.Secret != "" || m.CertManager != nil }

// certificateName is the cert-manager Certificate; certManagerSecret the
// Secret it issues into.
const (
	certificateName   = "tb-mqtts"
	certManagerSecret = "tb-mqtts-tls"
)

// mqttsMount is where the transport reads the key pair: the directory
// thingsboard-ce-k8s mounts its MQTTS key pair at (aws/microservices/
// transports/tb-mqtt-transport.yml, 4.3.1: mountPath /ssl-config).
const mqttsMount = "/ssl-config"

// secretName is the Secret the transport mounts.
func (m MQTTS) secretName() string {
	if m.CertManager != nil {
		return certManagerSecret
	}
	return m.Secret
}

// defaults fills the issuer kind on a copy, leaving the caller's
// CertManager as it was given.
func (m *MQTTS) defaults() {
	if m.CertManager != nil && m.CertManager.Kind == "" {
		cm := *m.CertManager
		cm.Kind = Issuer
		m.CertManager = &cm
	}
}

// validate checks a defaulted MQTTS; errors name the values path.
func (m MQTTS) validate() error {
	if m.Secret != "" && m.CertManager != nil {
		return fmt.Errorf("thingsboard: mqtts: secret %q and certManager are exclusive; set one", m.Secret)
	}
	if m.Secret != "" {
		if errs := validation.IsDNS1123Subdomain(m.Secret); len(errs) > 0 {
			return fmt.Errorf("thingsboard: mqtts.secret %q is not a Secret name (%s)", m.Secret, strings.Join(errs, "; "))
		}
	}
	cm := m.CertManager
	if cm == nil {
		return nil
	}
	if errs := validation.IsDNS1123Subdomain(cm.Issuer); len(errs) > 0 {
		return fmt.Errorf("thingsboard: mqtts.certManager.issuer %q; the name of a cert-manager Issuer or ClusterIssuer (%s)", cm.Issuer, strings.Join(errs, "; "))
	}
	if cm.Kind != Issuer && cm.Kind != ClusterIssuer {
		return fmt.Errorf("thingsboard: mqtts.certManager.kind %q; allowed %q, %q", cm.Kind, Issuer, ClusterIssuer)
	}
	if len(cm.DNSNames) == 0 {
		return fmt.Errorf("thingsboard: mqtts.certManager.dnsNames is empty; give the name(s) devices connect to")
	}
	for i, n := range cm.DNSNames {
		if errs := validation.IsDNS1123Subdomain(strings.TrimPrefix(n, "*.")); len(errs) > 0 {
			return fmt.Errorf("thingsboard: mqtts.certManager.dnsNames[%d] %q is not a DNS name (%s)", i, n, strings.Join(errs, "; "))
		}
	}
	return nil
}

// mqttsEnv turns MQTTS on in tb-mqtt-transport with the mounted PEM key
// pair. Names and defaults: transport/mqtt/src/main/resources/
// tb-mqtt-transport.yml (thingsboard/thingsboard v4.3.1), transport.mqtt.ssl:
// enabled MQTT_SSL_ENABLED (false), bind_port MQTT_SSL_BIND_PORT (8883),
// credentials.type MQTT_SSL_CREDENTIALS_TYPE (PEM), credentials.pem.cert_file
// MQTT_SSL_PEM_CERT, credentials.pem.key_file MQTT_SSL_PEM_KEY. The PEM
// loader (common/transport/transport-api/.../ssl/PemSslCredentials.java)
// reads an unencrypted PKCS#1 or PKCS#8 key, the forms a kubernetes.io/tls
// Secret and cert-manager hold, and the certificates of the chain in
// tls.crt; MQTT_SSL_PEM_KEY_PASSWORD is used only for an encrypted key.
func mqttsEnv() []corev1.EnvVar {
	return []corev1.EnvVar{
		{Name: "MQTT_SSL_ENABLED", Value: "true"},
		{Name: "MQTT_SSL_BIND_PORT", Value: "8883"},
		{Name: "MQTT_SSL_CREDENTIALS_TYPE", Value: "PEM"},
		{Name: "MQTT_SSL_PEM_CERT", Value: mqttsMount + "/" + corev1.TLSCertKey},
		{Name: "MQTT_SSL_PEM_KEY", Value: mqttsMount + "/" + corev1.TLSPrivateKeyKey},
	}
}

// withMQTTS adds the key pair and the MQTTS port to tb-mqtt-transport's
// pod; without MQTTS it leaves the pod without port 8883.
func withMQTTS(m MQTTS, c *corev1.Container, volumes *[]corev1.Volume) {
	if !m.Enabled() {
		return
	}
	c.Ports = append(c.Ports, tcp("mqtts", 8883))
	c.Env = append(c.Env, mqttsEnv()...)
	c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: "mqtts", MountPath: mqttsMount, ReadOnly: true})
	// 0440: the files belong to the pod's fsGroup (the thingsboard
	// group), which the transport runs in.
	*volumes = append(*volumes, corev1.Volume{Name: "mqtts", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
		SecretName: m.secretName(), DefaultMode: ptr.To(int32(0o440))}}})
}

// certManagerGroup is cert-manager's API group.
const certManagerGroup = "cert-manager.io"

// mqttsObjects declares what MQTTS uses outside the stack and, with
// cert-manager, the Certificate (cert-manager.io/v1: spec.secretName,
// spec.dnsNames, spec.issuerRef {name, kind, group}; the key pair is
// written to the Secret as tls.crt and tls.key).
func mqttsObjects(s *stack.Stack, m MQTTS) []stack.Object {
	if m.Secret != "" {
		s.External("Secret", m.Secret, "kubernetes.io/tls key pair (tls.crt, tls.key) tb-mqtt-transport serves MQTTS with, provided by the user")
		return nil
	}
	cm := m.CertManager
	if cm == nil {
		return nil
	}
	s.External("CustomResourceDefinition", "certificates."+certManagerGroup, "cert-manager, installed in the cluster, issues the MQTTS certificate")
	if cm.Kind == ClusterIssuer {
		s.ClusterScoped(schema.GroupKind{Group: certManagerGroup, Kind: string(ClusterIssuer)})
	}
	s.External(string(cm.Kind), cm.Issuer, "cert-manager issuer of the MQTTS certificate")
	s.External("Secret", certManagerSecret, "MQTTS key pair, written by cert-manager from Certificate "+certificateName)
	names := make([]any, len(cm.DNSNames))
	for i, n := range cm.DNSNames {
		names[i] = n
	}
	cert := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": certManagerGroup + "/v1",
		"kind":       "Certificate",
		"metadata":   map[string]any{"name": certificateName},
		"spec": map[string]any{
			"secretName": certManagerSecret,
			"dnsNames":   names,
			"issuerRef":  map[string]any{"name": cm.Issuer, "kind": string(cm.Kind), "group": certManagerGroup},
			"usages":     []any{"server auth", "digital signature", "key encipherment"},
		},
	}}
	return []stack.Object{cert}
}

// mqttsAlerts are the MQTTS certificate's alert rules, with cert-manager
// only: certmanager_certificate_expiration_timestamp_seconds{name,
// namespace, issuer_name, issuer_kind, issuer_group} is cert-manager's
// certificate collector (cert-manager v1.21.1,
// internal/collectors/certificate_collector.go), served by its controller
// (renewal 2/3 through the lifetime unless renewBefore is set:
// pkg/util/pki/renewaltime.go; default duration 90 days:
// pkg/apis/certmanager/v1/const.go DefaultCertificateDuration)
// in cert-manager's namespace. The bundled Prometheus does not scrape that
// namespace, so the rule fires only where cert-manager's metrics are
// scraped (the Prometheus Operator option with cert-manager's own
// ServiceMonitor, say). A job that does not honor labels moves the
// Certificate's namespace to exported_namespace: both are matched. With a
// key pair from a Secret (mqtts.secret) nothing here exposes its expiry:
// no rule, and the README says to watch it outside.
func mqttsAlerts(c *stack.Component, m MQTTS) []stack.AlertRule {
	if m.CertManager == nil {
		return nil
	}
	metric := "certmanager_certificate_expiration_timestamp_seconds"
	sel := fmt.Sprintf(`name=%q`, certificateName)
	expr := fmt.Sprintf(`(%[1]s{%[2]s,namespace=%[3]q} or %[1]s{%[2]s,exported_namespace=%[3]q}) - time() < 14 * 86400`, metric, sel, c.Namespace())
	return []stack.AlertRule{{
		Alert:    "MQTTSCertificateExpiresSoon",
		Expr:     expr,
		For:      1 * time.Hour,
		Why:      "cert-manager renews a certificate when a third of its life is left (30 days of a 90-day one), so under 14 days means renewal has failed for two weeks; an hour lets a renewal in flight finish, and neither a rolling restart nor the zone drill changes the certificate",
		Severity: stack.SeverityWarning,
		Summary:  "The MQTTS certificate " + certificateName + " expires in {{ $value | humanizeDuration }}",
		Runbook:  "kubectl describe certificate " + certificateName + " and its CertificateRequests, Orders and Challenges; fix the issuer; after the renewal restart tb-mqtt-transport, which reads the key pair once",
	}}
}
