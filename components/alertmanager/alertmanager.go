// Package alertmanager renders a clustered Prometheus Alertmanager: three
// replicas (prom/alertmanager 0.35), one per zone, that gossip on port 9094
// (--cluster.peer to each replica's stable DNS name behind the headless
// Service), so that a notification is sent once and silences survive the
// loss of a zone.
//
// Its configuration is generated from Config: receivers (webhook, Slack,
// e-mail, Telegram) whose every secret is a *_file setting read from the
// declared Secret <name>-receivers mounted at /etc/alertmanager/secrets
// (never in dist/); one route per severity grouped by alertname, component
// and namespace; an inhibition that silences a component's warnings while
// one of its critical alerts fires; the always-firing Watchdog routed to a
// heartbeat receiver for an outside dead man's switch.
//
// What remains (issue 14): Grafana, dashboards, the Prometheus Operator
// option and the end-to-end siren come in later increments; the receivers'
// settings beyond the address and credentials (Slack titles, e-mail
// headers) keep Alertmanager's defaults.
package alertmanager

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/iotstack/iotstack/components/internal/sts"
	"github.com/iotstack/iotstack/stack"
)

// Image facts, from prometheus/alertmanager v0.35.0 (the module
// github.com/prometheus/alertmanager@v0.35.0): Dockerfile has USER nobody
// on quay.io/prometheus/busybox (nobody is uid/gid 65534 there), EXPOSE
// 9093, VOLUME /alertmanager, CMD --config.file=/etc/alertmanager/alertmanager.yml
// --storage.path=/alertmanager; cmd/alertmanager/main.go listens on :9093
// (webflag default) and app/options.go DefaultClusterAddr is 0.0.0.0:9094
// (--cluster.listen-address, memberlist over TCP and UDP).
const (
	// Image is the default image, pinned.
	Image = "prom/alertmanager:v0.35.0"
	// WebPort serves the API and the UI.
	WebPort = 9093
	// ClusterPort is the gossip port (TCP and UDP).
	ClusterPort = 9094
	uid         = 65534
	configDir   = "/etc/alertmanager/config"
	secretDir   = "/etc/alertmanager/secrets"
	dataDir     = "/alertmanager"
)

// Config configures the Alertmanager cluster. Zero fields take defaults.
type Config struct {
	// Name names the StatefulSet and its Services; default "alertmanager".
	Name string
	// Replicas is the cluster size; default 3 (one per zone).
	Replicas int32
	// Image overrides the pinned image.
	Image string
	// Pool is the node pool; empty means any node.
	Pool string
	// Resources default to 0.1 CPU / 128 MiB limits.
	Resources stack.Resources
	// Data is the volume for silences and the notification log; default 1Gi.
	Data stack.Storage
	// Receivers are where alerts go. Without any, alerts are kept in
	// Alertmanager only (a "null" receiver), which a test of the route
	// tree still shows.
	Receivers Receivers
	// GroupWait, GroupInterval and RepeatInterval are the route timing;
	// defaults 30s, 5m and 4h.
	GroupWait, GroupInterval, RepeatInterval time.Duration
}

// Receivers are the notification targets. A secret (URL with a token,
// password, bot token) is never written into the configuration: it is a
// key of the declared Secret <name>-receivers, which the user fills in
// (the apply engine creates it with placeholders the user replaces).
type Receivers struct {
	// Webhook posts every alert to a URL held in the Secret key
	// webhook-url (e.g. an incident tool).
	Webhook bool
	// Slack posts to the incoming-webhook URL in the Secret key
	// slack-api-url, to Channel.
	Slack *Slack
	// Email sends through an SMTP relay; the password is the Secret key
	// smtp-password.
	Email *Email
	// Telegram sends with the bot token in the Secret key
	// telegram-bot-token to ChatID.
	Telegram *Telegram
	// Heartbeat receives the always-firing Watchdog alert at the URL in
	// the Secret key heartbeat-url (a dead man's switch outside the
	// cluster, as the ThingsBoard article advises). Without it the Watchdog goes to
	// the null receiver.
	Heartbeat bool
}

// Slack configures the Slack receiver.
type Slack struct {
	// Channel is the channel to post to (e.g. "#iot-alerts").
	Channel string
}

