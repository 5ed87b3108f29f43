package e2e

import (
	"context"
	"fmt"
	"io"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/iotstack/iotstack/components/thingsboard"
	"github.com/iotstack/iotstack/profiles"
	"github.com/iotstack/iotstack/stack"
)

// The TLS settings of the kind run.
const (
	// MQTTSSecret is the kubernetes.io/tls Secret e2e creates in
	// minimal-3az's namespace before applying, with a key pair from its
	// own CA, and renders as thingsboard.mqtts.secret.
	MQTTSSecret = "tb-mqtts-e2e"
	// MQTTSService is tb-mqtt-transport's Service, whose DNS name the
	// key pair names (the smoke check verifies it) beside localhost.
	MQTTSService = "tb-mqtt-transport"
	// DojotDomain is the domain the dojot profiles render for e2e: the
	// name VerneMQ asks x509-identity-mgmt to put in its certificate
	// (EXTERNAL_SERVER_HOSTNAME) and the MQTTS smoke check verifies while
	// dialling the port-forward's address.
	DojotDomain = profiles.DocumentationDomain
	// DojotTenant is the tenant of dojot's default administrator, whose
	// devices the smoke checks act as (dojot/auth v0.5.0
	// auth/initialConf.py: user admin, service admin).
	DojotTenant = "admin"
)

// Synth renders the profile as mage e2e applies it: the laptop options
// popts laid over the defaults, then the TLS settings the smoke checks
// verify (minimal-3az: MQTTS with the Secret MQTTSSecret; dojot: domain
// DojotDomain).
func Synth(profile string, popts profiles.Options) (*stack.Output, error) {
	return SynthAgents(profile, popts, "")
}

// SynthAgents is Synth with dojot's agents (DojotValues.Agents; "" keeps
// the profile's default, vernemq): profiles.Options has no agents field,
// so e2e sets the value itself, as it sets the domain.
func SynthAgents(profile string, popts profiles.Options, agents string) (*stack.Output, error) {
	p, err := profiles.Get(profile)
	if err != nil {
		return nil, err
	}
	v, err := p.ValuesFromOptions(popts)
	if err != nil {
		return nil, err
	}
	switch v := v.(type) {
	case *profiles.Minimal3AZValues:
		v.ThingsBoard.MQTTS = thingsboard.MQTTS{Secret: MQTTSSecret}
	case *profiles.DojotValues:
		v.Domain = DojotDomain
		if agents != "" {
			v.Agents = agents
		}
	}
	if agents != "" {
		if _, ok := v.(*profiles.DojotValues); !ok {
			return nil, fmt.Errorf("e2e: agents %q: profile %s has no dojot agents", agents, profile)
		}
	}
	b, err := p.BuildValues(v)
	if err != nil {
		return nil, err
	}
	return profiles.SynthBuilt(profile, b)
}

// MQTTSKeyPair creates a CA and the transport's key pair for the names
// of MQTTSService in namespace ns and localhost, as the Secret
// MQTTSSecret (type kubernetes.io/tls: tls.crt, tls.key, the keys the
// transport reads, components/thingsboard/mqtts.go).
func MQTTSKeyPair(ns string) (*CA, *corev1.Secret, error) {
	ca, err := NewCA("iotstack e2e CA")
	if err != nil {
		return nil, nil, err
	}
	pair, err := ca.Server(ServiceNames(MQTTSService, ns)...)
	if err != nil {
		return nil, nil, err
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: MQTTSSecret, Namespace: ns, Labels: map[string]string{"app.kubernetes.io/managed-by": "iotstack-e2e"}},
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{corev1.TLSCertKey: pair.CertPEM, corev1.TLSPrivateKeyKey: pair.KeyPEM},
	}
	return ca, secret, nil
}

// createMQTTSSecret creates the namespace (if missing) and the MQTTS
// Secret in it, before the stack is applied; it returns the CA the smoke
// check trusts. The key is logged nowhere.
func createMQTTSSecret(ctx context.Context, cfg *rest.Config, ns string, log io.Writer) (*CA, error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	ca, secret, err := MQTTSKeyPair(ns)
	if err != nil {
		return nil, err
	}
	_, err = cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{FieldManager: "iotstack-e2e"})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("create namespace %s: %w", ns, err)
	}
	if _, err := cs.CoreV1().Secrets(ns).Create(ctx, secret, metav1.CreateOptions{FieldManager: "iotstack-e2e"}); err != nil {
		return nil, fmt.Errorf("create Secret %s/%s: %w", ns, MQTTSSecret, err)
	}
	fmt.Fprintf(log, "created Secret %s/%s (kubernetes.io/tls) for %v\n", ns, MQTTSSecret, ServiceNames(MQTTSService, ns))
	return ca, nil
}
