package drill

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
)

// The container of ghcr.io/cloudnative-pg/pgbouncer:1.25.1
// (cloudnative-pg/pgbouncer-containers at c4b6dd3, "update dependency
// pgbouncer to v1.25.1-1.pgdg13+1": Dockerfile and docker-bake.hcl):
// Debian trixie-slim with the PGDG package pgbouncer 1.25.1-1.pgdg13+1
// and postgresql-client, /usr/sbin/pgbouncer linked to /usr/bin/pgbouncer,
// user pgbouncer UID 998 (group 996), ENTRYPOINT ./entrypoint.sh (which
// the pod's command, bash /scripts/pooler.sh, replaces). Whether the
// image sets PATH is not verified there; the drill uses Docker's default
// PATH, which holds both /usr/bin and /usr/sbin, so `exec pgbouncer` in
// pooler.sh finds the program either way.
//
// Debian bookworm's pgbouncer 1.18.0 (/usr/sbin/pgbouncer, c-ares 1.18
// for DNS, which reads the pod's /etc/hosts) stands in for 1.25.1. The
// differences in the defaults that pooler.sh does not set (pgbouncer
// doc/config.md at the tags pgbouncer_1_18_0 and pgbouncer_1_25_1, and
// NEWS.md): max_prepared_statements 200 in 1.25 (0, and no protocol-level
// prepared statements in transaction pooling, in 1.18); server_check_query
// empty (an empty query) in 1.25, "select 1" in 1.18; query_wait_notify
// (1.25: a NOTICE to a client queued over 5 s) does not exist in 1.18;
// TLS cipher defaults ("default" vs "fast"; the drill's servers run
// without TLS and server_tls_sslmode = prefer falls back to plain). The
// settings that time a failover are the same in both: server_login_retry
// 15 s (after a failed server login the pool refuses new server
// connections for that long and refuses clients at once: 1.18 with
// "server login has been failing, try again later (server_login_retry)",
// as the drill's log shows, 1.24 and later with the server's original
// error),
// server_connect_timeout 15 s, query_wait_timeout 120 s, dns_max_ttl 15 s,
// server_check_delay 30 s. The exporter container
// (pgbouncer-exporter) is not run.
const poolerPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Pooler is the rendered PgBouncer Deployment running in front of the
// read-write Service: one pod per replica, each in its own network
// namespace, behind a proxy of the pooler Service, and the read-write
// Service proxied to the addresses Patroni writes in its Endpoints.
type Pooler struct {
	h   *Harness
	r   *Rendered
	dep *appsv1.Deployment
	svc *corev1.Service
	// Pods are the pooler's pods by replica index.
	Pods   []*Pod
	procs  []*Proc
	client *Pod
	port   int    // the pooler Service's port
	target int    // its target port on the pods
	cm     string // the ConfigMap holding pooler.sh
	// user and pass are the application user the drill writes as: the
	// first of the pooler's user list that is not a stats user (thingsboard
	// in minimal-3az), with the password the script put there (from the
	// user's Secret); its database has the user's name (the databases Job
	// creates one per user).
	user, pass string
	offsets    []int64 // the pods' log sizes when the probe started
}

// Deployment finds a rendered Deployment by name.
func (r *Rendered) Deployment(name string) (*appsv1.Deployment, error) {
	for _, o := range r.Out.Objects {
		if d, ok := o.Object.(*appsv1.Deployment); ok && d.Name == name {
			return d, nil
		}
	}
	return nil, fmt.Errorf("stack %s renders no Deployment %s", r.Out.Stack, name)
}

// poolerDeployment is the Deployment of namespace ns whose pods carry
// app.kubernetes.io/component=pooler, or nil.
func (r *Rendered) poolerDeployment(ns string) *appsv1.Deployment {
	for _, o := range r.Out.Objects {
		if d, ok := o.Object.(*appsv1.Deployment); ok && d.Namespace == ns && d.Spec.Template.Labels["app.kubernetes.io/component"] == "pooler" {
			return d
		}
	}
	return nil
}