// Email configures the e-mail receiver.
type Email struct {
	// To, From are addresses; Smarthost is host:port of the relay;
	// Username the SMTP user (the password is in the Secret).
	To, From, Smarthost, Username string
}

// Telegram configures the Telegram receiver.
type Telegram struct {
	// ChatID is the chat to send to.
	ChatID int64
}

// Default fills zero fields.
func (c *Config) Default() {
	if c.Name == "" {
		c.Name = "alertmanager"
	}
	if c.Replicas == 0 {
		c.Replicas = 3
	}
	if c.Image == "" {
		c.Image = Image
	}
	if c.Resources.IsZero() {
		c.Resources = stack.MustLimits("100m", "128Mi")
	}
	if c.Data.Size.IsZero() {
		c.Data.Size = resource.MustParse("1Gi")
	}
	if c.GroupWait == 0 {
		c.GroupWait = 30 * time.Second
	}
	if c.GroupInterval == 0 {
		c.GroupInterval = 5 * time.Minute
	}
	if c.RepeatInterval == 0 {
		c.RepeatInterval = 4 * time.Hour
	}
}

// Validate checks the configuration with defaults filled in.
func (c Config) Validate() error {
	c.Default()
	if err := sts.CheckName("alertmanager", c.Name, 40); err != nil {
		return err
	}
	if c.Replicas < 1 || c.Replicas > 9 {
		return fmt.Errorf("alertmanager: replicas %d; allowed 1 to 9 (3, one per zone, for HA)", c.Replicas)
	}
	if err := c.Resources.Validate("alertmanager: resources"); err != nil {
		return err
	}
	for _, d := range []struct {
		name string
		d    time.Duration
	}{{"groupWait", c.GroupWait}, {"groupInterval", c.GroupInterval}, {"repeatInterval", c.RepeatInterval}} {
		if d.d < time.Second || d.d%time.Second != 0 {
			return fmt.Errorf("alertmanager: %s %s; allowed: a whole number of seconds, 1s or more", d.name, d.d)
		}
	}
	if c.GroupInterval > c.RepeatInterval {
		return fmt.Errorf("alertmanager: groupInterval %s exceeds repeatInterval %s; allowed: groupInterval <= repeatInterval", c.GroupInterval, c.RepeatInterval)
	}
	r := c.Receivers
	if r.Slack != nil && r.Slack.Channel == "" {
		return fmt.Errorf("alertmanager: receivers.slack.channel is empty; name the channel (e.g. #alerts)")
	}
	if e := r.Email; e != nil {
		for _, f := range []struct{ name, v string }{{"to", e.To}, {"from", e.From}, {"smarthost", e.Smarthost}} {
			if f.v == "" {
				return fmt.Errorf("alertmanager: receivers.email.%s is empty; required", f.name)
			}
		}
	}
	if t := r.Telegram; t != nil && t.ChatID == 0 {
		return fmt.Errorf("alertmanager: receivers.telegram.chatID is 0; set the chat's ID")
	}
	return nil
}

// Handle is what Prometheus needs of the Alertmanager cluster.
type Handle struct {
	// Component owns the objects.
	Component *stack.Component
	// Targets are the host:port of every replica, for Prometheus'
	// alerting configuration (each replica gets every alert).
	Targets []string
	// Config is the rendered alertmanager.yml, for checks (amtool).
	Config string
}

// Web is the API port of the replicas.
func (h *Handle) Web() stack.Endpoint { return h.Component.Pods("").Port("web") }

