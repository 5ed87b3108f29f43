package thingsboard

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/iotstack/iotstack/components/internal/sts"
	"github.com/iotstack/iotstack/stack"
)

// LoadTestImage is thingsboard/performance-tests' image at its newest
// release: the pom.xml version 4.0.1 (tag v4.0.1), which its
// dockerfile-maven-plugin pushes as
// thingsboard/tb-ce-performance-test:${project.version} (pom.xml,
// <repository>${docker.repo}/${tb-ce-performance-test.docker.name}</repository>,
// <tag>${project.version}</tag>). The ThingsBoard article ran 3.4.0.
const LoadTestImage = "thingsboard/tb-ce-performance-test:4.0.1"

// maxConnectionsPerPod keeps each generator pod under the ~64.5k
// connections one client IP can open with the local port range widened
// to 1024-65535 (the ThingsBoard article's sysctl, set on every generator pod).
const maxConnectionsPerPod = 60000

// localPortRange is the ThingsBoard article's net.ipv4.ip_local_port_range; the
// kernel's default (32768-60999) would leave a generator about 28k
// ports. It is a safe sysctl that Pod Security "baseline" and
// "restricted" allow (k8s.io/pod-security-admission v0.34.2,
// policy/check_sysctls.go: sysctlsAllowedV1Dot0).
const localPortRange = "1024 65535"

// LoadTestConfig configures the ThingsBoard article's performance test: MQTT devices
// sending SMART_METER telemetry (3 data points per message:
// pulseCounter, leakage, batteryLevel; performance-tests v4.0.1,
// SmartMeterTelemetryGenerator.java).
//
// The defaults are the ThingsBoard article's manifest (performance-test.yml): 10
// generators sharing 100,000 devices and 1,000 messages per second,
// with its 900m / 500Mi limits, on the three 1-vCPU m7g.medium client
// nodes. The article's result, 20,000 data points per second, is the
// target the cluster was sized for: with SMART_METER's 3 data points per
// message that is about 6,700 messages per second (messagesPerSecond
// 6700), which the manifest as published does not send.
type LoadTestConfig struct {
	// Replicas is the number of generator pods; default 10.
	Replicas int32
	// Devices is the total number of devices, split evenly over the pods;
	// default 100000.
	Devices int
	// MessagesPerSecond is the total rate over all pods; default 1000
	// (the ThingsBoard article's TOTAL_MESSAGES_PER_SECOND).
	MessagesPerSecond int
	// DurationSeconds is how long each pod sends; default 3600.
	DurationSeconds int
	// Image overrides the pinned image.
	Image string
	// Pool is the client node pool; default "client".
	Pool string
	// Resources default to the ThingsBoard article's limits, 900m CPU / 500 MiB.
	Resources stack.Resources
	// CredentialsSecret names the Secret with keys username and password
	// of a tenant administrator (with LOAD_DEMO: tenant@thingsboard.org);
	// it is not generated: create it before starting the test. Default
	// "tb-loadtest-rest".
	CredentialsSecret string
	// Peak is the ThingsBoard article's peak-load test, off by default.
	Peak PeakConfig
}

// PeakConfig is the ThingsBoard article's peak-load test ("Handle peak loads":
// reconnect 10 % of the devices and send 10 times the rate, 10k messages
// per second): a second StatefulSet, tb-ce-performance-test-peak, whose
// pods connect the first DevicesPercent of the devices again (the base
// generators created them; the same device names and credentials) and
// send RateMultiplier times MessagesPerSecond between them. Enable it
// and apply the loadtest directory again while the base test runs;
// disable it and apply again to end the peak. Pass criteria (the
// ThingsBoard article's): the system stays responsive, Kafka builds a lag during
// the peak and resolves it after.
type PeakConfig struct {
	// Enabled renders the peak generators.
	Enabled bool
	// DevicesPercent of Devices reconnect; default 10.
	DevicesPercent int
	// RateMultiplier times MessagesPerSecond is the peak's total rate;
	// default 10.
	RateMultiplier int
	// Replicas is the number of peak generator pods; default 5.
	Replicas int32
	// DurationSeconds is how long the peak lasts; default 600 (ours: the
	// ThingsBoard article gives no duration).
	DurationSeconds int
}