// StartPooler starts the rendered pooler of namespace ns in front of the
// running Patroni cluster (cs reads its Endpoints from the API server): it
// proxies the namespace's Services without a selector that belong to the
// same application (the read-write Service, whose Endpoints Patroni
// writes) to their Endpoints' ready addresses; starts one pod per replica
// of the pooler Deployment with the container's command, environment (the
// generated Secrets), volumes and user; waits for the rendered readiness
// probe (a TCP connect to the pgbouncer port); checks that the hosts of
// the pgbouncer.ini the script wrote are rendered Services; runs the
// rendered databases Job (app.kubernetes.io/component=databases: it
// creates the application users and databases through the read-write
// Service) in a pod of its own; and proxies the pooler Service to the
// pooler pods that run. client is the pod the drill's writes come from.
// Without a pooler Deployment it returns nil and no error.
func StartPooler(ctx context.Context, h *Harness, r *Rendered, cs kubernetes.Interface, ns string, client *Pod) (*Pooler, error) {
	pl, rw, err := newPooler(h, r, ns, client)
	if pl == nil || err != nil {
		return nil, err
	}
	for _, s := range rw {
		if _, err := h.ProxyService(s, func(p corev1.ServicePort) Backends {
			return EndpointsBackends(cs, s.Namespace, s.Name, p)
		}); err != nil {
			return nil, err
		}
	}
	if err := pl.startPods(ctx); err != nil {
		return nil, err
	}
	if err := pl.runDatabasesJob(ctx, ns); err != nil {
		return nil, err
	}
	// The pooler Service's endpoints are the pooler pods that run.
	if _, err := h.ProxyService(pl.svc, func(corev1.ServicePort) Backends {
		return func(context.Context) ([]netip.AddrPort, error) {
			var out []netip.AddrPort
			for i, p := range pl.Pods {
				if !pl.procs[i].Exited() {
					out = append(out, netip.AddrPortFrom(p.Addr, uint16(pl.target)))
				}
			}
			return out, nil
		}
	}); err != nil {
		return nil, err
	}
	return pl, nil
}

// newPooler finds the pooler Deployment of namespace ns (nil without
// one), the Service selecting its pods and the read-write Services it is
// put in front of (the application's Services without a selector).
func newPooler(h *Harness, r *Rendered, ns string, client *Pod) (*Pooler, []*corev1.Service, error) {
	dep := r.poolerDeployment(ns)
	if dep == nil {
		return nil, nil, nil
	}
	pl := &Pooler{h: h, r: r, dep: dep, client: client}
	var rw []*corev1.Service
	ref := r.ref("Deployment", dep.Name)
	app := dep.Spec.Template.Labels["app.kubernetes.io/name"]
	tmpl := labels.Set(dep.Spec.Template.Labels)
	for _, o := range r.Out.Objects {
		s, ok := o.Object.(*corev1.Service)
		if !ok || s.Namespace != ns {
			continue
		}
		switch {
		case len(s.Spec.Selector) == 0 && s.Labels["app.kubernetes.io/name"] == app:
			rw = append(rw, s)
		case len(s.Spec.Selector) > 0 && labels.SelectorFromSet(s.Spec.Selector).Matches(tmpl):
			if pl.svc != nil {
				return nil, nil, fmt.Errorf("%s: Services %s and %s both select the pooler's pods", ref, pl.svc.Name, s.Name)
			}
			pl.svc = s
		}
	}
	if pl.svc == nil {
		return nil, nil, fmt.Errorf("%s: no rendered Service selects the pooler's pods", ref)
	}
	if len(pl.svc.Spec.Ports) != 1 {
		return nil, nil, fmt.Errorf("%s: the drill writes through a pooler Service with one port, it has %d", r.ref("Service", pl.svc.Name), len(pl.svc.Spec.Ports))
	}
	pl.port = int(pl.svc.Spec.Ports[0].Port)
	var err error
	if pl.target, err = containerPort(dep.Spec.Template.Spec, pl.svc.Spec.Ports[0]); err != nil {
		return nil, nil, fmt.Errorf("%s port %s: %w", r.ref("Service", pl.svc.Name), portString(pl.svc.Spec.Ports[0]), err)
	}
	for _, v := range dep.Spec.Template.Spec.Volumes {
		if v.ConfigMap != nil && pl.cm == "" {
			pl.cm = v.ConfigMap.Name
		}
	}
	return pl, rw, nil
}

