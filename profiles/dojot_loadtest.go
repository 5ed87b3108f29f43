package profiles

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/iotstack/iotstack/components/locust"
	"github.com/iotstack/iotstack/components/vernemq"
	"github.com/iotstack/iotstack/stack"
	"github.com/iotstack/iotstack/values"
)

// DojotLoadTest is the 100k environment's load test: dojot's own Locust
// MQTT generator (components/locust), rendered into dist/100k/loadtest/
// and applied separately, on the client pool. On by default in 100k, off
// in small; zero fields take the published run's figures (100,000 clients,
// 45 workers, one per core of five 9-CPU machines).
type DojotLoadTest struct {
	// Enabled renders the load test into the profile's loadtest/
	// directory (applying the stack never starts it).
	Enabled bool `json:"enabled"`
	// Clients is the number of simulated MQTTS devices, each with a
	// certificate issued by x509-identity-mgmt (default 100000).
	Clients int `json:"clients" min:"0" max:"10000000"`
	// Workers is the number of Locust workers, one per core of the pool
	// (default 45); no worker may hold more clients than its local port
	// range (28,232).
	Workers int32 `json:"workers" min:"0" max:"1000"`
	// HatchRate is the clients started per second (default 100).
	HatchRate int `json:"hatchRate" min:"0" max:"10000"`
	// Duration is how long the full load runs once every client is
	// started, whole seconds (default 1h).
	Duration time.Duration `json:"duration"`
	// CertificatesTimeout bounds the issuing of the certificates, whole
	// seconds (default 6h); the test's Jobs end at most this, the ramp,
	// the duration and 10 minutes after they are applied.
	CertificatesTimeout time.Duration `json:"certificatesTimeout"`
	// Pool is the client pool of topology.pools the generators run on
	// (default client); tainted, so nothing else lands there.
	Pool string `json:"pool"`
	// Host is where the clients connect, the load balancer's MQTTS
	// listener on 8883; default the domain.
	Host string `json:"host"`
	// CredentialsSecret names the Secret (keys username, password) of a
	// dojot user the certificate Job logs in as; not generated (default
	// dojot-loadtest-user).
	CredentialsSecret string `json:"credentialsSecret"`
}

// LoadTestClientPool is the pool the dojot load test's generators run on.
const LoadTestClientPool = "client"

// hundredClientPool is the published run's generator machines (dojot docs
// v0.5.0, load-testing-dojot-platform.rst: five machines of 9 CPUs and
// 14 GB, one Locust worker per core), labelled
// dojot.components/group=client and tainted dedicated=client:NoSchedule
// so that only the load test runs there.
func hundredClientPool() stack.NodePool {
	p := dojotPool(LoadTestClientPool, "9", "14Gi", 5)
	p.Taints = []corev1.Taint{{Key: "dedicated", Value: LoadTestClientPool, Effect: corev1.TaintEffectNoSchedule}}
	return p
}

// validate checks the load test's values against the topology.
func (l DojotLoadTest) validate(v *DojotValues) []values.FieldError {
	if !l.Enabled {
		return nil
	}
	var errs []values.FieldError
	pool := l.Pool
	if pool == "" {
		pool = LoadTestClientPool
	}
	found := false
	for _, p := range v.Topology.Pools {
		if p.Name == pool {
			found = true
		}
	}
	if !found {
		errs = append(errs, values.Errorf("loadTest.pool", pool, "not a pool of topology.pools; the load test needs a client pool of its own"))
	}
	for _, d := range []struct {
		path string
		d    time.Duration
	}{{"loadTest.duration", l.Duration}, {"loadTest.certificatesTimeout", l.CertificatesTimeout}} {
		if d.d%time.Second != 0 || d.d < 0 {
			errs = append(errs, values.Errorf(d.path, d.d.String(), "whole seconds, not negative (e.g. 1h, 90m)"))
		}
	}
	if err := l.config(v).Validate(); err != nil {
		errs = append(errs, values.FieldError{Path: loadTestPath(err), Message: strings.TrimPrefix(err.Error(), "loadTest: ")})
	}
	return errs
}

// loadTestPath is the values path of a component error ("loadTest: <field>
// ..."): the field's values name, or loadTest.workers for the clients per
// worker, whose remedy is more workers.
func loadTestPath(err error) string {
	msg := strings.TrimPrefix(err.Error(), "loadTest: ")
	field, _, _ := strings.Cut(msg, " ")
	switch field {
	case "clients", "workers", "hatchRate", "host", "port":
		return "loadTest." + field
	case "durationSeconds":
		return "loadTest.duration"
	case "certificatesSeconds":
		return "loadTest.certificatesTimeout"
	}
	if strings.Contains(msg, "connections per worker pod") {
		return "loadTest.workers"
	}
	return "loadTest"
}

// config is the component's configuration (without the gateway endpoint).
func (l DojotLoadTest) config(v *DojotValues) locust.Config {
	host := l.Host
	if host == "" {
		host = v.Domain
	}
	return locust.Config{
		Clients: l.Clients, Workers: l.Workers, HatchRate: l.HatchRate,
		DurationSeconds: int(l.Duration / time.Second), CertificatesSeconds: int(l.CertificatesTimeout / time.Second),
		Host: host, Port: vernemq.MQTTSPort, Pool: l.Pool, CredentialsSecret: l.CredentialsSecret,
		APIURL: "http://kong:8000",
	}
}

// buildDojotLoadTest builds the load test's part against the dojot stack
// s: certificates through its Kong (port http), clients through the load
// balancer's MQTTS listener.
func buildDojotLoadTest(name string, v *DojotValues, common Common, s *stack.Stack) (Part, error) {
	lo := common.stackOptions(name+"-loadtest", "dojot")
	lo.ExistingNamespace = true
	lt, err := stack.New(lo)
	if err != nil {
		return Part{}, err
	}
	cfg := v.LoadTest.config(v)
	if kong := s.ComponentByName("kong"); kong != nil {
		cfg.APIURL = fmt.Sprintf("http://%s:8000", s.ServiceHost("kong"))
		cfg.APIGateway = kong.Pods("").Port("http")
	}
	if err := locust.New(lt, cfg); err != nil {
		return Part{}, err
	}
	return Part{Dir: LoadTestDir, Stack: lt}, nil
}
