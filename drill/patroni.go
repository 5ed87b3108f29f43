package drill

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/iotstack/iotstack/sim"
)

// APIServer is the simulated cluster's control plane (package sim: a
// real kube-apiserver with RBAC authorization, etcd, controller-manager,
// scheduler, kwok), used as Patroni's DCS.
type APIServer struct {
	cl *sim.Cluster
	// Client is an admin client.
	Client kubernetes.Interface
	// Port is the API server's secure port (bound to all addresses).
	Port string
	// CA is the cluster's CA certificate (PEM).
	CA []byte
}

// StartAPIServer starts a simulated cluster (building its tools on first
// use from root/test/tools). Stop it with Stop.
func StartAPIServer(ctx context.Context, root string, log io.Writer) (*APIServer, error) {
	tools, err := sim.EnsureTools(root, log)
	if err != nil {
		return nil, err
	}
	cl, err := sim.StartCluster(ctx, tools, fmt.Sprintf("iotstack-drill-%d", os.Getpid()), log)
	if err != nil {
		return nil, err
	}
	a := &APIServer{cl: cl}
	cfg, err := cl.RESTConfig()
	if err != nil {
		a.Stop()
		return nil, err
	}
	u, err := url.Parse(cfg.Host)
	if err != nil {
		a.Stop()
		return nil, err
	}
	a.Port = u.Port()
	a.CA = cfg.TLSClientConfig.CAData
	if len(a.CA) == 0 && cfg.TLSClientConfig.CAFile != "" {
		if a.CA, err = os.ReadFile(cfg.TLSClientConfig.CAFile); err != nil {
			a.Stop()
			return nil, err
		}
	}
	cfg.WarningHandler = rest.NoWarnings{} // Patroni's use_endpoints reads v1 Endpoints
	if a.Client, err = kubernetes.NewForConfig(cfg); err != nil {
		a.Stop()
		return nil, err
	}
	return a, nil
}

// Stop deletes the simulated cluster.
func (a *APIServer) Stop() { a.cl.Stop() }

// Patroni is a running Patroni + PostgreSQL cluster of the rendered
// StatefulSet, with the simulated API server as its DCS.
type Patroni struct {
	h   *Harness
	r   *Rendered
	api *APIServer
	sts *appsv1.StatefulSet
	// Pods are the members' pods by ordinal.
	Pods    []*Pod
	sa      string
	saFiles string
	role    string
	conts   []*Container
}