// New adds the Alertmanager cluster to s.
func New(s *stack.Stack, cfg Config) (*Handle, error) {
	cfg.Default()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := s.Topology().Fits("alertmanager", cfg.Pool, int(cfg.Replicas), cfg.Resources); err != nil {
		return nil, err
	}
	c, err := s.AddComponent(cfg.Name, stack.Meta{App: cfg.Name, Role: "alerting", Version: sts.Tag(cfg.Image)})
	if err != nil {
		return nil, err
	}
	headless := cfg.Name + "-headless"
	hosts := sts.Hosts(s, cfg.Name, headless, cfg.Replicas)
	var targets, peers []string
	for _, h := range hosts {
		targets = append(targets, fmt.Sprintf("%s:%d", h, WebPort))
		peers = append(peers, fmt.Sprintf("--cluster.peer=%s:%d", h, ClusterPort))
	}
	secretKeys := secretKeysOf(cfg.Receivers)
	yml, err := renderConfig(cfg)
	if err != nil {
		return nil, err
	}
	config := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: cfg.Name + "-config"}, Data: map[string]string{"alertmanager.yml": yml}}
	mounts := []corev1.VolumeMount{{Name: "config", MountPath: configDir, ReadOnly: true}, {Name: "data", MountPath: dataDir}}
	volumes := []corev1.Volume{sts.ScriptVolume("config", config.Name)}
	volumes[0].ConfigMap.DefaultMode = nil
	if len(secretKeys) > 0 {
		spec := c.DeclareSecret(cfg.Name+"-receivers", secretKeys...)
		mounts = append(mounts, corev1.VolumeMount{Name: "receivers", MountPath: secretDir, ReadOnly: true})
		volumes = append(volumes, corev1.Volume{Name: "receivers", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: spec.Name}}})
	}
	args := append([]string{
		"--config.file=" + configDir + "/alertmanager.yml",
		"--storage.path=" + dataDir,
		fmt.Sprintf("--web.listen-address=:%d", WebPort),
		fmt.Sprintf("--cluster.listen-address=0.0.0.0:%d", ClusterPort),
		fmt.Sprintf("--cluster.advertise-address=$(POD_IP):%d", ClusterPort),
	}, peers...)
	container := corev1.Container{
		Name:  "alertmanager",
		Image: cfg.Image,
		Args:  args,
		Env:   []corev1.EnvVar{{Name: "POD_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}}},
		Ports: []corev1.ContainerPort{
			{Name: "web", ContainerPort: WebPort},
			{Name: "cluster", ContainerPort: ClusterPort},
			{Name: "cluster-udp", ContainerPort: ClusterPort, Protocol: corev1.ProtocolUDP},
		},
		Resources:       cfg.Resources.Requirements(),
		ReadinessProbe:  stack.HTTPProbe("/-/ready", "web", stack.ProbeTiming{PeriodSeconds: 10, TimeoutSeconds: 3}),
		LivenessProbe:   stack.HTTPProbe("/-/healthy", "web", stack.ProbeTiming{InitialDelaySeconds: 10, PeriodSeconds: 20, TimeoutSeconds: 3, FailureThreshold: 6}),
		SecurityContext: stack.RestrictedContainerSecurityContext(true),
		VolumeMounts:    mounts,
	}
	sel := c.SelectorLabels()
	set, err := sts.StatefulSet(s.Topology(), sts.Spec{
		Name: cfg.Name, Service: headless, Replicas: cfg.Replicas, Parallel: true, Selector: sel,
		Placement:      stack.Placement{Pool: cfg.Pool, SpreadZones: true, OnePerHost: true},
		Security:       stack.PodSecurity{UID: uid, GID: uid, FSGroup: uid},
		GracePeriod:    30,
		PodAnnotations: sts.ScrapeAnnotations(WebPort, "/metrics"),
		Containers:     []corev1.Container{container},
		Volumes:        volumes,
		Config:         []*corev1.ConfigMap{config},
		Claims:         []corev1.PersistentVolumeClaim{stack.ClaimTemplate("data", cfg.Data)},
	})
	if err != nil {
		return nil, fmt.Errorf("alertmanager: %w", err)
	}
	// The replicas gossip with each other on 9094 over TCP and UDP
	// (memberlist) and nothing else reaches them but Prometheus (web).
	peersPods := c.Pods("")
	peersPods.Uses(peersPods.Port("cluster"), peersPods.PortUDP("cluster-udp"))
	c.Add(config,
		sts.Headless(headless, sel, []corev1.ServicePort{sts.Port("web", WebPort), sts.Port("cluster", ClusterPort), {Name: "cluster-udp", Port: ClusterPort, Protocol: corev1.ProtocolUDP}}),
		sts.Client(cfg.Name, sel, []corev1.ServicePort{sts.Port("web", WebPort)}),
		stack.PDB(cfg.Name, sel, 1),
		set,
	)
	return &Handle{Component: c, Targets: targets, Config: yml}, nil
}
