package drill

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"

	"github.com/iotstack/iotstack/values"
)

// Options configure Run.
type Options struct {
	// Log receives progress lines (nil: discarded).
	Log io.Writer
	// Values are values documents and Sets overrides (the --set syntax).
	Values []values.Doc
	Sets   []string
	// Timeout bounds each part (default 8 minutes).
	Timeout time.Duration
	// Root is the module's root (test/tools builds the simulated
	// cluster's programs for the PostgreSQL part).
	Root string
}

// Report is what Run measured, one line per datastore part.
type Report struct {
	// Profile is the profile drilled.
	Profile string
	// Versions are the programs that stood in for the images.
	Versions []string
	// Lines are the parts' results, in order.
	Lines []string
	// Skipped are the parts the profile renders that the drill does not
	// run yet, with the reason.
	Skipped []string
	// Cluster is what happened on the simulated cluster: the apply, each
	// zone drained and restored.
	Cluster []string
}

// String is the report as printed by mage drill.
func (r *Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "drill %s (%s)\n", r.Profile, strings.Join(r.Versions, "; "))
	for _, l := range r.Lines {
		fmt.Fprintf(&b, "  %s\n", l)
	}
	for _, c := range r.Cluster {
		fmt.Fprintf(&b, "  cluster: %s\n", c)
	}
	for _, s := range r.Skipped {
		fmt.Fprintf(&b, "  not drilled: %s\n", s)
	}
	return b.String()
}

// Run drills one profile: every part it renders that the drill knows
// (ZooKeeper ensembles, the Redis Cluster), each in a harness of its own
// that is removed afterwards, also on failure. An error is a failed part
// and names the rendered object.
func Run(ctx context.Context, profile string, opts Options) (*Report, error) {
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	if opts.Timeout == 0 {
		opts.Timeout = 8 * time.Minute
	}
	r, err := RenderValues(profile, opts.Values, opts.Sets)
	if err != nil {
		return nil, err
	}
	rep := &Report{Profile: profile, Versions: Versions()}
	var zk, pg []string
	redisJob := ""
	for _, o := range r.Out.Objects {
		switch x := o.Object.(type) {
		case *appsv1.StatefulSet:
			switch x.Spec.Template.Labels["app.kubernetes.io/name"] {
			case "zookeeper":
				zk = append(zk, x.Name)
			case "postgres":
				pg = append(pg, x.Name) // with the pooler in front of it, when rendered (PatroniDrill)
			}
		case *batchv1.Job:
			if x.Spec.Template.Labels["app.kubernetes.io/name"] == "redis" && x.Spec.Template.Labels["app.kubernetes.io/component"] == "cluster-create" {
				redisJob = x.Name
			}
		}
	}
	part := func(name string, f func(ctx context.Context, h *Harness) (fmt.Stringer, error)) error {
		ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
		defer cancel()
		h, err := NewHarness(opts.Log)
		if err != nil {
			return err
		}
		res, err := f(ctx, h)
		if cerr := h.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("cleanup: %w", cerr)
		}
		if err != nil {
			return fmt.Errorf("%s %s: %w", profile, name, err)
		}
		rep.Lines = append(rep.Lines, res.String())
		fmt.Fprintln(opts.Log, res)
		return nil
	}
	if len(zk)+len(pg) > 0 || redisJob != "" {
		// One simulated cluster for the whole drill, with the profile
		// applied as mage sim applies it.
		dctx, cancel := context.WithTimeout(ctx, opts.Timeout)
		cl, err := DeployCluster(dctx, opts.Root, r, opts.Log)
		cancel()
		if err != nil {
			return rep, fmt.Errorf("%s: %w", profile, err)
		}
		defer cl.Stop()
		defer func() { rep.Cluster = cl.Events }()
	}
	for _, name := range zk {
		if err := part("ZooKeeper "+name, func(ctx context.Context, h *Harness) (fmt.Stringer, error) {
			return ZooKeeperDrill(ctx, h, r, name)
		}); err != nil {
			return rep, err
		}
	}
	if redisJob != "" {
		if err := part("Redis", func(ctx context.Context, h *Harness) (fmt.Stringer, error) {
			return RedisDrill(ctx, h, r, redisJob)
		}); err != nil {
			return rep, err
		}
	}
	for _, name := range pg {
		if err := part("PostgreSQL "+name, func(ctx context.Context, h *Harness) (fmt.Stringer, error) {
			return PatroniDrill(ctx, h, r, r.cluster.APIServer, name)
		}); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// Versions are the stand-ins' versions as the programs report them.
func Versions() []string {
	var v []string
	for _, c := range [][]string{{"redis-server", "--version"}, {"dpkg-query", "-W", "-f", "zookeeper ${Version}", "zookeeper"}, {"dpkg-query", "-W", "-f", "patroni ${Version}", "patroni"}, {"dpkg-query", "-W", "-f", "postgresql-15 ${Version}", "postgresql-15"}, {"dpkg-query", "-W", "-f", "pgbouncer ${Version}", "pgbouncer"}} {
		out, err := exec.Command(c[0], c[1:]...).Output()
		if err == nil {
			s := strings.TrimSpace(string(out))
			if f := strings.Fields(s); c[0] == "redis-server" && len(f) >= 3 {
				s = "Redis " + strings.TrimPrefix(f[2], "v=")
			}
			v = append(v, s)
		}
	}
	return v
}
