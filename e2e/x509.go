package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// DojotAPI is a client of dojot's API gateway (Kong's proxy, port 8000):
// auth's login and x509-identity-mgmt's certificate API, the way a user
// enrols a device.
//
// Routes, from iotstack's Kong configuration (components/dojot/kong.go,
// after ansible-dojot v0.5.0): /auth → auth:5000 and /x509 →
// x509-identity-mgmt:3000/api, both with strip_path, /x509 behind Kong's
// jwt and dojot's pepkong plugins. The sources cited below are the
// v0.5.0 tags; 100k runs v0.5.0-alpha.4, whose x509-identity-mgmt js/src
// and js/schemas and whose auth webRoutes.py, AuthenticationController.py
// and initialConf.py are identical to v0.5.0's (git diff between the tags
// of dojot/dojot and dojot/auth).
type DojotAPI struct {
	// Base is the gateway's base URL ("http://127.0.0.1:18000").
	Base string
	// HTTP is the HTTP client; nil means one with a 30 s timeout (EJBCA
	// signs synchronously).
	HTTP *http.Client
	jwt  string
}

func (d *DojotAPI) http() *http.Client {
	if d.HTTP != nil {
		return d.HTTP
	}
	return &http.Client{Timeout: 30 * time.Second}
}

// call sends a JSON request and decodes the JSON answer into out; a
// status other than want is an error carrying the body.
func (d *DojotAPI) call(ctx context.Context, method, path string, want int, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(d.Base, "/")+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if d.jwt != "" {
		req.Header.Set("Authorization", "Bearer "+d.jwt)
	}
	resp, err := d.http().Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != want {
		return &statusError{method: method, path: path, status: resp.Status, code: resp.StatusCode, want: want, body: strings.TrimSpace(string(b))}
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	return nil
}

// statusError is an answer with a status other than the one wanted.
type statusError struct {
	method, path, status string
	code, want           int
	body                 string
}

func (e *statusError) Error() string {
	return fmt.Sprintf("%s %s: %s (want %d): %s", e.method, e.path, e.status, e.want, e.body)
}

// Login authenticates with dojot's auth and keeps the JWT: POST /auth
// {"username", "passwd"} answers 200 {"jwt"} (dojot/auth v0.5.0
// auth/webRoutes.py authenticate, auth/controller/
// AuthenticationController.py authenticate: the token's claims carry
// the user's tenant as "service", which x509-identity-mgmt reads).
func (d *DojotAPI) Login(ctx context.Context, user, password string) error {
	var resp struct {
		JWT string `json:"jwt"`
	}
	if err := d.call(ctx, http.MethodPost, "/auth", http.StatusOK, map[string]string{"username": user, "passwd": password}, &resp); err != nil {
		return fmt.Errorf("dojot login as %s: %w", user, err)
	}
	if resp.JWT == "" {
		return fmt.Errorf("dojot login as %s: no jwt in the answer", user)
	}
	d.jwt = resp.JWT
	return nil
}

// CA fetches the root CA certificate devices and brokers are issued
// under: GET /x509/v1/ca answers 200 {"certificateFingerprint", "caPem"}
// (dojot/dojot v0.5.0 x509-identity-mgmt/js/src/routes/
// trusted-cas-router.js GET /ca, services/trusted-cas-service.js
// getRootCertificate; the brokers fetch the same certificate from the
// internal /internal/api/v1/throw-away/ca, routes/throw-away.js, in
// connector/mqtt/vernemq/broker/bin/vmq_dojot/scripts_tls/
// retrieveCACertificate.sh). It returns the PEM, checked to be a CA
// certificate.
func (d *DojotAPI) CA(ctx context.Context) ([]byte, error) {
	var resp struct {
		Fingerprint string `json:"certificateFingerprint"`
		CAPEM       string `json:"caPem"`
	}
	if err := d.call(ctx, http.MethodGet, "/x509/v1/ca", http.StatusOK, nil, &resp); err != nil {
		return nil, fmt.Errorf("x509-identity-mgmt CA: %w", err)
	}
	cert, err := parseCertPEM(resp.CAPEM)
	if err != nil {
		return nil, fmt.Errorf("x509-identity-mgmt CA: caPem: %w", err)
	}
	if !cert.IsCA {
		return nil, fmt.Errorf("x509-identity-mgmt CA: caPem (%s) is not a CA certificate", cert.Subject)
	}
	return []byte(resp.CAPEM), nil
}

// DeviceCertificate enrols a device of the logged-in user's tenant: a
// new key and a CSR with CN=device, signed through POST
// /x509/v1/certificates {"csr"}, which answers 201
// {"certificateFingerprint", "certificatePem"} (dojot/dojot v0.5.0
// x509-identity-mgmt/js/src/routes/certificates-router.js,
// services/certificates-service.js generateCertificate; the request body
// schema js/schemas/register-or-generate-certificate.json). The service
// prefixes the CN with the tenant from the JWT
// (core/distinguished-name.js cnamePrefix), so the certificate names
// <tenant>:<device>: VerneMQ takes it as the user name
// (use_identity_as_username, components/vernemq) and dojot's ACL plugin
// lets that user publish to <tenant>:<device>/attrs. The returned
// certificate must carry that CN.
func (d *DojotAPI) DeviceCertificate(ctx context.Context, tenant, device string) (tls.Certificate, error) {
	csr, key, err := NewCSR(device)
	if err != nil {
		return tls.Certificate{}, err
	}
	var resp struct {
		Fingerprint    string `json:"certificateFingerprint"`
		CertificatePEM string `json:"certificatePem"`
	}
	if err := d.call(ctx, http.MethodPost, "/x509/v1/certificates", http.StatusCreated, map[string]string{"csr": string(csr)}, &resp); err != nil {
		return tls.Certificate{}, fmt.Errorf("x509-identity-mgmt: sign the CSR of device %s: %w", device, err)
	}
	cert, err := parseCertPEM(resp.CertificatePEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("x509-identity-mgmt: certificate of device %s: %w", device, err)
	}
	if want := tenant + ":" + device; cert.Subject.CommonName != want {
		return tls.Certificate{}, fmt.Errorf("x509-identity-mgmt: certificate of device %s names CN %q, want %q (the broker's user name)", device, cert.Subject.CommonName, want)
	}
	pair, err := tls.X509KeyPair([]byte(resp.CertificatePEM), key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("x509-identity-mgmt: certificate of device %s does not match its key: %w", device, err)
	}
	return pair, nil
}

// parseCertPEM parses the first certificate of a PEM text.
func parseCertPEM(s string) (*x509.Certificate, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("no PEM certificate in %d bytes", len(s))
	}
	return x509.ParseCertificate(block.Bytes)
}