// The container environment of ghcr.io/zalando/spilo-17:4.0-p3 cannot be
// reproduced: Spilo's entrypoint (configure_spilo.py, zalando/spilo
// postgres-appliance/scripts/configure_spilo.py) turns the environment
// into Patroni's postgres.yml and starts Patroni under runit. The drill
// renders the nearest equivalent from the same settings (patroniConfig):
// scope SCOPE, name POD_NAME, namespace POD_NAMESPACE; kubernetes DCS with
// use_endpoints (KUBERNETES_USE_CONFIGMAPS unset), role_label
// KUBERNETES_ROLE_LABEL, scope_label KUBERNETES_SCOPE_LABEL, labels
// KUBERNETES_LABELS, pod_ip POD_IP and the postgresql port, as in
// configure_spilo.py's template; restapi on :8008 with the
// SPILO_CONFIGURATION's authentication; the superuser and replication
// users PGUSER_SUPERUSER/PGPASSWORD_SUPERUSER, PGUSER_STANDBY/PGPASSWORD_STANDBY;
// pg_hba as the template renders it with ALLOW_NOSSL set (host all all all
// md5, host replication standby all md5); bootstrap.dcs and the
// postgresql parameters from SPILO_CONFIGURATION. Not reproduced: Spilo's
// callbacks (on_role_change.sh), basebackup_fast_xlog (Patroni's own
// basebackup is used), WAL-E/WAL-G, bg_mon, the admin role and the
// post_init script; PostgreSQL 15 (Debian) instead of PGVERSION 17;
// Patroni 3.0 (Debian) instead of Spilo 4.0's Patroni 4; shared_buffers
// and effective_cache_size from SPILO_CONFIGURATION are kept, huge_pages
// is "try". The data directory PGROOT/data is the one a Spilo-generated
// postgres.yml shows (unverified against Spilo 4.0's Dockerfile).
func (pt *Patroni) config(i int, c *Container) ([]byte, error) {
	env := map[string]string{}
	for _, e := range c.Start.Env {
		k, v, _ := strings.Cut(e, "=")
		env[k] = v
	}
	var spilo map[string]any
	if err := yaml.Unmarshal([]byte(env["SPILO_CONFIGURATION"]), &spilo); err != nil {
		return nil, fmt.Errorf("%s env SPILO_CONFIGURATION: %w", pt.r.ref("StatefulSet", pt.sts.Name), err)
	}
	var labels map[string]string
	if err := json.Unmarshal([]byte(env["KUBERNETES_LABELS"]), &labels); err != nil {
		return nil, fmt.Errorf("%s env KUBERNETES_LABELS: %w", pt.r.ref("StatefulSet", pt.sts.Name), err)
	}
	get := func(m map[string]any, path ...string) any {
		var cur any = m
		for _, p := range path {
			mm, ok := cur.(map[string]any)
			if !ok {
				return nil
			}
			cur = mm[p]
		}
		return cur
	}
	ip := pt.Pods[i].Addr.String()
	cfg := map[string]any{
		"scope":     env["SCOPE"],
		"name":      env["POD_NAME"],
		"namespace": env["POD_NAMESPACE"],
		"log":       map[string]any{"level": "INFO"},
		"restapi": map[string]any{
			"listen":          "0.0.0.0:8008",
			"connect_address": ip + ":8008",
			"authentication":  get(spilo, "restapi", "authentication"),
		},
		"kubernetes": map[string]any{
			"role_label":    env["KUBERNETES_ROLE_LABEL"],
			"scope_label":   env["KUBERNETES_SCOPE_LABEL"],
			"labels":        labels,
			"use_endpoints": true,
			"pod_ip":        ip,
			"ports":         []any{map[string]any{"name": "postgresql", "port": 5432}},
		},
		"bootstrap": map[string]any{
			"dcs":    get(spilo, "bootstrap", "dcs"),
			"initdb": []any{map[string]any{"auth-host": "md5"}, map[string]any{"auth-local": "trust"}, map[string]any{"encoding": "UTF8"}},
		},
		"postgresql": map[string]any{
			"listen":          "0.0.0.0:5432",
			"connect_address": ip + ":5432",
			"data_dir":        env["PGROOT"] + "/data",
			"bin_dir":         "/usr/lib/postgresql/15/bin",
			"pgpass":          "/tmp/pgpass",
			"parameters":      get(spilo, "postgresql", "parameters"),
			"authentication": map[string]any{
				"superuser":   map[string]any{"username": env["PGUSER_SUPERUSER"], "password": env["PGPASSWORD_SUPERUSER"]},
				"replication": map[string]any{"username": env["PGUSER_STANDBY"], "password": env["PGPASSWORD_STANDBY"]},
			},
			"pg_hba": []any{
				"local all all trust",
				"host all all 127.0.0.1/32 md5",
				"host replication " + env["PGUSER_STANDBY"] + " all md5",
				"host all all all md5",
			},
		},
	}
	return yaml.Marshal(cfg)
}

