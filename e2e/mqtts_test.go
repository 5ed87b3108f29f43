package e2e

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/iotstack/iotstack/profiles"
	"github.com/iotstack/iotstack/stack"
)

// writePEM writes b into dir/name and returns the path.
func writePEM(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// tlsBroker is a real Mosquitto with two loopback listeners: plain MQTT
// (for the test's own observers) and MQTTS with the server key pair,
// trusting caPEM for client certificates; with requireCert the MQTTS
// listener demands a client certificate and takes its CN as the user
// name, as dojot's VerneMQ listener does (require_certificate,
// use_identity_as_username). It returns the plain address (tcp://) and
// the MQTTS one (ssl://).
func tlsBroker(t *testing.T, server KeyPair, caPEM []byte, requireCert bool) (plain, secure string) {
	t.Helper()
	dir := t.TempDir()
	cert := writePEM(t, dir, "server.crt", server.CertPEM)
	key := writePEM(t, dir, "server.key", server.KeyPEM)
	cafile := writePEM(t, dir, "ca.crt", caPEM)
	tlsPort := freePort(t)
	addr := mosquittoWith(t, func(port int) string {
		// user root: run as root, mosquitto would otherwise switch to its
		// own user, which cannot read the test's private temporary files
		// (without effect when not run as root).
		c := fmt.Sprintf("user root\nper_listener_settings false\nallow_anonymous true\npersistence false\nlistener %d 127.0.0.1\nlistener %d 127.0.0.1\ncertfile %s\nkeyfile %s\ncafile %s\n",
			port, tlsPort, cert, key, cafile)
		if requireCert {
			c += "require_certificate true\nuse_identity_as_username true\n"
		}
		return c
	})
	secureAddr := fmt.Sprintf("127.0.0.1:%d", tlsPort)
	waitListening(t, secureAddr)
	return "tcp://" + addr, "ssl://" + secureAddr
}

// waitListening waits (at most 5 s) until addr accepts connections.
func waitListening(t *testing.T, addr string) {
	t.Helper()
	for i := 0; i < 100; i++ {
		if ok := dialOK(addr); ok {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s did not listen", addr)
}

func dialOK(addr string) bool {
	c, err := (&tls.Dialer{Config: &tls.Config{InsecureSkipVerify: true}}).Dial("tcp", addr) // only: is the TLS listener up?
	if err != nil {
		return !strings.Contains(err.Error(), "connection refused")
	}
	c.Close()
	return true
}

// TestDojotMQTTS runs dojot's MQTTS smoke round trip against a real
// Mosquitto whose TLS listener requires client certificates signed by
// the CA, with certificates made by the same code as mage e2e's. It
// succeeds with the right CA, server name and client certificate, and
// fails when the broker's certificate names localhost while the client
// expects the domain (issue 13's defect), with an unknown CA, and without
// a client certificate.
func TestDojotMQTTS(t *testing.T) {
	ca, err := NewCA("dojot test CA")
	if err != nil {
		t.Fatal(err)
	}
	server, err := ca.Server(DojotDomain, "vernemq-k8s")
	if err != nil {
		t.Fatal(err)
	}
	_, broker := tlsBroker(t, server, ca.PEM, true)
	devPair, err := ca.Client(DojotTenant + ":e2e0001")
	if err != nil {
		t.Fatal(err)
	}
	dev, err := devPair.TLS()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	good, err := ClientTLS(ca.PEM, DojotDomain, &dev)
	if err != nil {
		t.Fatal(err)
	}
	if err := SmokeDojot(ctx, broker, good, DojotTenant, "e2e0001", false, 10*time.Second); err != nil {
		t.Fatalf("right CA, name and client certificate: %v", err)
	}

	// The broker's certificate names only localhost (EXTERNAL_SERVER_HOSTNAME's
	// default) while devices expect the domain.
	localOnly, err := ca.Server("localhost")
	if err != nil {
		t.Fatal(err)
	}
	_, localBroker := tlsBroker(t, localOnly, ca.PEM, true)
	if err := SmokeDojot(ctx, localBroker, good, DojotTenant, "e2e0001", false, 5*time.Second); err == nil || !strings.Contains(err.Error(), "not "+DojotDomain) {
		t.Errorf("broker certificate for localhost, client expects %s: got %v", DojotDomain, err)
	}

	other, err := NewCA("someone else's CA")
	if err != nil {
		t.Fatal(err)
	}
	unknown, err := ClientTLS(other.PEM, DojotDomain, &dev)
	if err != nil {
		t.Fatal(err)
	}
	if err := SmokeDojot(ctx, broker, unknown, DojotTenant, "e2e0001", false, 5*time.Second); err == nil || !strings.Contains(err.Error(), "unknown authority") {
		t.Errorf("unknown CA: got %v", err)
	}

	anonymous, err := ClientTLS(ca.PEM, DojotDomain, nil)
	if err != nil {
		t.Fatal(err)
	}
	// TLS 1.2 for the refused client certificates: in TLS 1.3 the client
	// finishes its handshake before the server checks the certificate, so
	// the refusal may arrive as an alert or as a reset; in 1.2 it is the
	// handshake's alert.
	anonymous.MaxVersion = tls.VersionTLS12
	if err := SmokeDojot(ctx, broker, anonymous, DojotTenant, "e2e0001", false, 5*time.Second); err == nil || !strings.Contains(err.Error(), "remote error: tls:") {
		t.Errorf("no client certificate: got %v", err)
	} else {
		t.Logf("no client certificate: %v", err)
	}

	// A client certificate from another CA is refused by the broker.
	strangerPair, err := other.Client(DojotTenant + ":e2e0001")
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := strangerPair.TLS()
	if err != nil {
		t.Fatal(err)
	}
	strangerCfg, err := ClientTLS(ca.PEM, DojotDomain, &stranger)
	if err != nil {
		t.Fatal(err)
	}
	strangerCfg.MaxVersion = tls.VersionTLS12
	if err := SmokeDojot(ctx, broker, strangerCfg, DojotTenant, "e2e0001", false, 5*time.Second); err == nil || !strings.Contains(err.Error(), "remote error: tls:") {
		t.Errorf("client certificate of an unknown CA: got %v", err)
	} else {
		t.Logf("client certificate of an unknown CA: %v", err)
	}
}

// TestThingsBoardMQTTS: the ThingsBoard round trip over MQTTS against a
// real Mosquitto serving the key pair mage e2e puts into the Secret
// (MQTTSKeyPair), verified for tb-mqtt-transport's Service name, with the
// stand-in for tb-core's REST API of TestSmokeThingsBoard; a client
// expecting another name or trusting another CA fails.
func TestThingsBoardMQTTS(t *testing.T) {
	ca, secret, err := MQTTSKeyPair("thingsboard")
	if err != nil {
		t.Fatal(err)
	}
	if secret.Type != corev1.SecretTypeTLS || secret.Name != MQTTSSecret || secret.Namespace != "thingsboard" {
		t.Fatalf("secret %s/%s type %s", secret.Namespace, secret.Name, secret.Type)
	}
	pair := KeyPair{CertPEM: secret.Data[corev1.TLSCertKey], KeyPEM: secret.Data[corev1.TLSPrivateKeyKey]}
	if _, err := pair.TLS(); err != nil {
		t.Fatalf("tls.crt and tls.key are no key pair: %v", err)
	}
	plain, secure := tlsBroker(t, pair, ca.PEM, false)
	api, latestWanted := fakeTBCore(t, plain)
	name := ServiceNames(MQTTSService, "thingsboard")[0]
	if name != "tb-mqtt-transport.thingsboard.svc.cluster.local" {
		t.Fatalf("service name %s", name)
	}
	cfg, err := ClientTLS(ca.PEM, name, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := SmokeThingsBoard(ctx, &ThingsBoard{REST: api, MQTT: secure, TLS: cfg}, 10*time.Second); err != nil {
		t.Fatalf("MQTTS round trip: %v", err)
	}
	if latestWanted() == "" {
		t.Fatal("the stand-in never saw the telemetry")
	}
	for _, n := range []string{"localhost", "tb-mqtt-transport"} {
		if c, err := ClientTLS(ca.PEM, n, nil); err != nil {
			t.Fatal(err)
		} else if err := (&ThingsBoard{MQTT: secure, TLS: c}).Publish(ctx, "tok", map[string]any{"x": 1}); err != nil {
			t.Errorf("server name %s (in the Secret's certificate): %v", n, err)
		}
	}
	wrong, _ := ClientTLS(ca.PEM, "mqtt.example.com", nil)
	if err := (&ThingsBoard{MQTT: secure, TLS: wrong}).Publish(ctx, "tok", map[string]any{"x": 1}); err == nil || !strings.Contains(err.Error(), "not mqtt.example.com") {
		t.Errorf("wrong server name: got %v", err)
	}
	other, _ := NewCA("other")
	unknown, _ := ClientTLS(other.PEM, name, nil)
	if err := (&ThingsBoard{MQTT: secure, TLS: unknown}).Publish(ctx, "tok", map[string]any{"x": 1}); err == nil || !strings.Contains(err.Error(), "unknown authority") {
		t.Errorf("unknown CA: got %v", err)
	}
	if _, err := ClientTLS(ca.PEM, "", nil); err == nil {
		t.Error("no server name: want an error")
	}
	if _, err := ClientTLS([]byte("junk"), name, nil); err == nil {
		t.Error("no CA certificate: want an error")
	}
}

// fakeTBCore is a stand-in for tb-core's REST API (ThingsBoard cannot
// run here) that keeps the telemetry a plain-MQTT observer on broker
// receives; it returns its URL and the last value seen.
func fakeTBCore(t *testing.T, broker string) (string, func() string) {
	t.Helper()
	var mu sync.Mutex
	latest := ""
	sub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker).SetClientID("fake-transport"))
	if tok := sub.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	t.Cleanup(func() { sub.Disconnect(100) })
	if tok := sub.Subscribe("v1/devices/me/telemetry", 1, func(_ mqtt.Client, m mqtt.Message) {
		var v map[string]any
		json.Unmarshal(m.Payload(), &v)
		if s, ok := v["iotstackSmoke"]; ok {
			mu.Lock()
			latest = fmt.Sprint(s)
			mu.Unlock()
		}
	}); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/api/auth/login":
			fmt.Fprint(w, `{"token":"jwt","refreshToken":"r"}`)
		case r.Header.Get("X-Authorization") != "Bearer jwt":
			http.Error(w, "unauthorized", http.StatusUnauthorized)
		case r.Method == http.MethodPost && r.URL.Path == "/api/device":
			fmt.Fprint(w, `{"id":{"entityType":"DEVICE","id":"d-1"},"name":"x"}`)
		case r.URL.Path == "/api/device/d-1/credentials":
			fmt.Fprint(w, `{"credentialsType":"ACCESS_TOKEN","credentialsId":"tok"}`)
		case r.URL.Path == "/api/plugins/telemetry/DEVICE/d-1/values/timeseries":
			mu.Lock()
			v := latest
			mu.Unlock()
			if v == "" {
				fmt.Fprint(w, `{}`)
				return
			}
			fmt.Fprintf(w, `{"iotstackSmoke":[{"ts":1,"value":%q}]}`, v)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(api.Close)
	return api.URL, func() string { mu.Lock(); defer mu.Unlock(); return latest }
}

// fakeX509 is a RECORDED SHAPE of dojot's gateway in front of auth and
// x509-identity-mgmt v0.5.0, NOT the real services (EJBCA cannot run
// here). It answers the requests DojotAPI sends with the shapes the
// sources define: POST /auth {"username","passwd"} → 200 {"jwt"} (dojot/auth
// v0.5.0 auth/webRoutes.py; the JWT's claims carry the tenant as
// "service", AuthenticationController.py); GET /x509/v1/ca → 200
// {"certificateFingerprint","caPem"} (dojot/dojot v0.5.0
// x509-identity-mgmt/js/src/routes/trusted-cas-router.js,
// services/trusted-cas-service.js); POST /x509/v1/certificates {"csr"} →
// 201 {"certificateFingerprint","certificatePem"} with the CN prefixed by
// the tenant (routes/certificates-router.js,
// services/certificates-service.js, core/distinguished-name.js
// cnamePrefix), the subject limited to CN matching
// /^[0-9A-Za-z ]{1,255}$/ (js/src/config.js); without a JWT, 401
// {"message"} (js/src/app.js; Kong's jwt plugin refuses earlier in the
// real gateway). cnOverride, when set, replaces the issued CN (to test
// the client's check).
func fakeX509(t *testing.T, ca *CA, cnOverride string) *httptest.Server {
	t.Helper()
	header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	claims := base64.RawURLEncoding.EncodeToString([]byte(`{"service":"admin","username":"admin"}`))
	jwt := header + "." + claims + ".c2ln"
	cnRule := regexp.MustCompile(`^[0-9A-Za-z ]{1,255}$`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/auth" && r.Method == http.MethodPost {
			var in map[string]string
			json.NewDecoder(r.Body).Decode(&in)
			if in["username"] != "admin" || in["passwd"] != "admin" {
				w.WriteHeader(http.StatusForbidden)
				fmt.Fprint(w, `{"message":"AuthorizationError"}`)
				return
			}
			json.NewEncoder(w).Encode(map[string]string{"jwt": jwt})
			return
		}
		if r.Header.Get("Authorization") != "Bearer "+jwt {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"message":"Missing JWT token"}`)
			return
		}
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/x509/v1/ca":
			json.NewEncoder(w).Encode(map[string]string{"certificateFingerprint": "AA:BB", "caPem": string(ca.PEM)})
		case r.Method == http.MethodPost && r.URL.Path == "/x509/v1/certificates":
			var in map[string]string
			json.NewDecoder(r.Body).Decode(&in)
			block, _ := pem.Decode([]byte(in["csr"]))
			if block == nil || block.Type != "CERTIFICATE REQUEST" {
				w.WriteHeader(http.StatusBadRequest)
				fmt.Fprint(w, `{"message":"schema"}`)
				return
			}
			csr, err := x509.ParseCertificateRequest(block.Bytes)
			if err != nil || csr.CheckSignature() != nil || !cnRule.MatchString(csr.Subject.CommonName) || len(csr.Subject.Names) != 1 {
				w.WriteHeader(http.StatusBadRequest)
				fmt.Fprint(w, `{"message":"Error checking SubjectDN"}`)
				return
			}
			cn := "admin:" + csr.Subject.CommonName
			if cnOverride != "" {
				cn = cnOverride
			}
			certPEM := signCSR(t, ca, csr, cn)
			w.WriteHeader(http.StatusCreated)
			json.NewEncoder(w).Encode(map[string]string{"certificateFingerprint": "CC:DD", "certificatePem": string(certPEM)})
		default:
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"message":"Not Found"}`)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// signCSR issues a client certificate for the CSR's key with subject cn
// (the part EJBCA plays in the recorded shape).
func signCSR(t *testing.T, ca *CA, csr *x509.CertificateRequest, cn string) []byte {
	t.Helper()
	serial, err := serialNumber()
	if err != nil {
		t.Error(err)
		return nil
	}
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: csr.Subject, NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	tmpl.Subject.CommonName = cn
	tmpl.Subject.ExtraNames = nil
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, csr.PublicKey, ca.key)
	if err != nil {
		t.Error(err)
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// TestDojotAPI: the x509-identity-mgmt client against the recorded shape
// (fakeX509, not the real service), then the issued device certificate
// and the fetched CA through a real Mosquitto requiring client
// certificates, as smokeDojotMQTTS chains them.
func TestDojotAPI(t *testing.T) {
	ca, err := NewCA("x509-identity-mgmt test CA")
	if err != nil {
		t.Fatal(err)
	}
	srv := fakeX509(t, ca, "")
	ctx := context.Background()
	api := &DojotAPI{Base: srv.URL}
	if _, err := api.CA(ctx); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("CA without logging in: got %v", err)
	}
	if err := api.Login(ctx, "admin", "wrong"); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("wrong password: got %v", err)
	}
	if err := api.Login(ctx, "admin", "admin"); err != nil {
		t.Fatal(err)
	}
	caPEM, err := api.CA(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := api.DeviceCertificate(ctx, DojotTenant, "e2e0002")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.DeviceCertificate(ctx, DojotTenant, "e2e-0002"); err == nil || !strings.Contains(err.Error(), "400") {
		t.Errorf("a CN x509-identity-mgmt refuses: got %v", err)
	}
	bad := &DojotAPI{Base: fakeX509(t, ca, "e2e0002").URL}
	if err := bad.Login(ctx, "admin", "admin"); err != nil {
		t.Fatal(err)
	}
	if _, err := bad.DeviceCertificate(ctx, DojotTenant, "e2e0002"); err == nil || !strings.Contains(err.Error(), `want "admin:e2e0002"`) {
		t.Errorf("certificate without the tenant prefix: got %v", err)
	}

	// The broker's certificate, as x509-identity-mgmt issues it for
	// VerneMQ's CSR naming the domain.
	server, err := ca.Server("vernemq-k8s", DojotDomain)
	if err != nil {
		t.Fatal(err)
	}
	plain, broker := tlsBroker(t, server, ca.PEM, true)
	cfg, err := ClientTLS(caPEM, DojotDomain, &cert)
	if err != nil {
		t.Fatal(err)
	}
	// An observer on the plain listener sees the message on the device's
	// topic, proving the certificate's CN made the topic the device's.
	seen := make(chan string, 1)
	obs := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(plain).SetClientID("observer"))
	if tok := obs.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer obs.Disconnect(100)
	if tok := obs.Subscribe("#", 1, func(_ mqtt.Client, m mqtt.Message) {
		select {
		case seen <- m.Topic():
		default:
		}
	}); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	if err := SmokeDojot(ctx, broker, cfg, DojotTenant, "e2e0002", false, 10*time.Second); err != nil {
		t.Fatalf("MQTTS with the issued certificate: %v", err)
	}
	select {
	case topic := <-seen:
		if topic != "admin:e2e0002/attrs" {
			t.Errorf("published to %s", topic)
		}
	case <-time.After(5 * time.Second):
		t.Error("the observer saw nothing")
	}
	// The broker's certificate must name the domain the device expects.
	elsewhere, err := ClientTLS(caPEM, "mqtt.example.org", &cert)
	if err != nil {
		t.Fatal(err)
	}
	if err := SmokeDojot(ctx, broker, elsewhere, DojotTenant, "e2e0002", false, 5*time.Second); err == nil {
		t.Error("server name not in the broker's certificate: want an error")
	}
}

// TestSynthTLS: what mage e2e applies serves what its MQTTS checks
// expect: minimal-3az's tb-mqtt-transport mounts the Secret MQTTSSecret,
// listens on 8883 and has the Service MQTTSService; small and 100k render
// VerneMQ's EXTERNAL_SERVER_HOSTNAME as DojotDomain, with the broker on
// 8883 and Kong's proxy on 8000 under the labels the port-forwards select.
func TestSynthTLS(t *testing.T) {
	for _, name := range profiles.Names() {
		popts := profiles.Options{Generic: true, RequestScale: 0.1, Demo: name == profiles.Minimal3AZ}
		out, err := Synth(name, popts)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if name == profiles.Minimal3AZ {
			checkTBMQTTS(t, out)
			continue
		}
		checkDojotMQTTS(t, name, out)
	}
}

func checkTBMQTTS(t *testing.T, out *stack.Output) {
	t.Helper()
	var svc, mounted, port bool
	for _, o := range out.Objects {
		switch x := o.Object.(type) {
		case *corev1.Service:
			if x.Name == MQTTSService {
				svc = true
			}
		case *appsv1.Deployment:
			if x.Spec.Template.Labels["app.kubernetes.io/component"] != "tb-mqtt-transport" {
				continue
			}
			for _, v := range x.Spec.Template.Spec.Volumes {
				if v.Secret != nil && v.Secret.SecretName == MQTTSSecret {
					mounted = true
				}
			}
			for _, c := range x.Spec.Template.Spec.Containers {
				for _, p := range c.Ports {
					port = port || p.ContainerPort == 8883
				}
			}
		}
	}
	if !svc || !mounted || !port {
		t.Errorf("minimal-3az: Service %s %t, Secret %s mounted %t, port 8883 %t", MQTTSService, svc, MQTTSSecret, mounted, port)
	}
}

func checkDojotMQTTS(t *testing.T, name string, out *stack.Output) {
	t.Helper()
	var host, kong bool
	for _, o := range out.Objects {
		for _, spec := range stack.PodSpecs(o.Object) {
			for _, c := range spec.Containers {
				for _, e := range c.Env {
					if e.Name == "EXTERNAL_SERVER_HOSTNAME" && e.Value == DojotDomain {
						host = hasPort(c, 8883)
					}
				}
			}
		}
		if d, ok := o.Object.(*appsv1.Deployment); ok && d.Spec.Template.Labels["app.kubernetes.io/name"] == "kong" {
			for _, c := range d.Spec.Template.Spec.Containers {
				kong = kong || hasPort(c, 8000)
			}
		}
	}
	if !host || !kong {
		t.Errorf("%s: broker on 8883 for %s %t, Kong proxy on 8000 %t", name, DojotDomain, host, kong)
	}
}

func hasPort(c corev1.Container, port int32) bool {
	for _, p := range c.Ports {
		if p.ContainerPort == port {
			return true
		}
	}
	return false
}
