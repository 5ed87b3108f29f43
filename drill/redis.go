package drill

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// The container environment of valkey/valkey:8.1 (valkey-io/valkey-container,
// 8.1/debian/Dockerfile): user and group valkey with UID/GID 999, the
// programs in /usr/local/bin (valkey-server, valkey-cli), WORKDIR /data. The
// pod's command (/config/start.sh) replaces the image's ENTRYPOINT
// (docker-entrypoint.sh).
//
// Debian's Redis 7.0 (packages redis-server, redis-tools) stands in for
// Valkey 8.1: the drill puts valkey-server and valkey-cli links to
// redis-server and redis-cli first on PATH and changes nothing else.
// Valkey forked from Redis 7.2.4 and keeps its cluster bus, nodes.conf and
// the configuration directives the rendered valkey.conf uses
// (cluster-announce-hostname and cluster-preferred-endpoint-type exist
// since Redis 7.0). Whether Valkey 8.1's failover and replication code
// paths time differently from Redis 7.0's is not verified: the measured
// times are Redis 7.0's.
const redisImagePath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Redis is a running Redis Cluster of the rendered per-zone StatefulSets.
type Redis struct {
	h       *Harness
	r       *Rendered
	shimDir string
	// Nodes are the cluster's pods, by StatefulSet then ordinal.
	Nodes []*redisNode
	// Client is the pod clients (and the cluster-create Job) run in.
	Client   *Pod
	password string
}

type redisNode struct {
	sts       *appsv1.StatefulSet
	ordinal   int
	pod       *Pod
	proc      *Proc
	container *Container
}

func (n *redisNode) fqdn() string { return PodFQDN(n.sts, n.ordinal) }

// zoneOfTemplate reads the zone a pod template is pinned to (a required
// node affinity on topology.kubernetes.io/zone with one value).
func zoneOfTemplate(spec corev1.PodSpec) string {
	a := spec.Affinity
	if a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return ""
	}
	for _, t := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
		for _, e := range t.MatchExpressions {
			if e.Key == "topology.kubernetes.io/zone" && e.Operator == corev1.NodeSelectorOpIn && len(e.Values) == 1 {
				return e.Values[0]
			}
		}
	}
	return ""
}

// StartRedis runs every pod of the rendered StatefulSets labelled
// app.kubernetes.io/name=redis (the "valkey" container; the exporter is
// not run), each in the zone its template is pinned to, then the
// cluster-create Job's script in a pod of its own, and waits for every node
// to pass the rendered readiness probe.
func StartRedis(ctx context.Context, h *Harness, r *Rendered, job string) (*Redis, error) {
	server, err1 := lookPath("redis-server")
	cli, err2 := lookPath("redis-cli")
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("Redis not installed (apt-get install redis-server redis-tools)")
	}
	rd := &Redis{h: h, r: r, shimDir: filepath.Join(h.Dir, "redis-shim")}
	if err := os.MkdirAll(rd.shimDir, 0o755); err != nil {
		return nil, err
	}
	for name, target := range map[string]string{"valkey-server": server, "valkey-cli": cli} {
		if err := os.Symlink(target, filepath.Join(rd.shimDir, name)); err != nil {
			return nil, err
		}
	}
	var sets []*appsv1.StatefulSet
	for _, o := range r.Out.Objects {
		if s, ok := o.Object.(*appsv1.StatefulSet); ok && s.Spec.Template.Labels["app.kubernetes.io/name"] == "redis" {
			sets = append(sets, s)
		}
	}
	if len(sets) == 0 {
		return nil, fmt.Errorf("stack %s renders no Redis StatefulSet", r.Out.Stack)
	}
	sort.Slice(sets, func(i, j int) bool { return sets[i].Name < sets[j].Name })
	for _, s := range sets {
		zone := zoneOfTemplate(s.Spec.Template.Spec)
		for i := 0; i < int(ptrOr(s.Spec.Replicas, 1)); i++ {
			name := fmt.Sprintf("%s-%d", s.Name, i)
			p, err := h.AddPod(name, s.Namespace, r.PodZone(s.Namespace, name, zone))
			if err != nil {
				return nil, err
			}
			n := &redisNode{sts: s, ordinal: i, pod: p}
			if err := h.SetName(n.fqdn(), p.Addr); err != nil {
				return nil, err
			}
			rd.Nodes = append(rd.Nodes, n)
		}
	}
	var err error
	if rd.Client, err = h.AddPod("redis-client", sets[0].Namespace, ""); err != nil {
		return nil, err
	}
	for _, n := range rd.Nodes {
		if err := rd.start(n); err != nil {
			return nil, err
		}
	}
	// The password the nodes got, for the client's commands.
	for _, e := range rd.Nodes[0].container.Start.Env {
		if v, ok := strings.CutPrefix(e, "REDIS_PASSWORD="); ok {
			rd.password = v
		}
	}
	// The cluster-create Job, as rendered, in its own pod.
	var j *batchv1.Job
	for _, o := range r.Out.Objects {
		if x, ok := o.Object.(*batchv1.Job); ok && x.Name == job {
			j = x
		}
	}
	if j == nil {
		return nil, fmt.Errorf("stack %s renders no Job %s", r.Out.Stack, job)
	}
	jp, err := h.AddPod(job, j.Namespace, "")
	if err != nil {
		return nil, err
	}
	jc, err := r.prepare(jp, "Job", j.Name, j.Spec.Template.Spec, nil, j.Spec.Template.Spec.Containers[0].Name)
	if err != nil {
		return nil, err
	}
	jc.Start.Env = append(jc.Start.Env, "PATH="+rd.shimDir+":"+redisImagePath)
	jctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	if out, err := h.Exec(jctx, jp, jc.Start); err != nil {
		return nil, fmt.Errorf("%s: the cluster-create script failed: %w\n%s", r.ref("Job", j.Name), err, lastLines(out, 20))
	}
	return rd, nil
}

