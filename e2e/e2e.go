package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"
	"sigs.k8s.io/kind/pkg/cluster"

	"github.com/iotstack/iotstack/apply"
	"github.com/iotstack/iotstack/profiles"
)

// Options configure a run.
type Options struct {
	// Keep leaves the cluster running (its kubeconfig path is printed).
	Keep bool
	// Timeout bounds the wait for readiness; 0 means 30 minutes (images
	// are pulled on first use).
	Timeout time.Duration
	// RequestScale is the laptop factor of requests; 0 means 0.1.
	RequestScale float64
	// Agents are dojot's IoT agents (profiles.DojotValues.Agents; "" is
	// the profile's default, vernemq); profiles.Options has no such
	// field. With lwm2m (small only) the smoke checks also register an
	// LwM2M client; with mosca (small only) they publish through Mosca
	// and read the values back from history (checkAgents, BrokerOf). mage e2e reads it from the AGENTS environment
	// variable.
	Agents string
	// Log receives progress; nil discards it.
	Log io.Writer
}

// Run creates the kind cluster for the profile, applies its laptop
// variant (Generic, requests scaled, ThingsBoard demo tenant), waits for
// every workload, runs the profile's smoke check and deletes the cluster
// unless Keep is set. minimal-3az is installed at UpgradeFromVersion,
// then upgraded to thingsboard.Version by applying again, and checked
// (the recorded version, the smoke check) once more. The smoke checks
// include MQTTS: on minimal-3az with a key pair e2e creates as the Secret
// MQTTSSecret before applying, on dojot with the device certificate
// x509-identity-mgmt issues and the broker's certificate verified for
// DojotDomain (Synth renders both). Without a container engine it fails
// at once with ErrNoEngine.
func Run(ctx context.Context, profile string, opts Options) error {
	log := opts.Log
	if log == nil {
		log = io.Discard
	}
	if err := checkAgents(profile, opts.Agents); err != nil {
		return err
	}
	engine, err := Engine(ctx)
	if err != nil {
		return err
	}
	if opts.Timeout == 0 {
		opts.Timeout = 30 * time.Minute
	}
	if opts.RequestScale == 0 {
		opts.RequestScale = 0.1
	}
	popts := profiles.Options{Generic: true, RequestScale: opts.RequestScale, Demo: profile == profiles.Minimal3AZ}
	if profile == profiles.Minimal3AZ {
		// ThingsBoard is installed at an earlier release and upgraded
		// after the first smoke check (upgradeThingsBoard).
		popts.ThingsBoardVersion = UpgradeFromVersion
	}
	out, err := SynthAgents(profile, popts, opts.Agents)
	if err != nil {
		return err
	}
	kcfg, err := KindConfig(out)
	if err != nil {
		return err
	}
	var provider *cluster.Provider
	switch engine {
	case "podman":
		provider = cluster.NewProvider(cluster.ProviderWithPodman())
	case "nerdctl":
		provider = cluster.NewProvider(cluster.ProviderWithNerdctl(""))
	default:
		provider = cluster.NewProvider(cluster.ProviderWithDocker())
	}
	name := "iotstack-" + profile
	dir, err := os.MkdirTemp("", "iotstack-e2e-")
	if err != nil {
		return err
	}
	kubeconfig := filepath.Join(dir, "kubeconfig")
	fmt.Fprintf(log, "creating kind cluster %s (%d nodes) with %s\n", name, len(kcfg.Nodes), engine)
	if err := provider.Create(name, cluster.CreateWithV1Alpha4Config(kcfg), cluster.CreateWithWaitForReady(5*time.Minute),
		cluster.CreateWithKubeconfigPath(kubeconfig), cluster.CreateWithDisplayUsage(false), cluster.CreateWithDisplaySalutation(false)); err != nil {
		return fmt.Errorf("kind create cluster %s: %w", name, err)
	}
	if opts.Keep {
		defer fmt.Fprintf(log, "cluster %s kept; KUBECONFIG=%s\n", name, kubeconfig)
	} else {
		defer func() {
			if err := provider.Delete(name, kubeconfig); err != nil {
				fmt.Fprintf(log, "kind delete cluster %s: %v\n", name, err)
			}
			os.RemoveAll(dir)
		}()
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return err
	}
	eng, err := apply.New(cfg, apply.Options{Timeout: opts.Timeout, Out: log})
	if err != nil {
		return err
	}
	var ca *CA
	if profile == profiles.Minimal3AZ {
		if ca, err = createMQTTSSecret(ctx, cfg, out.Namespace, log); err != nil {
			return err
		}
	}
	res, err := eng.Apply(ctx, out)
	if err != nil {
		return err
	}
	fmt.Fprintf(log, "%s ready after %s\n", profile, res.Ready.Round(time.Second))
	if err := smoke(ctx, cfg, profile, out.Namespace, BrokerOf(out), CoAPNodePort(out), ca, log); err != nil {
		return err
	}
	if profile == profiles.Minimal3AZ {
		return upgradeThingsBoard(ctx, cfg, eng, popts, UpgradeFromVersion, upgradeTarget, ca, log)
	}
	return nil
}

