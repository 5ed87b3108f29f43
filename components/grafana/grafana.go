// Package grafana renders Grafana (grafana/grafana 13.2) for a monitoring
// stack: one replica per zone (the ThingsBoard article's pod table runs
// Grafana with 1 CPU / 1 GiB in every zone), each with a small volume of
// its own for its SQLite database, a Prometheus datasource with the fixed
// uid "prometheus" and the dashboards given in Config, both provisioned
// from ConfigMaps when Grafana starts (one ConfigMap per dashboard; nothing
// is downloaded at run time, no plugin is installed). The admin password
// is read from the declared Secret <name>-admin (key admin-password)
// through GF_SECURITY_ADMIN_PASSWORD__FILE, never from an environment
// value or dist/.
//
// Grafana is reached through a sub path of the profile's ingress (SubPath,
// e.g. /grafana/: GF_SERVER_ROOT_URL ends in it and serve_from_sub_path is
// on), or on a fixed NodePort (dojot's load balancers forward 30003), or
// with kubectl port-forward to the Service.
//
// Where it differs from a stock install and what remains: the replicas do
// not share a database, so a login session belongs to one replica (the
// Service keeps a client on one replica with ClientIP affinity; behind an
// ALB enable stickiness); users and dashboards edited in the UI are per
// replica and are not kept (the provisioned dashboards are the source of
// truth and the UI cannot save over them). A shared PostgreSQL database
// for Grafana is not configured.
package grafana

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/iotstack/iotstack/components/internal/sts"
	"github.com/iotstack/iotstack/stack"
)

// Image facts. The tag: 13.2.3 is the newest 13.x tag found referenced
// (docker-compose files and READMEs of public repositories pin
// grafana/grafana:13.2.3); the image's Dockerfile at that tag was not
// available to read here. From grafana/grafana's Dockerfile
// (packaging/docker/Dockerfile and the root Dockerfile of recent
// releases: ARG GF_UID="472", ARG GF_GID="0", GF_PATHS_CONFIG
// /etc/grafana/grafana.ini, GF_PATHS_DATA /var/lib/grafana,
// GF_PATHS_LOGS /var/log/grafana, GF_PATHS_PLUGINS /var/lib/grafana/plugins,
// GF_PATHS_PROVISIONING /etc/grafana/provisioning, EXPOSE 3000) and the
// 13.x documentation (grafana.com/docs/grafana/v13.3/setup-grafana/
// configure-docker: every setting is GF_<SECTION>_<KEY>, and a variable
// with the __FILE suffix is read from that file, which packaging/docker/
// run.sh does). Not verified at the 13.2.3 tag itself. The pods run as uid
// 472 with group 472 and fsGroup 472 (the image's group is 0; the data
// volume is made writable through fsGroup instead), on a read-only root
// file system: logs go to the console only (GF_LOG_MODE), temporary files
// to an emptyDir.
const (
	// Image is the default image, pinned.
	Image = "grafana/grafana:13.2.3"
	// WebPort serves the UI, the API, /api/health and /metrics.
	WebPort         = 3000
	uid             = 472
	provisioningDir = "/etc/grafana/provisioning"
	dataDir         = "/var/lib/grafana"
	dashboardsDir   = "/etc/grafana/dashboards"
	secretDir       = "/etc/grafana/secrets"
	// DatasourceUID is the uid of the provisioned Prometheus datasource;
	// every dashboard panel names it, so no ${DS_PROMETHEUS} input is
	// left to fill in at import.
	DatasourceUID = "prometheus"
	// AdminPasswordKey is the key of the admin password in the Secret
	// <name>-admin.
	AdminPasswordKey = "admin-password"
)

// Dashboard is one provisioned dashboard.
type Dashboard struct {
	// Name is a DNS-1123 label; the ConfigMap is <grafana name>-dashboard-<Name>
	// and the file <Name>.json.
	Name string
	// JSON is the dashboard model.
	JSON []byte
}