// Default fills zero fields.
func (c *LoadTestConfig) Default() {
	if c.Replicas == 0 {
		c.Replicas = 10
	}
	if c.Devices == 0 {
		c.Devices = 100000
	}
	if c.MessagesPerSecond == 0 {
		c.MessagesPerSecond = 1000
	}
	if c.DurationSeconds == 0 {
		c.DurationSeconds = 3600
	}
	if c.Image == "" {
		c.Image = LoadTestImage
	}
	if c.Pool == "" {
		c.Pool = "client"
	}
	if c.Resources.IsZero() {
		c.Resources = stack.MustLimits("900m", "500Mi")
	}
	if c.Peak.DevicesPercent == 0 {
		c.Peak.DevicesPercent = 10
	}
	if c.Peak.RateMultiplier == 0 {
		c.Peak.RateMultiplier = 10
	}
	if c.Peak.Replicas == 0 {
		c.Peak.Replicas = 5
	}
	if c.Peak.DurationSeconds == 0 {
		c.Peak.DurationSeconds = 600
	}
	if c.CredentialsSecret == "" {
		c.CredentialsSecret = "tb-loadtest-rest"
	}
}

// Validate checks a defaulted LoadTestConfig.
//
// It checks the configuration as the constructor uses it, with the
// defaults filled in (Default on a copy), so a zero field, which means
// the default, is valid wherever its default is.
func (c LoadTestConfig) Validate() error {
	c.Default()
	if c.Replicas < 1 || c.Replicas > 1000 {
		return fmt.Errorf("loadtest: replicas %d; allowed 1 to 1000", c.Replicas)
	}
	if c.Devices < 1 {
		return fmt.Errorf("loadtest: devices %d; must be at least 1", c.Devices)
	}
	if c.Devices%int(c.Replicas) != 0 {
		return fmt.Errorf("loadtest: devices %d do not split evenly over %d pods (each pod takes devices/replicas, the rest would never connect)", c.Devices, c.Replicas)
	}
	if per := c.Devices / int(c.Replicas); per > maxConnectionsPerPod {
		return fmt.Errorf("loadtest: %d devices per pod; one pod's IP opens about 64.5k connections, so keep it at most %d: use at least %d replicas", per, maxConnectionsPerPod, (c.Devices+maxConnectionsPerPod-1)/maxConnectionsPerPod)
	}
	if c.MessagesPerSecond < int(c.Replicas) {
		return fmt.Errorf("loadtest: messagesPerSecond %d is below one per pod (%d pods); MESSAGES_PER_SECOND is per pod", c.MessagesPerSecond, c.Replicas)
	}
	if c.DurationSeconds < 1 {
		return fmt.Errorf("loadtest: durationSeconds %d; must be at least 1", c.DurationSeconds)
	}
	if p := c.Peak; p.Enabled {
		if p.DevicesPercent < 1 || p.DevicesPercent > 100 {
			return fmt.Errorf("loadtest: peak.devicesPercent %d; allowed 1 to 100", p.DevicesPercent)
		}
		if p.RateMultiplier < 1 || p.RateMultiplier > 100 {
			return fmt.Errorf("loadtest: peak.rateMultiplier %d; allowed 1 to 100", p.RateMultiplier)
		}
		if p.Replicas < 1 || p.Replicas > 1000 {
			return fmt.Errorf("loadtest: peak.replicas %d; allowed 1 to 1000", p.Replicas)
		}
		if p.DurationSeconds < 1 {
			return fmt.Errorf("loadtest: peak.durationSeconds %d; must be at least 1", p.DurationSeconds)
		}
		devices, rate := c.peakDevices(), c.peakRate()
		if c.Devices*p.DevicesPercent%100 != 0 || devices%int(p.Replicas) != 0 {
			return fmt.Errorf("loadtest: peak: %d %% of %d devices do not split evenly over peak.replicas %d", p.DevicesPercent, c.Devices, p.Replicas)
		}
		if per := devices / int(p.Replicas); per > maxConnectionsPerPod {
			return fmt.Errorf("loadtest: peak: %d devices per pod; keep it at most %d: raise peak.replicas", per, maxConnectionsPerPod)
		}
		if rate < int(p.Replicas) {
			return fmt.Errorf("loadtest: peak: rate %d is below one message per second per pod (%d pods)", rate, p.Replicas)
		}
	}
	if err := sts.CheckImages("loadtest", [2]string{"image", c.Image}); err != nil {
		return err
	}
	return c.Resources.Validate("loadtest.resources")
}

