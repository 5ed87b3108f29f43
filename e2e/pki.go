package e2e

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"time"
)

// CA is a throw-away certificate authority for mage e2e: it signs the
// key pair tb-mqtt-transport serves MQTTS with (and, in tests, the
// brokers' and clients' certificates). Its key never leaves the process.
type CA struct {
	// Cert is the CA's self-signed certificate.
	Cert *x509.Certificate
	// PEM is Cert PEM-encoded, what a client trusts.
	PEM []byte
	key crypto.Signer
}

// certLifetime bounds every certificate e2e issues: a run takes well
// under a day.
const certLifetime = 24 * time.Hour

// NewCA creates a CA with an ECDSA P-256 key named cn.
func NewCA(cn string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := serialNumber()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"iotstack e2e"}},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(certLifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, PEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), key: key}, nil
}

// KeyPair is a PEM certificate (chain) and its unencrypted PEM key, the
// tls.crt and tls.key of a kubernetes.io/tls Secret.
type KeyPair struct {
	CertPEM, KeyPEM []byte
}

// TLS returns the key pair for a tls.Config.
func (k KeyPair) TLS() (tls.Certificate, error) { return tls.X509KeyPair(k.CertPEM, k.KeyPEM) }

// Server issues a server certificate for the names (DNS names, or IP
// addresses written as such) with a new ECDSA P-256 key; CN is the first
// name.
func (ca *CA) Server(names ...string) (KeyPair, error) {
	if len(names) == 0 {
		return KeyPair{}, errors.New("server certificate: no name given")
	}
	tmpl := &x509.Certificate{Subject: pkix.Name{CommonName: names[0]}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	return ca.issue(tmpl)
}

// Client issues a client certificate with subject CN cn (a dojot device
// certificate's CN is <tenant>:<device>, which VerneMQ takes as the user
// name).
func (ca *CA) Client(cn string) (KeyPair, error) {
	return ca.issue(&x509.Certificate{Subject: pkix.Name{CommonName: cn}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
}

func (ca *CA) issue(tmpl *x509.Certificate) (KeyPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return KeyPair{}, err
	}
	serial, err := serialNumber()
	if err != nil {
		return KeyPair{}, err
	}
	now := time.Now()
	tmpl.SerialNumber = serial
	tmpl.NotBefore, tmpl.NotAfter = now.Add(-time.Minute), now.Add(certLifetime)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.key)
	if err != nil {
		return KeyPair{}, err
	}
	keyPEM, err := ecKeyPEM(key)
	if err != nil {
		return KeyPair{}, err
	}
	return KeyPair{CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), KeyPEM: keyPEM}, nil
}

// ecKeyPEM encodes key as PKCS#8 ("PRIVATE KEY"), a form ThingsBoard's PEM
// loader reads (see components/thingsboard/mqtts.go, mqttsEnv).
func ecKeyPEM(key *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

func serialNumber() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
}

// NewCSR creates an ECDSA P-256 key and a PKCS#10 request whose subject
// is only CN=cn: what x509-identity-mgmt v0.5.0 accepts by default
// (dojot/dojot v0.5.0 x509-identity-mgmt/js/src/config.js: allowed and
// mandatory subject attributes [CN], CN matching /^[0-9A-Za-z ]{1,255}$/;
// js/src/core/pki-utils.js checkPublicKey: RSA of 2048 bits or more, or
// ECDSA on P-256, P-384 or P-521).
func NewCSR(cn string) (csrPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}}, key)
	if err != nil {
		return nil, nil, err
	}
	keyPEM, err = ecKeyPEM(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), keyPEM, nil
}

// ClientTLS is the TLS configuration of an MQTTS client that trusts only
// the CAs in caPEM, checks that the server's certificate names
// serverName (whatever address it dials) and, when client is not nil,
// presents that certificate.
func ClientTLS(caPEM []byte, serverName string, client *tls.Certificate) (*tls.Config, error) {
	if serverName == "" {
		return nil, errors.New("tls: no server name to verify the broker's certificate against")
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("tls: no PEM certificate in the CA bundle (%d bytes)", len(caPEM))
	}
	cfg := &tls.Config{RootCAs: pool, ServerName: serverName, MinVersion: tls.VersionTLS12}
	if client != nil {
		cfg.Certificates = []tls.Certificate{*client}
	}
	return cfg, nil
}

// ServiceNames are the names a Service is reached by inside the cluster
// (name, name.ns, name.ns.svc, name.ns.svc.cluster.local) and localhost,
// the port-forward's.
func ServiceNames(service, ns string) []string {
	return []string{service + "." + ns + ".svc.cluster.local", service + "." + ns + ".svc", service + "." + ns, service, "localhost"}
}