// Config configures Grafana. Zero fields take defaults.
type Config struct {
	// Name names the StatefulSet, Services and ConfigMaps; default "grafana".
	Name string
	// Replicas is 3 by default: one per zone.
	Replicas int32
	// Image overrides the pinned image.
	Image string
	// Pool is the node pool; empty means any node.
	Pool string
	// Resources default to the ThingsBoard article's pod table: 1 CPU / 1 GiB limits.
	Resources stack.Resources
	// Data is each replica's volume for its SQLite database; default 1Gi.
	Data stack.Storage
	// RootURL is the URL users reach Grafana at (GF_SERVER_ROOT_URL);
	// when it has a path (e.g. http://iot.example.com/grafana/), Grafana
	// serves from that sub path. Grafana's own interpolation
	// (%(protocol)s://%(domain)s/grafana/, its default root_url's form)
	// is allowed. Default http://localhost:3000/ (kubectl port-forward).
	RootURL string
	// NodePort, when set, makes the Service a NodePort Service on that
	// port (30000-32767); dojot's load balancers forward 30003.
	NodePort int32
	// Dashboards are provisioned at start, in the order given.
	Dashboards []Dashboard
}

// Default fills zero fields.
func (c *Config) Default() {
	if c.Name == "" {
		c.Name = "grafana"
	}
	if c.Replicas == 0 {
		c.Replicas = 3
	}
	if c.Image == "" {
		c.Image = Image
	}
	if c.Resources.IsZero() {
		c.Resources = stack.MustLimits("1", "1Gi")
	}
	if c.Data.Size.IsZero() {
		c.Data.Size = resource.MustParse("1Gi")
	}
	if c.RootURL == "" {
		c.RootURL = fmt.Sprintf("http://localhost:%d/", WebPort)
	}
}

// SubPath is the path of RootURL ("/" when Grafana serves from the root).
func (c Config) SubPath() string {
	c.Default()
	rest := c.RootURL[strings.Index(c.RootURL, "://")+3:]
	if i := strings.Index(rest, "/"); i >= 0 {
		return rest[i:]
	}
	return "/"
}

// Validate checks the configuration with defaults filled in.
func (c Config) Validate() error {
	c.Default()
	if err := sts.CheckName("grafana", c.Name, 40); err != nil {
		return err
	}
	if c.Replicas < 1 || c.Replicas > 9 {
		return fmt.Errorf("grafana: replicas %d; allowed 1 to 9 (one per zone)", c.Replicas)
	}
	if err := c.Resources.Validate("grafana: resources"); err != nil {
		return err
	}
	if c.Data.Size.Cmp(resource.MustParse("100Mi")) < 0 {
		return fmt.Errorf("grafana: data.size %s; allowed 100Mi or more", c.Data.Size.String())
	}
	if !(strings.HasPrefix(c.RootURL, "http://") || strings.HasPrefix(c.RootURL, "https://") || strings.HasPrefix(c.RootURL, "%(protocol)s://")) || len(c.RootURL) <= len("https://") ||
		!strings.HasSuffix(c.RootURL, "/") || strings.ContainsAny(c.RootURL, " \t\n\"'?#") {
		return fmt.Errorf("grafana: rootURL %q; allowed an http://, https:// or %%(protocol)s:// URL ending in / without query, fragment or spaces", c.RootURL)
	}
	if c.NodePort != 0 && (c.NodePort < 30000 || c.NodePort > 32767) {
		return fmt.Errorf("grafana: nodePort %d; allowed 0 (none) or 30000 to 32767", c.NodePort)
	}
	seen := map[string]bool{}
	for i, d := range c.Dashboards {
		if errs := validation.IsDNS1123Label(d.Name); len(errs) > 0 || len(d.Name) > 40 {
			return fmt.Errorf("grafana: dashboards[%d].name %q must be a DNS-1123 label of at most 40 characters", i, d.Name)
		}
		if seen[d.Name] {
			return fmt.Errorf("grafana: dashboards[%d].name %q is used twice; names are unique", i, d.Name)
		}
		seen[d.Name] = true
		if len(d.JSON) == 0 {
			return fmt.Errorf("grafana: dashboards[%d] (%s) has no JSON", i, d.Name)
		}
		if strings.Contains(string(d.JSON), "${DS_") {
			return fmt.Errorf("grafana: dashboards[%d] (%s) has a ${DS_...} import placeholder; name the datasource uid %q", i, d.Name, DatasourceUID)
		}
	}
	return nil
}

// Handle is what the profile needs of Grafana.
type Handle struct {
	// Component owns the objects.
	Component *stack.Component
	// Service is the Service name; Port its port (named "http").
	Service string
	Port    int32
	// SubPath is the path Grafana serves from ("/grafana/" behind the
	// ingress, "/" otherwise).
	SubPath string
	// AdminSecret is the declared Secret holding the admin password.
	AdminSecret stack.SecretKeyRef
}

