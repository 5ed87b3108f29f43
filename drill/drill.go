// Package drill runs the zone-loss drill for real: the data tier's own
// server processes (ZooKeeper, the Redis Cluster, Patroni with PostgreSQL
// on a simulated cluster's API server, and the PgBouncer pooler in front
// of the read-write Service) started from exactly the rendered
// configuration, each in a network namespace of its own with a hosts file
// resolving the names the stack wires in, then one zone's processes
// hard-killed and the survivors checked and timed.
//
// Services that clients reach by their virtual address (the read-write
// Service, whose Endpoints Patroni writes, and the pooler Service) get a
// userspace proxy on an address of the drill's bridge, as kube-proxy's
// userspace mode did (service.go): per connection it picks a ready
// endpoint (from the API server's Endpoints, or the pooler pods that run)
// and splices the bytes; headless Services resolve to the pods' own
// addresses.
//
// What it reproduces: the ConfigMap files and scripts with their modes,
// the pod spec's command, environment (values, the pod's name, namespace
// and address, the Secrets the apply engine generates, with values drawn
// the same way), runAsUser/runAsGroup/fsGroup, emptyDirs and one
// directory per volume claim (kept across a restart of the pod, as a PVC
// is), the pod DNS names through the headless Service and the readiness
// probe's own script.
//
// Where it differs: Debian's packages stand in for the images (ZooKeeper
// 3.8 for 3.9.3, Redis 7.0 for Valkey 8.1, Patroni 3.0 and PostgreSQL 15
// for Spilo 4.0, whose entrypoint is replaced by the nearest Patroni
// configuration, PgBouncer 1.18 for 1.25.1; see zookeeper.go, redis.go,
// patroni.go and pgbouncer.go);
// readOnlyRootFilesystem, capabilities, seccomp and resource limits are
// not enforced; network policies are not enforced (one flat bridge); the
// zone of a pod comes from its template (a Redis StatefulSet's zone pin)
// or the StatefulSet's one-per-zone spread (ordinal i in the i-th zone)
// rather than from the simulated cluster's scheduler: the simulated
// cluster serves Patroni's DCS only, no zone is drained on it. A
// Deployment's pods (the pooler's) are named by index and take the zones
// in order, as its one-per-zone topology spread places them; the pooler's
// exporter container is not run; behind a Service proxy a server sees the
// host's bridge address as the client's, not the pod's.
package drill

import (
	"fmt"

	"github.com/iotstack/iotstack/apply"
	"github.com/iotstack/iotstack/profiles"
	"github.com/iotstack/iotstack/stack"
	"github.com/iotstack/iotstack/values"
)

// Render synthesizes a profile with its default values (plus sets, the
// --set syntax) and generates the Secrets as the apply engine would.
func Render(profile string, sets ...string) (*Rendered, error) {
	return RenderValues(profile, nil, sets)
}

// RenderValues is Render with values documents too (values=FILE).
func RenderValues(profile string, docs []values.Doc, sets []string) (*Rendered, error) {
	p, err := profiles.Get(profile)
	if err != nil {
		return nil, err
	}
	v, err := p.Load(docs, sets)
	if err != nil {
		return nil, fmt.Errorf("profile %s: values: %w", profile, err)
	}
	b, err := p.BuildValues(v)
	if err != nil {
		return nil, err
	}
	out, err := b.Stack.Synth()
	if err != nil {
		return nil, err
	}
	return FromOutput(out)
}

// FromOutput wraps a synthesized stack, generating its Secrets with the
// apply engine's generator.
func FromOutput(out *stack.Output) (*Rendered, error) {
	r := &Rendered{Out: out, Secrets: map[string]map[string]string{}}
	for _, s := range out.Secrets {
		data := map[string]string{}
		for _, k := range s.Keys {
			if k.Kind == stack.UserProvided {
				continue
			}
			v, err := apply.Generate(k)
			if err != nil {
				return nil, err
			}
			data[k.Key] = v
		}
		r.Secrets[s.Name] = data
	}
	return r, nil
}

// ZoneOfOrdinal is the zone of a one-per-zone StatefulSet's pod: ordinal
// i in the i-th zone of the topology (modulo the number of zones).
func (r *Rendered) ZoneOfOrdinal(i int) string {
	z := r.Out.Topology.Zones
	if len(z) == 0 {
		return ""
	}
	return z[i%len(z)]
}