// NewLoadTest adds the performance test against target to s, a stack of
// its own so that applying ThingsBoard never starts load by accident.
func NewLoadTest(s *stack.Stack, target *Handle, cfg LoadTestConfig) error {
	if s == nil {
		return fmt.Errorf("loadtest: stack is nil; pass the stack to add the load test to")
	}
	if target == nil {
		return fmt.Errorf("loadtest: target is nil; pass the ThingsBoard handle thingsboard.New returned")
	}
	cfg.Default()
	if err := cfg.Validate(); err != nil {
		return err
	}
	c, err := s.AddComponent("tb-ce-performance-test", stack.Meta{App: "tb-ce-performance-test", Role: "load-generator", Version: sts.Tag(cfg.Image)})
	if err != nil {
		return err
	}
	c.Except("probes", "the load generator serves nothing to probe; it runs its test and idles")
	// The generators create devices through tb-core's REST API and
	// publish to the MQTT transport, in ThingsBoard's stack. A Handle
	// built by hand (ThingsBoard deployed by other means) has no
	// components to admit them: its own policies decide.
	for _, e := range []stack.Endpoint{target.RESTEndpoint(), target.MQTTEndpoint()} {
		if !e.IsZero() {
			c.Uses(e)
		}
	}
	s.External("Secret", cfg.CredentialsSecret, "tenant administrator credentials (keys username, password) of the ThingsBoard under test")
	secret := func(key string) *corev1.EnvVarSource {
		return &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: cfg.CredentialsSecret}, Key: key}}
	}
	// Every variable below is read by the image's Spring configuration,
	// src/main/resources/tb-ce-performance-tests.yml of
	// thingsboard/performance-tests v4.0.1 (rest.url/username/password,
	// mqtt.host/port, device.api/count/createOnStart/deleteOnComplete,
	// warmup.enabled/packSize, test.api/payloadType/useInstanceIdx/
	// useInstanceIdxRegex/instanceIdxRegexSource/instanceIdxRegex/mps/
	// duration/exitAfterComplete). With useInstanceIdx a pod takes devices
	// [count*idx, count*idx+count), idx parsed from its name by the regex
	// (AbstractAPITest.java, v4.0.1). JAVA_OPTS reaches the JVM: the
	// image's start-tests.sh sources tb-ce-performance-tests.conf, which
	// appends to it (docker/start-tests.sh, src/main/conf/
	// tb-ce-performance-tests.conf, v4.0.1).
	generators := func(name string, sel map[string]string, replicas int32, devices, rate, duration int, create bool) (*appsv1.StatefulSet, error) {
		env := []corev1.EnvVar{
			{Name: "REST_URL", Value: target.RESTURL},
			{Name: "REST_USERNAME", ValueFrom: secret("username")},
			{Name: "REST_PASSWORD", ValueFrom: secret("password")},
			{Name: "MQTT_HOST", Value: target.MQTTHost},
			{Name: "MQTT_PORT", Value: "1883"},
			{Name: "DEVICE_API", Value: "MQTT"},
			{Name: "TEST_API", Value: "device"},
			{Name: "TEST_PAYLOAD_TYPE", Value: "SMART_METER"},
			{Name: "USE_INSTANCE_IDX", Value: "true"},
			{Name: "USE_INSTANCE_IDX_REGEX", Value: "true"},
			{Name: "INSTANCE_IDX_REGEX_SOURCE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
			{Name: "INSTANCE_IDX_REGEX", Value: "([0-9]+)$"},
			{Name: "DEVICE_COUNT", Value: fmt.Sprint(devices / int(replicas))},
			{Name: "DEVICE_CREATE_ON_START", Value: fmt.Sprint(create)},
			{Name: "DEVICE_DELETE_ON_COMPLETE", Value: "false"},
			{Name: "MESSAGES_PER_SECOND", Value: fmt.Sprint(rate / int(replicas))},
			{Name: "DURATION_IN_SECONDS", Value: fmt.Sprint(duration)},
			{Name: "WARMUP_ENABLED", Value: "true"},
			{Name: "WARMUP_PACK_SIZE", Value: "50"}, // the ThingsBoard article's
			{Name: "EXIT_AFTER_COMPLETE", Value: "false"},
			{Name: "JAVA_OPTS", Value: fmt.Sprintf("-Xmx%dm", cfg.Resources.HeapMiB(66))},
		}
		set, err := sts.StatefulSet(s.Topology(), sts.Spec{
			Name: name, Service: "tb-ce-performance-test", Replicas: replicas, Parallel: true, Selector: sel,
			Placement: stack.Placement{Pool: cfg.Pool, SpreadZones: true},
			// UNVERIFIED: the image runs as user "thingsboard", which its
			// package's preinst creates with adduser --system unless the
			// base image (thingsboard/openjdk17:bookworm-slim) has it
			// (performance-tests v4.0.1, src/main/scripts/control/deb/
			// preinst, docker/Dockerfile: USER ${pkg.user}); that its uid is
			// 799, like ThingsBoard's images, is not checked.
			Security:    stack.PodSecurity{UID: uid, GID: uid, FSGroup: uid},
			GracePeriod: 30,
			Containers: []corev1.Container{{
				Name:            "load",
				Image:           cfg.Image,
				Env:             env,
				Resources:       cfg.Resources.Requirements(),
				SecurityContext: stack.RestrictedContainerSecurityContext(false),
			}},
		})
		if err != nil {
			return nil, fmt.Errorf("loadtest: %w", err)
		}
		pod := &set.Spec.Template.Spec
		pod.AutomountServiceAccountToken = ptr.To(false)
		pod.SecurityContext.Sysctls = []corev1.Sysctl{{Name: "net.ipv4.ip_local_port_range", Value: localPortRange}}
		// Several generators per client node: prefer spreading them.
		pod.Affinity.PodAntiAffinity = &corev1.PodAntiAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{
			Weight: 100, PodAffinityTerm: corev1.PodAffinityTerm{LabelSelector: &metav1.LabelSelector{MatchLabels: sel}, TopologyKey: stack.HostnameLabel}}}}
		return set, nil
	}
	sel := c.SelectorLabels()
	set, err := generators("tb-ce-performance-test", sel, cfg.Replicas, cfg.Devices, cfg.MessagesPerSecond, cfg.DurationSeconds, true)
	if err != nil {
		return err
	}
	c.Add(sts.Headless("tb-ce-performance-test", sel, nil), set, stack.PDB("tb-ce-performance-test", sel, 0))
	if cfg.Peak.Enabled {
		// The peak's pods reconnect devices the base generators created:
		// without DEVICE_CREATE_ON_START a generator connects devices
		// DW<idx, 8 digits> of its range with that name as the access
		// token (AbstractAPITest.getToken, MqttDeviceAPITest.
		// connectDevices, performance-tests v4.0.1).
		peakSel := c.SelectorFor("peak-generator")
		peak, err := generators("tb-ce-performance-test-peak", peakSel, cfg.Peak.Replicas, cfg.peakDevices(), cfg.peakRate(), cfg.Peak.DurationSeconds, false)
		if err != nil {
			return err
		}
		c.Add(peak, stack.PDB("tb-ce-performance-test-peak", peakSel, 0))
	}
	return nil
}

// peakDevices and peakRate are the peak test's devices and total rate.
func (c LoadTestConfig) peakDevices() int { return c.Devices * c.Peak.DevicesPercent / 100 }
func (c LoadTestConfig) peakRate() int    { return c.MessagesPerSecond * c.Peak.RateMultiplier }