// Web is Grafana's HTTP endpoint.
func (h *Handle) Web() stack.Endpoint { return h.Component.Pods("").Port("http") }

// Prometheus is what Grafana needs of Prometheus: its in-cluster URL and
// its web endpoint (for the NetworkPolicy).
type Prometheus struct {
	// URL is the base URL of the Prometheus Service.
	URL string
	// Web is the endpoint Grafana opens.
	Web stack.Endpoint
}

// New adds Grafana to the monitoring stack s, reading from prom.
func New(s *stack.Stack, prom Prometheus, cfg Config) (*Handle, error) {
	cfg.Default()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if prom.URL == "" || prom.Web.IsZero() {
		return nil, fmt.Errorf("grafana: the Prometheus URL and endpoint are required")
	}
	if err := s.Topology().Fits("grafana", cfg.Pool, int(cfg.Replicas), cfg.Resources); err != nil {
		return nil, err
	}
	c, err := s.AddComponent(cfg.Name, stack.Meta{App: cfg.Name, Role: "dashboards", Version: sts.Tag(cfg.Image)})
	if err != nil {
		return nil, err
	}
	admin := c.DeclareSecret(cfg.Name+"-admin", stack.SecretKey{Key: AdminPasswordKey, Kind: stack.RandomPassword})

	datasources := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: cfg.Name + "-datasources"},
		Data: map[string]string{"prometheus.yaml": datasourceYAML(prom.URL)}}
	providers := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: cfg.Name + "-dashboard-providers"},
		Data: map[string]string{"iotstack.yaml": providerYAML()}}
	config := []*corev1.ConfigMap{datasources, providers}
	volumes := []corev1.Volume{cmVolume("datasources", datasources.Name), cmVolume("providers", providers.Name),
		{Name: "admin", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: admin.Name}}},
		sts.EmptyDir("tmp")}
	mounts := []corev1.VolumeMount{
		{Name: "data", MountPath: dataDir},
		{Name: "datasources", MountPath: provisioningDir + "/datasources", ReadOnly: true},
		{Name: "providers", MountPath: provisioningDir + "/dashboards", ReadOnly: true},
		{Name: "admin", MountPath: secretDir, ReadOnly: true},
		{Name: "tmp", MountPath: "/tmp"},
	}
	for _, d := range cfg.Dashboards {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: cfg.Name + "-dashboard-" + d.Name,
			Labels: map[string]string{"grafana.iotstack.io/dashboard": d.Name}},
			Data: map[string]string{d.Name + ".json": string(d.JSON)}}
		config = append(config, cm)
		vol := "dashboard-" + d.Name
		volumes = append(volumes, cmVolume(vol, cm.Name))
		mounts = append(mounts, corev1.VolumeMount{Name: vol, MountPath: dashboardsDir + "/" + d.Name, ReadOnly: true})
	}
	sub := cfg.SubPath()
	env := []corev1.EnvVar{
		{Name: "GF_SERVER_HTTP_PORT", Value: fmt.Sprint(WebPort)},
		{Name: "GF_SERVER_ROOT_URL", Value: cfg.RootURL},
		{Name: "GF_SERVER_SERVE_FROM_SUB_PATH", Value: fmt.Sprint(sub != "/")},
		{Name: "GF_SECURITY_ADMIN_USER", Value: "admin"},
		{Name: "GF_SECURITY_ADMIN_PASSWORD__FILE", Value: secretDir + "/" + AdminPasswordKey},
		{Name: "GF_USERS_ALLOW_SIGN_UP", Value: "false"},
		// The default mode "console file" writes /var/log/grafana, which
		// the read-only root file system refuses.
		{Name: "GF_LOG_MODE", Value: "console"},
		// Nothing is fetched from the internet at run time.
		{Name: "GF_ANALYTICS_REPORTING_ENABLED", Value: "false"},
		{Name: "GF_ANALYTICS_CHECK_FOR_UPDATES", Value: "false"},
		{Name: "GF_ANALYTICS_CHECK_FOR_PLUGIN_UPDATES", Value: "false"},
		{Name: "GF_NEWS_NEWS_FEED_ENABLED", Value: "false"},
	}
	// With serve_from_sub_path the health and metrics endpoints are under
	// the sub path too: grafana/grafana pkg/api/http_server.go
	// (addMiddlewaresAndStaticRoutes) calls m.SetURLPrefix(AppSubURL)
	// before apiHealthHandler and metricsEndpoint (read on main, not at
	// the 13.2.3 tag).
	health := stack.HTTPProbe(strings.TrimSuffix(sub, "/")+"/api/health", "http", stack.ProbeTiming{PeriodSeconds: 10, TimeoutSeconds: 3})
	container := corev1.Container{
		Name:            "grafana",
		Image:           cfg.Image,
		Env:             env,
		Ports:           []corev1.ContainerPort{{Name: "http", ContainerPort: WebPort}},
		Resources:       cfg.Resources.Requirements(),
		ReadinessProbe:  health,
		LivenessProbe:   stack.HTTPProbe(strings.TrimSuffix(sub, "/")+"/api/health", "http", stack.ProbeTiming{InitialDelaySeconds: 30, PeriodSeconds: 20, TimeoutSeconds: 3, FailureThreshold: 6}),
		SecurityContext: stack.RestrictedContainerSecurityContext(true),
		VolumeMounts:    mounts,
	}
	sel := c.SelectorLabels()
	headless := cfg.Name + "-headless"
	set, err := sts.StatefulSet(s.Topology(), sts.Spec{
		Name: cfg.Name, Service: headless, Replicas: cfg.Replicas, Parallel: true, Selector: sel,
		Placement:   stack.Placement{Pool: cfg.Pool, SpreadZones: true, OnePerHost: true},
		Security:    stack.PodSecurity{UID: uid, GID: uid, FSGroup: uid},
		GracePeriod: 30,
		// Not scraped: the bundled Prometheus is built before Grafana
		// (Grafana reads from it), so its scrape configuration cannot
		// list Grafana; Grafana's own metrics are not monitored yet.
		Containers: []corev1.Container{container},
		Volumes:    volumes,
		Config:     config,
		Claims:     []corev1.PersistentVolumeClaim{stack.ClaimTemplate("data", cfg.Data)},
	})
	if err != nil {
		return nil, fmt.Errorf("grafana: %w", err)
	}
	c.Pods("").Uses(prom.Web)
	svc := sts.Client(cfg.Name, sel, []corev1.ServicePort{{Name: "http", Port: WebPort, TargetPort: intstr.FromString("http")}})
	svc.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
	if cfg.NodePort != 0 {
		svc.Spec.Type = corev1.ServiceTypeNodePort
		svc.Spec.Ports[0].NodePort = cfg.NodePort
	}
	for _, cm := range config {
		c.Add(cm)
	}
	c.Add(sts.Headless(headless, sel, []corev1.ServicePort{sts.Port("http", WebPort)}), svc, stack.PDB(cfg.Name, sel, 1), set)
	return &Handle{Component: c, Service: cfg.Name, Port: WebPort, SubPath: sub, AdminSecret: admin.Ref(AdminPasswordKey)}, nil
}