// StartPatroni uses the rendered ServiceAccount, Role (edited by editRole
// when not nil), RoleBinding, Services and the StatefulSet's pods on the
// simulated cluster: those the apply made when the profile is deployed
// there (DeployCluster), else it creates them (one Pod object per
// replica, never scheduled: Patroni patches its own pod). It requests a token for the ServiceAccount (TokenRequest), and runs
// Patroni for each replica in its pod with that token as its in-cluster
// credentials.
func StartPatroni(ctx context.Context, h *Harness, r *Rendered, api *APIServer, name string, editRole func(*rbacv1.Role)) (*Patroni, error) {
	sts, err := r.StatefulSet(name)
	if err != nil {
		return nil, err
	}
	pt := &Patroni{h: h, r: r, api: api, sts: sts, sa: sts.Spec.Template.Spec.ServiceAccountName}
	ns := sts.Namespace
	cs := api.Client
	for _, o := range r.Out.Objects {
		if x, ok := o.Object.(*rbacv1.RoleBinding); ok && x.Namespace == ns {
			for _, s := range x.Subjects {
				if s.Kind == "ServiceAccount" && s.Name == pt.sa {
					pt.role = x.RoleRef.Name
				}
			}
		}
	}
	if pt.role == "" {
		return nil, fmt.Errorf("%s: no RoleBinding binds ServiceAccount %s", r.ref("StatefulSet", sts.Name), pt.sa)
	}
	if r.cluster != nil {
		// The profile is applied on the cluster: the ServiceAccount, Role,
		// RoleBinding, Services and the StatefulSet's pods are there.
		if editRole != nil {
			role, err := cs.RbacV1().Roles(ns).Get(ctx, pt.role, metav1.GetOptions{})
			if err != nil {
				return nil, err
			}
			editRole(role)
			if _, err := cs.RbacV1().Roles(ns).Update(ctx, role, metav1.UpdateOptions{}); err != nil {
				return nil, err
			}
		}
	} else if err := pt.createObjects(ctx, editRole); err != nil {
		return nil, err
	}
	exp := int64(3600)
	tok, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(ctx, pt.sa, &authv1.TokenRequest{Spec: authv1.TokenRequestSpec{ExpirationSeconds: &exp}}, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("TokenRequest for ServiceAccount %s: %w", pt.sa, err)
	}
	pt.saFiles = filepath.Join(h.Dir, "serviceaccount")
	if err := os.MkdirAll(pt.saFiles, 0o755); err != nil {
		return nil, err
	}
	for f, b := range map[string][]byte{"token": []byte(tok.Status.Token), "ca.crt": api.CA, "namespace": []byte(ns)} {
		if err := os.WriteFile(filepath.Join(pt.saFiles, f), b, 0o644); err != nil {
			return nil, err
		}
	}
	host, err := h.HostAddr()
	if err != nil {
		return nil, err
	}
	// The API server's certificate names kubernetes.default.svc (kwok's
	// default SANs); the hosts file points it at the host's bridge address.
	if err := h.SetName("kubernetes.default.svc", host); err != nil {
		return nil, err
	}
	n := int(ptrOr(sts.Spec.Replicas, 1))
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("%s-%d", sts.Name, i)
		p, err := h.AddPod(name, ns, r.PodZone(ns, name, r.ZoneOfOrdinal(i)))
		if err != nil {
			return nil, err
		}
		pt.Pods = append(pt.Pods, p)
		if err := h.SetName(PodFQDN(sts, i), p.Addr); err != nil {
			return nil, err
		}
		if r.cluster == nil {
			pod := &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: ns, Labels: sts.Spec.Template.Labels},
				Spec:       corev1.PodSpec{ServiceAccountName: pt.sa, Containers: []corev1.Container{{Name: "postgres", Image: sts.Spec.Template.Spec.Containers[0].Image}}, NodeSelector: map[string]string{"iotstack.io/drill": "no-such-node"}},
			}
			if _, err := cs.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
				return nil, err
			}
		}
	}
	pt.conts = make([]*Container, n)
	for i := range pt.Pods {
		if err := pt.Start(i); err != nil {
			return nil, err
		}
	}
	return pt, nil
}