// startPods starts one pod per replica of the pooler Deployment, waits
// for the rendered readiness probe and checks the configuration the
// script wrote (checkDatabases).
func (pl *Pooler) startPods(ctx context.Context) error {
	h, r, dep, target := pl.h, pl.r, pl.dep, pl.target
	ref := r.ref("Deployment", dep.Name)
	// The readiness probe dials from the host: without the host's address
	// on the bridge there is no route to the pods, and the machine's
	// default route may answer for them.
	if _, err := h.HostAddr(); err != nil {
		return err
	}
	n := int(ptrOr(dep.Spec.Replicas, 1))
	for i := 0; i < n; i++ {
		// A Deployment's pods are named <name>-<hash>-<suffix>; the
		// drill names them by index. The pods spread one per zone
		// (the template's topology spread, maxSkew 1), in zone order.
		zone := r.ZoneOfOrdinal(i)
		if zs := r.zonesOf(dep.Namespace, dep.Spec.Selector); i < len(zs) {
			zone = zs[i] // where the simulated cluster's scheduler put it
		}
		p, err := h.AddPod(fmt.Sprintf("%s-%d", dep.Name, i), dep.Namespace, zone)
		if err != nil {
			return err
		}
		pl.Pods = append(pl.Pods, p)
	}
	var mounts []Mount // the first pod's (the same script runs in every pod)
	for _, p := range pl.Pods {
		c, err := r.prepare(p, "Deployment", dep.Name, dep.Spec.Template.Spec, nil, "pgbouncer")
		if err != nil {
			return err
		}
		if mounts == nil {
			mounts = c.Start.Mounts
		}
		c.Start.Env = append(c.Start.Env, "PATH="+poolerPath)
		pr, err := h.Start(p, c.Start)
		if err != nil {
			return err
		}
		pl.procs = append(pl.procs, pr)
	}
	// The rendered readiness probe: a TCP connect to the pgbouncer port.
	deadline := time.Now().Add(time.Minute)
	for i, p := range pl.Pods {
		for {
			if pl.procs[i].Exited() {
				return fmt.Errorf("%s: pgbouncer in pod %s exited (script pooler.sh of %s):\n%s", ref, p.Name, r.ref("ConfigMap", pl.cm), pl.procs[i].Tail(15))
			}
			c, err := net.DialTimeout("tcp", netip.AddrPortFrom(p.Addr, uint16(target)).String(), 2*time.Second)
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				return fmt.Errorf("%s: pod %s not ready within 1m (the readiness probe's TCP connect to port %d: %v):\n%s", ref, p.Name, target, err, pl.procs[i].Tail(15))
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	return pl.checkDatabases(mounts)
}

// checkDatabases reads the pgbouncer.ini the rendered script wrote (the
// path after `exec pgbouncer`, through the pod's mounts) and checks that
// every host of its [databases] section is the name of a rendered
// Service: a wrong name fails here, naming the ConfigMap, rather than
// as writes that never resume. It takes the drill's user from the
// auth_file.
func (pl *Pooler) checkDatabases(mounts []Mount) error {
	cm, err := pl.r.ConfigMap(pl.cm)
	if err != nil {
		return err
	}
	where := fmt.Sprintf("%s (run by %s)", pl.r.ref("ConfigMap", pl.cm), pl.r.ref("Deployment", pl.dep.Name))
	var ini, script string
	for k, v := range cm.Data {
		for _, l := range strings.Split(v, "\n") {
			if f := strings.Fields(l); len(f) == 3 && f[0] == "exec" && f[1] == "pgbouncer" {
				ini, script = f[2], k
			}
		}
	}
	if ini == "" {
		return fmt.Errorf("%s: no script runs `exec pgbouncer FILE`; the drill cannot read the pooler's configuration", where)
	}
	read := func(file string) (string, error) {
		for _, m := range mounts {
			if rel, ok := strings.CutPrefix(file, m.Target+"/"); ok {
				b, err := os.ReadFile(m.Source + "/" + rel)
				if err != nil {
					return "", fmt.Errorf("%s %s: %w", where, script, err)
				}
				return string(b), nil
			}
		}
		return "", fmt.Errorf("%s %s: %s is on no volume of the pod; the drill cannot read it", where, script, file)
	}
	data, err := read(ini)
	if err != nil {
		return err
	}
	var authFile string
	stats := map[string]bool{}
	known := map[string]bool{}
	for _, o := range pl.r.Out.Objects {
		if s, ok := o.Object.(*corev1.Service); ok {
			for _, n := range ServiceNames(s.Name, s.Namespace) {
				known[n] = true
			}
		}
	}
	section := ""
	for _, l := range strings.Split(data, "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "[") {
			section = l
			continue
		}
		if l == "" || strings.HasPrefix(l, ";") || strings.HasPrefix(l, "#") {
			continue
		}
		if section == "[pgbouncer]" {
			k, v, _ := strings.Cut(l, "=")
			switch strings.TrimSpace(k) {
			case "auth_file":
				authFile = strings.TrimSpace(v)
			case "stats_users":
				for _, u := range strings.Split(v, ",") {
					stats[strings.TrimSpace(u)] = true
				}
			}
		}
		if section != "[databases]" {
			continue
		}
		for _, f := range strings.Fields(l) {
			if host, ok := strings.CutPrefix(f, "host="); ok && !known[host] {
				return fmt.Errorf("%s %s: %s of %s: [databases] %q: host %s names no rendered Service; want the read-write Service %s", where, script, ini, pl.Pods[0].Name, l, host, pl.rwService())
			}
		}
	}
	if authFile == "" {
		return fmt.Errorf("%s %s: %s sets no auth_file; the drill finds no user to write as", where, script, ini)
	}
	users, err := read(authFile)
	if err != nil {
		return err
	}
	for _, l := range strings.Split(users, "\n") {
		// "user" "password", as the script writes them.
		f := strings.Fields(l)
		if len(f) == 2 && !stats[strings.Trim(f[0], `"`)] {
			pl.user, pl.pass = strings.Trim(f[0], `"`), strings.Trim(f[1], `"`)
			break
		}
	}
	if pl.user == "" || pl.pass == "" {
		return fmt.Errorf("%s %s: %s holds no application user with a password; the drill has no user to write as", where, script, authFile)
	}
	return nil
}

// runDatabasesJob runs the rendered databases Job's container, as
// rendered, in a pod of its own (at most 3 minutes). Debian's psql 15
// stands in for the postgres:17.6 image's psql 17.
func (pl *Pooler) runDatabasesJob(ctx context.Context, ns string) error {
	var j *batchv1.Job
	for _, o := range pl.r.Out.Objects {
		if x, ok := o.Object.(*batchv1.Job); ok && x.Namespace == ns && x.Spec.Template.Labels["app.kubernetes.io/component"] == "databases" {
			j = x
		}
	}
	if j == nil {
		return fmt.Errorf("%s: stack %s renders no databases Job in namespace %s to create the pooler's user %s", pl.r.ref("Deployment", pl.dep.Name), pl.r.Out.Stack, ns, pl.user)
	}
	jp, err := pl.h.AddPod(j.Name, ns, "")
	if err != nil {
		return err
	}
	jc, err := pl.r.prepare(jp, "Job", j.Name, j.Spec.Template.Spec, nil, j.Spec.Template.Spec.Containers[0].Name)
	if err != nil {
		return err
	}
	jc.Start.Env = append(jc.Start.Env, "PATH="+poolerPath)
	jctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	out, err := pl.h.Exec(jctx, jp, jc.Start)
	if err != nil {
		return fmt.Errorf("%s: the databases script failed: %w\n%s", pl.r.ref("Job", j.Name), err, lastLines(out, 20))
	}
	fmt.Fprintf(pl.h.log, "%s: %s\n", j.Name, strings.ReplaceAll(strings.TrimSpace(out), "\n", "; "))
	return nil
}

// psql runs SQL as the pooler's user on its database through the pooler
// Service's name, from the client pod (the password through PGPASSWORD,
// never on the command line), bounded to ten seconds.
func (pl *Pooler) psql(ctx context.Context, sql string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	host := ServiceNames(pl.svc.Name, pl.svc.Namespace)[3]
	out, err := pl.h.Exec(ctx, pl.client, StartOptions{
		Argv: []string{"psql", "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", host, "-p", fmt.Sprint(pl.port), "-U", pl.user, "-d", pl.user, "-c", sql},
		Env:  []string{"PATH=/usr/bin:/bin", "PGPASSWORD=" + pl.pass, "PGCONNECT_TIMEOUT=5"},
	})
	return strings.TrimSpace(out), err
}

// Write creates the drill's table through the pooler Service and commits
// n rows in it, each in a connection of its own; nil does nothing (no
// pooler rendered).
func (pl *Pooler) Write(ctx context.Context, n int) error {
	if pl == nil {
		return nil
	}
	if out, err := pl.psql(ctx, "create table if not exists drill_pooler (i serial primary key, phase text not null)"); err != nil {
		return fmt.Errorf("create table through the pooler Service %s as %s: %v %s; %s\n%s", pl.svc.Name, pl.user, err, out, pl.where(), pl.serverLog(15))
	}
	for k := 0; k < n; k++ {
		if out, err := pl.psql(ctx, "insert into drill_pooler (phase) values ('before')"); err != nil {
			return fmt.Errorf("write through the pooler Service %s as %s: %v %s; %s\n%s", pl.svc.Name, pl.user, err, out, pl.where(), pl.serverLog(15))
		}
	}
	return nil
}

// loseZone hard-kills the pooler pods of the lost zone (already gone when
// the zone's processes were killed together).
func (pl *Pooler) loseZone(zone string) (lost []string, err error) {
	for i, p := range pl.Pods {
		if p.Zone == zone {
			if err := pl.procs[i].Kill(); err != nil {
				return lost, err
			}
			lost = append(lost, p.Name)
		}
	}
	return lost, nil
}

// PoolerProbe times the first write through the pooler Service after a
// kill.
type PoolerProbe struct {
	pl       *Pooler
	stop     context.CancelFunc
	done     chan struct{}
	took     time.Duration
	err      error
	attempts int
	lost     []string
}

// pooledWritesBound is how long after the kill a write through the pooler
// must commit.
const pooledWritesBound = 3 * time.Minute

// ProbeAfterKill is called right after the kill of zone's processes: it
// kills the pooler pods of that zone too and, from then on, writes
// through the pooler Service every 250 ms, as an application would, until
// one commits (at most 3 minutes after the kill). Wait returns the time
// from the kill. On a nil Pooler (no pooler rendered) it returns nil.
func (pl *Pooler) ProbeAfterKill(ctx context.Context, kill time.Time, zone string) *PoolerProbe {
	if pl == nil {
		return nil
	}
	ctx, stop := context.WithCancel(ctx)
	pr := &PoolerProbe{pl: pl, stop: stop, done: make(chan struct{})}
	pl.offsets = make([]int64, len(pl.Pods))
	for i, proc := range pl.procs {
		if st, err := os.Stat(proc.LogPath); err == nil {
			pl.offsets[i] = st.Size()
		}
	}
	pl.h.AddCloser(func() error { pr.stop(); <-pr.done; return nil })
	pr.lost, pr.err = pl.loseZone(zone)
	go func() {
		defer close(pr.done)
		if pr.err != nil {
			return
		}
		var last string
		for {
			pr.attempts++
			out, err := pl.psql(ctx, "insert into drill_pooler (phase) values ('after')")
			if err == nil {
				pr.took = time.Since(kill)
				return
			}
			last = fmt.Sprintf("%v %s", err, lastLines(out, 2))
			if time.Since(kill) > pooledWritesBound || ctx.Err() != nil {
				pr.err = fmt.Errorf("no write through the pooler Service %s within %s of the kill (%d attempts; the last: %s); %s\nPgBouncer's server connections since the kill:\n%s",
					pl.r.ref("Service", pl.svc.Name), pooledWritesBound, pr.attempts, strings.TrimSpace(last), pl.where(), pl.serverLog(30))
				return
			}
			select {
			case <-ctx.Done():
			case <-time.After(250 * time.Millisecond):
			}
		}
	}()
	return pr
}

// Wait waits for the probe and returns the time from the kill to the
// first write committed through the pooler Service and the pooler pods
// lost with the zone; a nil probe returns zero values.
func (pr *PoolerProbe) Wait() (took time.Duration, lost []string, err error) {
	if pr == nil {
		return 0, nil, nil
	}
	<-pr.done
	if pr.err == nil {
		fmt.Fprintf(pr.pl.h.log, "PgBouncer's server connections from the kill to the first pooled write (%d attempts):\n%s\n", pr.attempts, pr.pl.serverLog(30))
	}
	return pr.took, pr.lost, pr.err
}

// Service is the pooler Service's name ("" on a nil Pooler).
func (pl *Pooler) Service() string {
	if pl == nil {
		return ""
	}
	return pl.svc.Name
}

// where says what the pooler runs (for messages).
func (pl *Pooler) where() string {
	return fmt.Sprintf("the pooler is %s running the scripts of %s, in front of the read-write Service %s", pl.r.ref("Deployment", pl.dep.Name), pl.r.ref("ConfigMap", pl.cm), pl.rwService())
}

// rwService names the Services without a selector the pooler is put in
// front of.
func (pl *Pooler) rwService() string {
	var out []string
	for _, o := range pl.r.Out.Objects {
		if s, ok := o.Object.(*corev1.Service); ok && s.Namespace == pl.dep.Namespace && len(s.Spec.Selector) == 0 && s.Labels["app.kubernetes.io/name"] == pl.dep.Spec.Template.Labels["app.kubernetes.io/name"] {
			out = append(out, ServiceNames(s.Name, s.Namespace)[3]+" ("+pl.r.ref("Service", s.Name)+")")
		}
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// serverLog is what the pooler pods logged about their server
// connections (lines naming a server connection, S-0x..., or the
// server) since the probe started when it has, at most n lines a pod;
// clients refused during server_login_retry are counted, not listed.
func (pl *Pooler) serverLog(n int) string {
	var b strings.Builder
	for i, p := range pl.Pods {
		data, err := os.ReadFile(pl.procs[i].LogPath)
		if err != nil {
			fmt.Fprintf(&b, "%s: %v\n", p.Name, err)
			continue
		}
		if i < len(pl.offsets) && pl.offsets[i] <= int64(len(data)) {
			data = data[pl.offsets[i]:]
		}
		var keep []string
		refused, first, last := 0, "", ""
		for _, l := range strings.Split(string(data), "\n") {
			switch {
			case strings.Contains(l, "(server_login_retry)"):
				// A LOG "closing because" and a WARNING "pooler
				// error" per refused client: the WARNING counts.
				if strings.Contains(l, "WARNING") {
					refused++
					if len(l) >= 23 {
						if first == "" {
							first = l[:23]
						}
						last = l[:23]
					}
				}
			case strings.Contains(l, " S-0x") || (strings.Contains(strings.ToLower(l), "server") && !strings.Contains(l, "stats:")):
				keep = append(keep, l)
			}
		}
		if len(keep) > n {
			keep = append([]string{fmt.Sprintf("(%d lines before)", len(keep)-n)}, keep[len(keep)-n:]...)
		}
		if refused > 0 {
			keep = append(keep, fmt.Sprintf("%d clients refused with \"server login has been failing, try again later (server_login_retry)\" from %s to %s", refused, first, last))
		}
		state := "running"
		if pl.procs[i].Exited() {
			state = "killed with the zone"
		}
		fmt.Fprintf(&b, "%s (%s, %s):\n%s\n", p.Name, p.Zone, state, strings.Join(keep, "\n"))
	}
	return strings.TrimRight(b.String(), "\n")
}

// poolerLine is the pooler's part of PatroniResult's line.
func (r *PatroniResult) poolerLine() string {
	if r.Pooler == "" {
		return ""
	}
	if r.Single {
		return fmt.Sprintf("; PgBouncer: writes through the pooler Service %s committed", r.Pooler)
	}
	lost := "none of its pods in the lost zone"
	if len(r.PoolerLost) > 0 {
		lost = "its pod " + strings.Join(r.PoolerLost, ", ") + " lost with the zone"
	}
	return fmt.Sprintf("; PgBouncer: first write through the pooler Service %s committed %s after the kill (%s)", r.Pooler, r.WritesViaPooler.Round(time.Millisecond), lost)
}