func cmVolume(name, cm string) corev1.Volume {
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: cm}}}}
}

// datasourceYAML is the provisioning file of the Prometheus datasource
// (Grafana docs, administration/provisioning "Data sources": apiVersion 1,
// datasources with name, type, uid, access, url, isDefault, editable).
func datasourceYAML(url string) string {
	return fmt.Sprintf(`apiVersion: 1
datasources:
  - name: Prometheus
    type: prometheus
    uid: %s
    access: proxy
    url: %s
    isDefault: true
    editable: false
    jsonData:
      httpMethod: POST
      timeInterval: 30s
`, DatasourceUID, url)
}

// providerYAML is the dashboard provider (Grafana docs,
// administration/provisioning "Dashboards": providers with name, type
// file, options.path, foldersFromFilesStructure, allowUiUpdates).
func providerYAML() string {
	return `apiVersion: 1
providers:
  - name: iotstack
    folder: iotstack
    type: file
    disableDeletion: true
    allowUiUpdates: false
    updateIntervalSeconds: 60
    options:
      path: ` + dashboardsDir + `
      foldersFromFilesStructure: false
`
}

// DashboardNames returns the names of the dashboards, sorted.
func (c Config) DashboardNames() []string {
	var out []string
	for _, d := range c.Dashboards {
		out = append(out, d.Name)
	}
	sort.Strings(out)
	return out
}