// createObjects creates, on an API server the profile is not applied on,
// what Patroni needs of it: the namespace, the ServiceAccount, its
// RoleBinding and Role (edited by editRole) and the Services.
func (pt *Patroni) createObjects(ctx context.Context, editRole func(*rbacv1.Role)) error {
	ns, cs := pt.sts.Namespace, pt.api.Client
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	for _, o := range pt.r.Out.Objects {
		if o.Ref.Namespace != ns {
			continue
		}
		var err error
		switch x := o.Object.(type) {
		case *corev1.ServiceAccount:
			if x.Name == pt.sa {
				_, err = cs.CoreV1().ServiceAccounts(ns).Create(ctx, x.DeepCopy(), metav1.CreateOptions{})
			}
		case *rbacv1.RoleBinding:
			if x.RoleRef.Name == pt.role {
				_, err = cs.RbacV1().RoleBindings(ns).Create(ctx, x.DeepCopy(), metav1.CreateOptions{})
			}
		case *rbacv1.Role:
			if x.Name == pt.role {
				role := x.DeepCopy()
				if editRole != nil {
					editRole(role)
				}
				_, err = cs.RbacV1().Roles(ns).Create(ctx, role, metav1.CreateOptions{})
			}
		case *corev1.Service:
			if x.Labels["app.kubernetes.io/name"] == pt.sts.Spec.Template.Labels["app.kubernetes.io/name"] {
				_, err = cs.CoreV1().Services(ns).Create(ctx, x.DeepCopy(), metav1.CreateOptions{})
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Start (re)starts Patroni of ordinal i on its pod's volumes.
func (pt *Patroni) Start(i int) error {
	p := pt.Pods[i]
	c, err := pt.r.PrepareContainer(p, pt.sts, pt.sts.Spec.Template.Spec.Containers[0].Name)
	if err != nil {
		return err
	}
	cfg, err := pt.config(i, c)
	if err != nil {
		return err
	}
	dir := filepath.Join(p.Dir, "patroni")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	path := filepath.Join(dir, "postgres.yml")
	if err := os.WriteFile(path, cfg, 0o600); err != nil {
		return err
	}
	if err := os.Chown(path, c.Start.UID, c.Start.GID); err != nil {
		return err
	}
	c.Start.Env = append(c.Start.Env, "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "KUBERNETES_SERVICE_HOST=kubernetes.default.svc", "KUBERNETES_SERVICE_PORT="+pt.api.Port, "HOME=/tmp")
	// The unix socket directory is the image's own in a container; on
	// the host it is shared, so each pod gets a private one.
	run := filepath.Join(p.Dir, "run-postgresql")
	if err := os.MkdirAll(run, 0o775); err != nil {
		return err
	}
	if err := os.Chown(run, c.Start.UID, c.Start.GID); err != nil {
		return err
	}
	c.Start.Mounts = append(c.Start.Mounts, Mount{Source: pt.saFiles, Target: "/var/run/secrets/kubernetes.io/serviceaccount"}, Mount{Source: dir, Target: "/etc/patroni"}, Mount{Source: run, Target: "/var/run/postgresql"})
	c.Start.Argv = []string{"patroni", "/etc/patroni/postgres.yml"}
	c.Start.Name = "patroni"
	if _, err := pt.h.Start(p, c.Start); err != nil {
		return err
	}
	pt.conts[i] = c
	return nil
}

// patroniRequests are the requests Patroni 3.0's Kubernetes DCS makes
// with use_endpoints (patroni/dcs/kubernetes.py: list and watch of pods
// and endpoints by the scope label, patch of its own pod's annotations
// and labels in touch_member, patch or create of the leader and config
// endpoints, create of the config Service): what the Role must allow.
var patroniRequests = []struct{ verb, resource string }{
	{"list", "pods"}, {"watch", "pods"}, {"patch", "pods"},
	{"list", "endpoints"}, {"watch", "endpoints"}, {"get", "endpoints"}, {"create", "endpoints"}, {"patch", "endpoints"},
	{"create", "services"},
}

// denied asks the API server (SubjectAccessReview) which of Patroni's
// requests the ServiceAccount is refused: the explanation of a failed
// election.
func (pt *Patroni) denied(ctx context.Context) []string {
	var out []string
	user := "system:serviceaccount:" + pt.sts.Namespace + ":" + pt.sa
	for _, rq := range patroniRequests {
		sar := &authzv1.SubjectAccessReview{Spec: authzv1.SubjectAccessReviewSpec{
			User:               user,
			Groups:             []string{"system:serviceaccounts", "system:serviceaccounts:" + pt.sts.Namespace, "system:authenticated"},
			ResourceAttributes: &authzv1.ResourceAttributes{Namespace: pt.sts.Namespace, Verb: rq.verb, Resource: rq.resource},
		}}
		res, err := pt.api.Client.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
		if err == nil && !res.Status.Allowed {
			out = append(out, rq.verb+" "+rq.resource)
		}
	}
	return out
}

// logs are the members' Patroni log tails.
func (pt *Patroni) logs(n int) string {
	var logs []string
	for _, p := range pt.Pods {
		b, _ := os.ReadFile(filepath.Join(p.Dir, "log-patroni.txt"))
		logs = append(logs, p.Name+":\n"+lastLines(string(b), n))
	}
	return strings.Join(logs, "\n")
}

// Leader is the member named in the leader Endpoints' annotation.
func (pt *Patroni) Leader(ctx context.Context) string {
	ep, err := pt.api.Client.CoreV1().Endpoints(pt.sts.Namespace).Get(ctx, pt.scope(), metav1.GetOptions{})
	if err != nil {
		return ""
	}
	return ep.Annotations["leader"]
}

func (pt *Patroni) scope() string {
	for _, e := range pt.sts.Spec.Template.Spec.Containers[0].Env {
		if e.Name == "SCOPE" {
			return e.Value
		}
	}
	return pt.sts.Name
}

// WaitLeader waits for a leader other than not, at most timeout; on a
// timeout the error says what Patroni logged, and a refusal by the API
// server points at the rendered Role.
func (pt *Patroni) WaitLeader(ctx context.Context, not string, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	for {
		if l := pt.Leader(ctx); l != "" && l != not {
			return l, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			var logs []string
			forbidden := false
			for _, p := range pt.Pods {
				b, _ := os.ReadFile(filepath.Join(p.Dir, "log-patroni.txt"))
				if strings.Contains(string(b), "403") || strings.Contains(string(b), "Forbidden") || strings.Contains(string(b), "forbidden") {
					forbidden = true
				}
				logs = append(logs, p.Name+":\n"+lastLines(string(b), 6))
			}
			if denied := pt.denied(ctx); len(denied) > 0 {
				return "", fmt.Errorf("no Patroni leader within %s: the API server denies ServiceAccount %s %s; the rules of %s do not suffice\n%s", timeout, pt.sa, strings.Join(denied, ", "), pt.r.ref("Role", pt.role), strings.Join(logs, "\n"))
			}
			if forbidden {
				return "", fmt.Errorf("no Patroni leader within %s: the API server refused Patroni's requests as ServiceAccount %s; the rules of %s do not suffice\n%s", timeout, pt.sa, pt.r.ref("Role", pt.role), strings.Join(logs, "\n"))
			}
			return "", fmt.Errorf("no Patroni leader within %s (%s)\n%s", timeout, pt.r.ref("StatefulSet", pt.sts.Name), strings.Join(logs, "\n"))
		}
		time.Sleep(time.Second)
	}
}

// psql runs SQL as the superuser on the member of ordinal i from a client
// pod (the password through PGPASSWORD, never on the command line).
func (pt *Patroni) psql(ctx context.Context, client *Pod, i int, sql string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	pw := pt.r.Secrets["postgres-auth"]["superuser-password"]
	out, err := pt.h.Exec(ctx, client, StartOptions{
		Argv: []string{"psql", "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", PodFQDN(pt.sts, i), "-U", "postgres", "-d", "postgres", "-c", sql},
		Env:  []string{"PATH=/usr/bin:/bin", "PGPASSWORD=" + pw, "PGCONNECT_TIMEOUT=5"},
	})
	return strings.TrimSpace(out), err
}

func (pt *Patroni) ordinal(member string) int {
	for i, p := range pt.Pods {
		if p.Name == member {
			return i
		}
	}
	return -1
}

// PatroniResult is what the Patroni drill measured.
type PatroniResult struct {
	// Members, the lost zone and member (the leader's), the new leader.
	Members             int
	Zone, Lost, Elected string
	// Failover is the time from the kill to the leader Endpoints naming
	// the new leader with its address; WritesBack to the first committed
	// write on it; Rejoin to the old leader streaming as a replica.
	Failover, WritesBack, Rejoin time.Duration
	// Committed and Missing count the rows committed before the kill and
	// those missing on the new leader (synchronous_commit off and
	// asynchronous replication: a loss window exists by configuration).
	Committed, Missing int
	// Single says the cluster has one member: no failover drill.
	Single bool
	// LossWindow is the time between the first lost row's commit and the
	// kill: commits younger than that were lost.
	LossWindow time.Duration
	// WALLost is how far the old leader's WAL, at the last commit before
	// the kill, ran past the new timeline's switch point (bytes; 0 when
	// the new leader has it all); MaxLag is the rendered
	// maximum_lag_on_failover bounding it.
	WALLost, MaxLag int64
	// AtKill is the leader's WAL state right before the kill: its
	// current and flushed positions and what each replica had been sent
	// and had flushed (pg_stat_replication), to explain a loss.
	AtKill string
	// Pooler is the pooler Service written through ("" when the profile
	// renders no pooler), PoolerLost its pods lost with the zone, and
	// WritesViaPooler the time from the kill to the first write committed
	// through it.
	Pooler          string
	PoolerLost      []string
	WritesViaPooler time.Duration
}

// String is the result's line of the RTO/RPO table.
func (r *PatroniResult) String() string {
	if r.Single {
		return fmt.Sprintf("Patroni + PostgreSQL: 1 member, leader %s elected through the Role, %d rows committed and read back; no zone-loss drill: one member has no survivor by configuration", r.Lost, r.Committed) + r.poolerLine()
	}
	return fmt.Sprintf("Patroni + PostgreSQL: %d members, the leader's zone %s lost (%s): %s elected, leader Endpoints on its address %s after the kill, first write committed %s after the kill, %d of %d committed rows missing (commits of the last %s before the kill; %d bytes of WAL past the new timeline's switch point, bound maximum_lag_on_failover %d), old leader back as a replica in %s",
		r.Members, r.Zone, r.Lost, r.Elected, r.Failover.Round(time.Millisecond), r.WritesBack.Round(time.Millisecond), r.Missing, r.Committed, r.LossWindow.Round(time.Millisecond), r.WALLost, r.MaxLag, r.Rejoin.Round(time.Millisecond)) + r.lossDetail() + r.poolerLine()
}

// lossDetail is the leader's WAL state at the kill, when rows were lost.
func (r *PatroniResult) lossDetail() string {
	if r.Missing == 0 {
		return ""
	}
	return "; WAL at the kill: " + r.AtKill
}

// maxLagOnFailover is bootstrap.dcs.maximum_lag_on_failover of the
// rendered SPILO_CONFIGURATION, or Patroni's default (1048576 bytes,
// patroni/dcs: maximum_lag_on_failover) when it is not set.
func (pt *Patroni) maxLagOnFailover() (int64, error) {
	for _, c := range pt.sts.Spec.Template.Spec.Containers {
		for _, e := range c.Env {
			if e.Name != "SPILO_CONFIGURATION" {
				continue
			}
			var spilo struct {
				Bootstrap struct {
					DCS struct {
						MaxLag *int64 `json:"maximum_lag_on_failover"`
					} `json:"dcs"`
				} `json:"bootstrap"`
			}
			if err := yaml.Unmarshal([]byte(e.Value), &spilo); err != nil {
				return 0, fmt.Errorf("%s env SPILO_CONFIGURATION: %w", pt.r.ref("StatefulSet", pt.sts.Name), err)
			}
			if spilo.Bootstrap.DCS.MaxLag != nil {
				return *spilo.Bootstrap.DCS.MaxLag, nil
			}
		}
	}
	return 1048576, nil
}

// parseLSN reads a PostgreSQL WAL position (X/Y, hexadecimal halves).
func parseLSN(s string) (uint64, error) {
	hi, lo, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return 0, fmt.Errorf("WAL position %q: want X/Y", s)
	}
	h, err := strconv.ParseUint(hi, 16, 32)
	if err != nil {
		return 0, fmt.Errorf("WAL position %q: %w", s, err)
	}
	l, err := strconv.ParseUint(lo, 16, 32)
	if err != nil {
		return 0, fmt.Errorf("WAL position %q: %w", s, err)
	}
	return h<<32 | l, nil
}

func formatLSN(v uint64) string { return fmt.Sprintf("%X/%X", v>>32, v&0xffffffff) }

// lastSwitchPoint is the switch point of the last line of a timeline
// history file ("parentTLI<TAB>X/Y<TAB>reason" per line).
func lastSwitchPoint(hist string) (uint64, error) {
	var last string
	for _, l := range strings.Split(hist, "\n") {
		if f := strings.Fields(l); len(f) >= 2 && !strings.HasPrefix(l, "#") {
			last = f[1]
		}
	}
	if last == "" {
		return 0, fmt.Errorf("no switch point in the timeline history %q", hist)
	}
	return parseLSN(last)
}

// PatroniDrill runs the rendered Patroni cluster with the simulated API
// server as DCS, commits rows on the leader, hard-kills the leader's zone
// (every process of its pod), times the new leader's election as seen in
// the leader Endpoints (the read-write Service's endpoints: the Service
// has no selector, Patroni writes them), the first write on it and counts
// the rows lost; then restarts the old leader on its volume and waits for
// it to stream as a replica (pg_rewind, use_pg_rewind in
// SPILO_CONFIGURATION). With a pooler rendered, it writes through the
// pooler Service before the kill and times the first write through it
// after (pgbouncer.go).
func PatroniDrill(ctx context.Context, h *Harness, r *Rendered, api *APIServer, name string) (*PatroniResult, error) {
	pt, err := StartPatroni(ctx, h, r, api, name, nil)
	if err != nil {
		return nil, err
	}
	client, err := h.AddPod("postgres-client", pt.sts.Namespace, "")
	if err != nil {
		return nil, err
	}
	leader, err := pt.WaitLeader(ctx, "", 3*time.Minute)
	if err != nil {
		return nil, err
	}
	li := pt.ordinal(leader)
	res := &PatroniResult{Members: len(pt.Pods), Lost: leader, Zone: pt.Pods[li].Zone}
	// Replicas streaming before the loss.
	deadline := time.Now().Add(3 * time.Minute)
	for {
		out, err := pt.psql(ctx, client, li, "select count(*) from pg_stat_replication where state = 'streaming'")
		if err == nil && out == fmt.Sprint(len(pt.Pods)-1) {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return res, fmt.Errorf("replicas not streaming from %s within 3m: %v %s\n%s", leader, err, out, pt.logs(12))
		}
		time.Sleep(time.Second)
	}
	// The pooler in front of the read-write Service, and writes through it
	// (pgbouncer.go; nil without a pooler rendered).
	pool, err := StartPooler(ctx, h, r, api.Client, pt.sts.Namespace, client)
	if err != nil {
		return res, err
	}
	if err := pool.Write(ctx, 10); err != nil {
		return res, err
	}
	res.Pooler = pool.Service()
	if out, err := pt.psql(ctx, client, li, "create table drill (i int primary key)"); err != nil {
		return res, fmt.Errorf("create table on %s: %v %s", leader, err, out)
	}
	const rows = 50
	acked := make([]time.Time, rows+1)
	for k := 1; k <= rows; k++ {
		if out, err := pt.psql(ctx, client, li, fmt.Sprintf("insert into drill values (%d)", k)); err != nil {
			return res, fmt.Errorf("insert on %s: %v %s", leader, err, out)
		}
		acked[k] = time.Now()
	}
	res.Committed = rows
	// The WAL position of every acknowledged commit: the loss is measured
	// against it after the failover.
	ackLSN, err := pt.psql(ctx, client, li, "select pg_current_wal_lsn()")
	if err != nil {
		return res, fmt.Errorf("WAL position on %s: %v %s", leader, err, ackLSN)
	}
	if res.MaxLag, err = pt.maxLagOnFailover(); err != nil {
		return res, err
	}
	if len(pt.Pods) == 1 {
		// One member: nothing to fail over to (the dojot v0.5.0
		// installation guide runs one database); the drill stops at a
		// leader elected through the Role and serving writes.
		res.Single = true
		out, err := pt.psql(ctx, client, li, "select count(*) from drill")
		if err != nil || out != fmt.Sprint(rows) {
			return res, fmt.Errorf("rows committed on %s not read back: %v %s", leader, err, out)
		}
		return res, nil
	}
	// The leader's zone is lost: drained on the simulated cluster (when
	// the profile is deployed there), then every process of the leader's
	// pod hard-killed.
	if err := r.loseZone(ctx, res.Zone); err != nil {
		return res, err
	}
	replicaLogs := ""
	for i, p := range pt.Pods {
		if i != li {
			b, _ := os.ReadFile(filepath.Join(p.Dir, "log-patroni.txt"))
			replicaLogs += "\n" + p.Name + ":\n" + lastLines(string(b), 15)
		}
	}
	res.AtKill, _ = pt.psql(ctx, client, li, "select 'current ' || pg_current_wal_lsn() || ', flushed ' || pg_current_wal_flush_lsn() || coalesce((select string_agg(', ' || application_name || ' sent ' || sent_lsn || ' flushed ' || flush_lsn || ' replayed ' || replay_lsn, '' order by application_name) from pg_stat_replication), '')")
	if !strings.Contains(res.AtKill, " sent ") {
		res.AtKill += "; no replica connected; the replicas' logs:" + replicaLogs
	}
	kill := time.Now()
	if err := h.KillPod(pt.Pods[li]); err != nil {
		return res, err
	}
	probe := pool.ProbeAfterKill(ctx, kill, res.Zone)
	ttl := 30 * time.Second
	if res.Elected, err = pt.WaitLeader(ctx, leader, 3*time.Minute); err != nil {
		return res, err
	}
	ni := pt.ordinal(res.Elected)
	for {
		ep, err := api.Client.CoreV1().Endpoints(pt.sts.Namespace).Get(ctx, pt.scope(), metav1.GetOptions{})
		if err == nil && len(ep.Subsets) == 1 && len(ep.Subsets[0].Addresses) == 1 && ep.Subsets[0].Addresses[0].IP == pt.Pods[ni].Addr.String() {
			break
		}
		if time.Since(kill) > 3*time.Minute || ctx.Err() != nil {
			return res, fmt.Errorf("the read-write Endpoints %s do not point at the new leader %s (%s)", pt.scope(), res.Elected, pt.Pods[ni].Addr)
		}
		time.Sleep(200 * time.Millisecond)
	}
	res.Failover = time.Since(kill)
	for {
		out, err := pt.psql(ctx, client, ni, "insert into drill values (0)")
		if err == nil {
			break
		}
		if time.Since(kill) > 3*time.Minute || ctx.Err() != nil {
			b, _ := os.ReadFile(filepath.Join(pt.Pods[ni].Dir, "log-patroni.txt"))
			return res, fmt.Errorf("no write committed on the new leader %s: %v %s\n%s", res.Elected, err, out, lastLines(string(b), 10))
		}
		time.Sleep(200 * time.Millisecond)
	}
	res.WritesBack = time.Since(kill)
	if res.WritesViaPooler, res.PoolerLost, err = probe.Wait(); err != nil {
		return res, err
	}
	if res.Failover > 2*ttl {
		return res, fmt.Errorf("failover took %s, over twice the TTL %s", res.Failover, ttl)
	}
	out, err := pt.psql(ctx, client, ni, "select count(*) from drill where i > 0")
	if err != nil {
		return res, fmt.Errorf("count on %s: %v %s", res.Elected, err, out)
	}
	var found int
	fmt.Sscan(out, &found)
	res.Missing = rows - found
	// Asynchronous replication loses a suffix of the commits, never a
	// row in the middle.
	out, err = pt.psql(ctx, client, ni, "select coalesce(max(i), 0) from drill where i > 0")
	if err != nil {
		return res, fmt.Errorf("max on %s: %v %s", res.Elected, err, out)
	}
	var maxFound int
	fmt.Sscan(out, &maxFound)
	if maxFound != found {
		return res, fmt.Errorf("the new leader %s has %d of the %d rows committed before the kill, but the highest is row %d: a commit in the middle was lost, which asynchronous replication cannot explain", res.Elected, found, rows, maxFound)
	}
	// How far the old leader's WAL ran past the new timeline's start
	// (the last line of the newest .history file: parent timeline,
	// switch point, reason).
	hist, err := pt.psql(ctx, client, ni, "select pg_read_file('pg_wal/' || name) from pg_ls_waldir() where name like '%.history' order by name desc limit 1")
	if err != nil {
		return res, fmt.Errorf("timeline history on %s: %v %s", res.Elected, err, hist)
	}
	switchLSN, err := lastSwitchPoint(hist)
	if err != nil {
		return res, fmt.Errorf("timeline history on %s: %w", res.Elected, err)
	}
	ackPos, err := parseLSN(ackLSN)
	if err != nil {
		return res, err
	}
	if ackPos > switchLSN {
		res.WALLost = int64(ackPos - switchLSN)
	}
	if res.WALLost > res.MaxLag {
		return res, fmt.Errorf("the new leader %s started its timeline at %s, %d bytes of WAL before the old leader's last acknowledged commit (%s): more than maximum_lag_on_failover %d in %s", res.Elected, formatLSN(switchLSN), res.WALLost, ackLSN, res.MaxLag, pt.r.ref("StatefulSet", pt.sts.Name))
	}
	if res.Missing > 0 {
		out, err := pt.psql(ctx, client, ni, "select coalesce(min(i), 0) from generate_series(1, 50) i where i not in (select i from drill)")
		if err != nil {
			return res, fmt.Errorf("missing rows on %s: %v %s", res.Elected, err, out)
		}
		var first int
		fmt.Sscan(out, &first)
		if first >= 1 && first <= rows {
			res.LossWindow = kill.Sub(acked[first])
		}
	}
	if err := r.restoreZone(ctx, res.Zone); err != nil {
		return res, err
	}
	back := time.Now()
	if err := pt.Start(li); err != nil {
		return res, err
	}
	for {
		out, err := pt.psql(ctx, client, ni, fmt.Sprintf("select count(*) from pg_stat_replication where state = 'streaming' and client_addr = '%s'", pt.Pods[li].Addr))
		if err == nil && out == "1" {
			break
		}
		if time.Since(back) > 3*time.Minute || ctx.Err() != nil {
			b, _ := os.ReadFile(filepath.Join(pt.Pods[li].Dir, "log-patroni.txt"))
			return res, fmt.Errorf("the old leader %s does not stream from %s within 3m: %v %s\n%s", leader, res.Elected, err, out, lastLines(string(b), 10))
		}
		time.Sleep(time.Second)
	}
	res.Rejoin = time.Since(back)
	return res, nil
}