// smoke runs the profile's smoke checks through port-forwards, plain
// MQTT and MQTTS (dojot: to VerneMQ, or to Mosca when broker says so,
// smokeDojotMosca), and, when coap (the LwM2M agent's CoAP NodePort) is not
// 0, an LwM2M registration through it. ca is the CA of
// tb-mqtt-transport's key pair (minimal-3az); the dojot brokers' CA is
// fetched from x509-identity-mgmt.
func smoke(ctx context.Context, cfg *rest.Config, profile, ns string, broker Broker, coap int32, ca *CA, log io.Writer) error {
	switch profile {
	case "minimal-3az":
		rest, stop1, err := forward(ctx, cfg, ns, "app.kubernetes.io/component=tb-core", 8080)
		if err != nil {
			return err
		}
		defer stop1()
		broker, stop2, err := forward(ctx, cfg, ns, "app.kubernetes.io/component=tb-mqtt-transport", 1883)
		if err != nil {
			return err
		}
		defer stop2()
		if err := SmokeThingsBoard(ctx, &ThingsBoard{REST: "http://" + rest, MQTT: "tcp://" + broker}, 2*time.Minute); err != nil {
			return err
		}
		fmt.Fprintln(log, "smoke: telemetry published over MQTT to tb-mqtt-transport read back over REST from tb-core")
		secure, stop3, err := forward(ctx, cfg, ns, "app.kubernetes.io/component=tb-mqtt-transport", 8883)
		if err != nil {
			return err
		}
		defer stop3()
		// The transport listens for MQTTS on 0.0.0.0:8883 with TLS 1.2
		// (tb-mqtt-transport.yml, thingsboard/thingsboard v4.3.1 and
		// v4.2.1: MQTT_SSL_BIND_ADDRESS 0.0.0.0, MQTT_SSL_PROTOCOL
		// TLSv1.2) and wants, not needs, a client certificate
		// (common/transport/mqtt/.../MqttSslHandlerProvider.java v4.3.1:
		// setNeedClientAuth(false), setWantClientAuth(true)), so an
		// access-token device connects without one.
		name := ServiceNames(MQTTSService, ns)[0]
		tlsCfg, err := ClientTLS(ca.PEM, name, nil)
		if err != nil {
			return err
		}
		if err := SmokeThingsBoard(ctx, &ThingsBoard{REST: "http://" + rest, MQTT: "ssl://" + secure, TLS: tlsCfg}, 2*time.Minute); err != nil {
			return fmt.Errorf("mqtts: %w", err)
		}
		fmt.Fprintf(log, "smoke: telemetry published over MQTTS (8883, certificate verified for %s against e2e's CA) read back over REST\n", name)
		return nil
	default:
		if broker.Mosca {
			if err := smokeDojotMosca(ctx, cfg, ns, broker.PlainMQTT, log); err != nil {
				return err
			}
			if coap != 0 {
				return smokeLwM2M(ctx, coap, log)
			}
			return nil
		}
		broker, stop, err := forward(ctx, cfg, ns, "app.kubernetes.io/name=vernemq", 1883)
		if err != nil {
			return err
		}
		defer stop()
		loopback := profile == "100k" // the profile with kafka-loopback
		if err := SmokeDojot(ctx, "tcp://"+broker, nil, DojotTenant, "e2e0001", loopback, 2*time.Minute); err != nil {
			return err
		}
		fmt.Fprintf(log, "smoke: a value published to VerneMQ as %s:e2e0001 came back (through kafka-loopback: %t)\n", DojotTenant, loopback)
		if err := smokeDojotMQTTS(ctx, cfg, ns, loopback, log); err != nil {
			return err
		}
		if coap != 0 {
			return smokeLwM2M(ctx, coap, log)
		}
		return nil
	}
}

// dojotAdmin forwards Kong's proxy port (8000) and logs in as dojot's
// default administrator: auth v0.5.0 creates admin/admin of tenant admin
// on first start, in group admin with permission all_all (path "/(.*)",
// any method), which pepkong's PDP check of /x509 grants (dojot/auth
// v0.5.0 auth/initialConf.py). stop ends the forward.
func dojotAdmin(ctx context.Context, cfg *rest.Config, ns string) (api *DojotAPI, stop func(), err error) {
	gw, stop, err := forward(ctx, cfg, ns, "app.kubernetes.io/name=kong", 8000)
	if err != nil {
		return nil, nil, err
	}
	api = &DojotAPI{Base: "http://" + gw}
	if err := api.Login(ctx, "admin", "admin"); err != nil {
		stop()
		return nil, nil, err
	}
	return api, stop, nil
}