func lookPath(name string) (string, error) {
	for _, d := range []string{"/usr/bin", "/usr/local/bin", "/bin"} {
		p := filepath.Join(d, name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found", name)
}

func (rd *Redis) start(n *redisNode) error {
	c, err := rd.r.PrepareContainer(n.pod, n.sts, "valkey")
	if err != nil {
		return err
	}
	c.Start.Env = append(c.Start.Env, "PATH="+rd.shimDir+":"+redisImagePath)
	c.Start.Dir = "/data"
	pr, err := rd.h.Start(n.pod, c.Start)
	if err != nil {
		return err
	}
	n.proc, n.container = pr, c
	return nil
}

// ready runs the rendered readiness probe in the node's pod.
func (rd *Redis) ready(ctx context.Context, n *redisNode) (string, bool) {
	probe := n.container.Spec.ReadinessProbe
	if probe == nil || probe.Exec == nil {
		return "no exec readiness probe", false
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c := n.container
	out, err := rd.h.Exec(ctx, n.pod, StartOptions{Argv: probe.Exec.Command, Env: c.Start.Env, UID: c.Start.UID, GID: c.Start.GID, Mounts: c.Start.Mounts})
	return strings.TrimSpace(out), err == nil
}

// waitReady waits for the nodes to pass the rendered readiness probe
// (PONG and cluster_state:ok).
func (rd *Redis) waitReady(ctx context.Context, nodes []*redisNode, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		var bad []string
		for _, n := range nodes {
			if n.proc.Exited() {
				return fmt.Errorf("%s: %s exited:\n%s", rd.r.ref("StatefulSet", n.sts.Name), n.pod.Name, n.proc.Tail(20))
			}
			if out, ok := rd.ready(ctx, n); !ok {
				bad = append(bad, n.pod.Name+": "+out)
			}
		}
		if len(bad) == 0 {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("Redis not ready after %s (rendered readiness probe of %s): %s", timeout, rd.r.ref("ConfigMap", "redis-config"), strings.Join(bad, "; "))
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// cli runs redis-cli from the client pod (the password through
// REDISCLI_AUTH, never on the command line).
func (rd *Redis) cli(ctx context.Context, script string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	out, err := rd.h.Exec(ctx, rd.Client, StartOptions{Argv: []string{"/bin/bash", "-c", script}, Env: []string{"PATH=" + rd.shimDir + ":" + redisImagePath, "REDISCLI_AUTH=" + rd.password}})
	return strings.ReplaceAll(out, "\r", ""), err
}

// info is a field of CLUSTER INFO or INFO replication of one node.
func (rd *Redis) info(ctx context.Context, n *redisNode, section, field string) string {
	out, _ := rd.cli(ctx, fmt.Sprintf("valkey-cli --no-auth-warning -h %s %s", n.fqdn(), section))
	for _, l := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// RedisResult is what the Redis drill measured.
type RedisResult struct {
	// Nodes is the cluster's size; Zone the lost zone and Killed its pods.
	Nodes  int
	Zone   string
	Killed []string
	// LostMasters are the masters that were in the lost zone; Promoted the
	// replicas that took over.
	LostMasters, Promoted []string
	// SyncWait is how long after the cluster was ready every replica had
	// completed its first sync (the window in which a zone loss is not
	// survived).
	SyncWait time.Duration
	// Written and Lost count the keys written (acknowledged) before the
	// kill and those missing afterwards.
	Written, Lost int
	// Failover is the time from the kill to cluster_state:ok on every
	// surviving node with every slot served; Rejoin the time from the
	// restart to the whole cluster ready again.
	Failover, Rejoin time.Duration
}

// String is the result's line of the RTO/RPO table.
func (r *RedisResult) String() string {
	return fmt.Sprintf("Redis Cluster: %d nodes, zone %s lost (%s; masters %s): replicas %s promoted, cluster_state:ok on the survivors %s after the kill, %d of %d acknowledged keys lost, lost nodes rejoined in %s (replicas' first sync done %s after the writes)",
		r.Nodes, r.Zone, strings.Join(r.Killed, ", "), strings.Join(r.LostMasters, ", "), strings.Join(r.Promoted, ", "), r.Failover.Round(time.Millisecond), r.Lost, r.Written, r.Rejoin.Round(time.Millisecond), r.SyncWait.Round(time.Millisecond))
}

// RedisDrill creates the rendered Redis Cluster, writes keys across the
// slots, hard-kills the nodes of the first zone, waits for the lost
// masters' replicas to be promoted and cluster_state:ok on every survivor,
// counts the keys lost (replication is asynchronous: the loss window is
// what the replicas had not received), restarts the lost nodes on their
// volumes and waits for the whole cluster to be ready again.
func RedisDrill(ctx context.Context, h *Harness, r *Rendered, job string) (*RedisResult, error) {
	rd, err := StartRedis(ctx, h, r, job)
	if err != nil {
		return nil, err
	}
	if err := rd.waitReady(ctx, rd.Nodes, 2*time.Minute); err != nil {
		return nil, err
	}
	res := &RedisResult{Nodes: len(rd.Nodes), Zone: r.ZoneOfOrdinal(0)}
	entry := rd.Nodes[0].fqdn()
	const keys = 300
	out, err := rd.cli(ctx, fmt.Sprintf(`n=0; for i in $(seq 1 %d); do r="$(valkey-cli --no-auth-warning -c -h %s set drill:$i v$i)"; [ "$r" = OK ] && n=$((n+1)); done; echo "written $n"`, keys, entry))
	if err != nil || !strings.Contains(out, fmt.Sprintf("written %d", keys)) {
		return nil, fmt.Errorf("writes through %s: %v\n%s", entry, err, lastLines(out, 10))
	}
	res.Written = keys
	var lost, survivors []*redisNode
	for _, n := range rd.Nodes {
		if n.pod.Zone == res.Zone {
			lost = append(lost, n)
			if rd.info(ctx, n, "info replication", "role") == "master" {
				res.LostMasters = append(res.LostMasters, n.pod.Name)
			}
		} else {
			survivors = append(survivors, n)
		}
	}
	if len(lost) == 0 {
		return nil, fmt.Errorf("no Redis node pinned to zone %s", res.Zone)
	}
	roles := map[string]string{}
	for _, n := range survivors {
		roles[n.pod.Name] = rd.info(ctx, n, "info replication", "role")
	}
	// Every replica synced with its master first. The rendered readiness
	// probe (PONG and cluster_state:ok) passes before a replica's first
	// sync, which waits at least repl-diskless-sync-delay (5 s by
	// default); a replica that never synced refuses to fail over (its data
	// age is unbounded), so losing its master's zone in that window leaves
	// the slots unserved. Found by this drill; the drill waits it out.
	syncDeadline := time.Now().Add(time.Minute)
	for {
		var unsynced []string
		for _, n := range rd.Nodes {
			if rd.info(ctx, n, "info replication", "role") == "slave" && rd.info(ctx, n, "info replication", "master_link_status") != "up" {
				unsynced = append(unsynced, n.pod.Name)
			}
		}
		if len(unsynced) == 0 {
			break
		}
		if time.Now().After(syncDeadline) || ctx.Err() != nil {
			return res, fmt.Errorf("replicas %v not synced with their masters within 1m of the cluster's creation", unsynced)
		}
		time.Sleep(300 * time.Millisecond)
	}
	res.SyncWait = time.Since(syncDeadline.Add(-time.Minute))
	if err := r.loseZone(ctx, res.Zone); err != nil {
		return res, err
	}
	kill := time.Now()
	for _, n := range lost {
		if err := n.proc.Kill(); err != nil {
			return res, err
		}
		res.Killed = append(res.Killed, n.pod.Name)
	}
	// Right after the kill the survivors still say ok: done is when the
	// lost masters' replicas are masters and every survivor says ok.
	deadline := kill.Add(2 * time.Minute)
	for {
		res.Promoted = nil
		for _, n := range survivors {
			if roles[n.pod.Name] != "master" && rd.info(ctx, n, "info replication", "role") == "master" {
				res.Promoted = append(res.Promoted, n.pod.Name)
			}
		}
		ok := len(res.Promoted) >= len(res.LostMasters)
		for _, n := range survivors {
			if !ok {
				break
			}
			ok = rd.info(ctx, n, "cluster info", "cluster_state") == "ok"
		}
		if ok {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			nodes, _ := rd.cli(ctx, "valkey-cli --no-auth-warning -h "+survivors[0].fqdn()+" cluster nodes")
			var logs []string
			for _, n := range survivors {
				logs = append(logs, n.pod.Name+":\n"+n.proc.Tail(8))
			}
			return res, fmt.Errorf("%s\n%s\nRedis Cluster: masters lost %v, replicas promoted %v; not back to cluster_state:ok on every survivor within 2m of losing zone %s (cluster-node-timeout in %s)", nodes, strings.Join(logs, "\n"), res.LostMasters, res.Promoted, res.Zone, rd.r.ref("ConfigMap", "redis-config"))
		}
		time.Sleep(200 * time.Millisecond)
	}
	res.Failover = time.Since(kill)
	out, err = rd.cli(ctx, fmt.Sprintf(`n=0; for i in $(seq 1 %d); do r="$(valkey-cli --no-auth-warning -c -h %s get drill:$i)"; [ "$r" = v$i ] && n=$((n+1)); done; echo "found $n"`, keys, survivors[0].fqdn()))
	if err != nil {
		return res, fmt.Errorf("reads after the loss: %v\n%s", err, lastLines(out, 10))
	}
	found := 0
	fmt.Sscanf(lastLines(out, 1), "found %d", &found)
	res.Lost = keys - found
	// The zone comes back on its volumes (nodes.conf kept).
	if err := r.restoreZone(ctx, res.Zone); err != nil {
		return res, err
	}
	back := time.Now()
	for _, n := range lost {
		if err := rd.start(n); err != nil {
			return res, err
		}
	}
	if err := rd.waitReady(ctx, rd.Nodes, 2*time.Minute); err != nil {
		return res, fmt.Errorf("rejoin: %w", err)
	}
	for _, n := range rd.Nodes {
		if k := rd.info(ctx, n, "cluster info", "cluster_known_nodes"); k != strconv.Itoa(len(rd.Nodes)) {
			return res, fmt.Errorf("rejoin: %s knows %s nodes, want %d", n.pod.Name, k, len(rd.Nodes))
		}
	}
	res.Rejoin = time.Since(back)
	return res, nil
}