// smokeDojotMQTTS is dojot's MQTTS check: log in through Kong as dojot's
// default administrator, fetch the CA from x509-identity-mgmt, have it
// sign a device certificate, and run the smoke round trip over MQTTS on
// 8883 with that certificate, verifying the broker's certificate against
// the CA for DojotDomain (the name the broker requested its certificate
// for, VerneMQ's EXTERNAL_SERVER_HOSTNAME) although the port-forward is
// dialled by address.
//
// The fetched CA verifies both certificates: x509-identity-mgmt signs
// device and broker requests alike with the CA "X509 Identity CA"
// (dojot/dojot v0.5.0 x509-identity-mgmt/js/src/core/ejbca-facade.js
// generateCertificate: caName), the CA GET /ca returns (js/src/config.js
// ejbca.rootCA, EJBCA_DEVICES_CA, default "X509 Identity CA"). The
// broker listens for MQTTS on 0.0.0.0:8883 requiring a client
// certificate (components/vernemq brokerSettings) and Kong's proxy on
// 8000 (components/dojot, KONG_PROXY_LISTEN).
func smokeDojotMQTTS(ctx context.Context, cfg *rest.Config, ns string, loopback bool, log io.Writer) error {
	api, stop1, err := dojotAdmin(ctx, cfg, ns)
	if err != nil {
		return err
	}
	defer stop1()
	caPEM, err := api.CA(ctx)
	if err != nil {
		return err
	}
	const device = "e2e0002"
	cert, err := api.DeviceCertificate(ctx, DojotTenant, device)
	if err != nil {
		return err
	}
	tlsCfg, err := ClientTLS(caPEM, DojotDomain, &cert)
	if err != nil {
		return err
	}
	broker, stop2, err := forward(ctx, cfg, ns, "app.kubernetes.io/name=vernemq", 8883)
	if err != nil {
		return err
	}
	defer stop2()
	if err := SmokeDojot(ctx, "ssl://"+broker, tlsCfg, DojotTenant, device, loopback, 2*time.Minute); err != nil {
		return fmt.Errorf("mqtts: %w", err)
	}
	fmt.Fprintf(log, "smoke: a value published over MQTTS as %s:%s with the certificate x509-identity-mgmt issued came back; the broker's certificate verified for %s\n", DojotTenant, device, DojotDomain)
	return nil
}

// forward port-forwards a local port to port of a ready pod matching the
// label selector; it returns the local address and a stop function.
func forward(ctx context.Context, cfg *rest.Config, ns, selector string, port int) (string, func(), error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return "", nil, err
	}
	pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return "", nil, err
	}
	var pod string
	for _, p := range pods.Items {
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				pod = p.Name
			}
		}
	}
	if pod == "" {
		return "", nil, fmt.Errorf("no ready pod with %s in %s", selector, ns)
	}
	transport, upgrader, err := spdy.RoundTripperFor(cfg)
	if err != nil {
		return "", nil, err
	}
	u, err := url.Parse(strings.TrimSuffix(cfg.Host, "/") + fmt.Sprintf("/api/v1/namespaces/%s/pods/%s/portforward", ns, pod))
	if err != nil {
		return "", nil, err
	}
	dialer := spdy.NewDialer(upgrader, &http.Client{Transport: transport}, http.MethodPost, u)
	stop, ready := make(chan struct{}), make(chan struct{})
	fw, err := portforward.New(dialer, []string{fmt.Sprintf("0:%d", port)}, stop, ready, io.Discard, io.Discard)
	if err != nil {
		return "", nil, err
	}
	errc := make(chan error, 1)
	go func() { errc <- fw.ForwardPorts() }()
	select {
	case <-ready:
	case err := <-errc:
		return "", nil, fmt.Errorf("port-forward %s:%d: %w", pod, port, err)
	case <-time.After(30 * time.Second):
		close(stop)
		return "", nil, fmt.Errorf("port-forward %s:%d: not ready within 30 s", pod, port)
	}
	ports, err := fw.GetPorts()
	if err != nil || len(ports) == 0 {
		close(stop)
		return "", nil, fmt.Errorf("port-forward %s:%d: %v", pod, port, err)
	}
	return fmt.Sprintf("127.0.0.1:%d", ports[0].Local), func() { close(stop) }, nil
}
