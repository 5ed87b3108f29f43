package cassandra

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/iotstack/iotstack/components/internal/sts"
)

// Consistency is a CQL consistency level.
type Consistency string

// The consistency levels a consumer may choose.
const (
	One         Consistency = "ONE"
	Two         Consistency = "TWO"
	Three       Consistency = "THREE"
	Quorum      Consistency = "QUORUM"
	LocalQuorum Consistency = "LOCAL_QUORUM"
	LocalOne    Consistency = "LOCAL_ONE"
	EachQuorum  Consistency = "EACH_QUORUM"
	All         Consistency = "ALL"
)

// KeyspaceSpec is what a consumer asks for.
type KeyspaceSpec struct {
	// Name is the keyspace name: lower-case letters, digits and '_',
	// starting with a letter.
	Name string
	// ReplicationFactor is the replicas per datacenter
	// (NetworkTopologyStrategy); default 3, or the node count if smaller.
	ReplicationFactor int
	// ReadConsistency and WriteConsistency default to LOCAL_QUORUM, or ONE
	// when the replication factor is below 3.
	ReadConsistency, WriteConsistency Consistency
}

// Keyspace is a declared keyspace, as consumers configure their clients.
type Keyspace struct {
	Name                              string
	ReplicationFactor                 int
	ReadConsistency, WriteConsistency Consistency
	// Datacenter is the local datacenter to name in the client.
	Datacenter string
}

var keyspaceName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,47}$`)

// Keyspace declares a keyspace: the schema Job creates it, or alters it and
// repairs when its replication factor changed. It returns what the
// consumer configures its client with.
func (h *Handle) Keyspace(spec KeyspaceSpec) (Keyspace, error) {
	if spec.ReplicationFactor == 0 {
		spec.ReplicationFactor = min(3, h.cfg.Nodes)
	}
	def := LocalQuorum
	if spec.ReplicationFactor < 3 {
		def = One // a quorum of fewer than 3 replicas tolerates no failure
	}
	if spec.ReadConsistency == "" {
		spec.ReadConsistency = def
	}
	if spec.WriteConsistency == "" {
		spec.WriteConsistency = def
	}
	if !keyspaceName.MatchString(spec.Name) || strings.HasPrefix(spec.Name, "system") {
		return Keyspace{}, fmt.Errorf("cassandra: keyspace name %q; allowed: a lower-case letter, then up to 47 lower-case letters, digits or '_', not starting with \"system\"", spec.Name)
	}
	for _, k := range h.keyspaces {
		if k.Name == spec.Name {
			return Keyspace{}, fmt.Errorf("cassandra: keyspace %q is declared twice", spec.Name)
		}
	}
	if spec.ReplicationFactor < 1 || spec.ReplicationFactor > h.cfg.Nodes {
		return Keyspace{}, fmt.Errorf("cassandra: keyspace %s: replicationFactor %d; must be 1 to %d (the number of nodes)", spec.Name, spec.ReplicationFactor, h.cfg.Nodes)
	}
	for _, c := range []struct {
		field string
		level Consistency
	}{{"readConsistency", spec.ReadConsistency}, {"writeConsistency", spec.WriteConsistency}} {
		if err := checkConsistency(spec.Name, c.field, c.level, spec.ReplicationFactor); err != nil {
			return Keyspace{}, err
		}
	}
	k := Keyspace{Name: spec.Name, ReplicationFactor: spec.ReplicationFactor, ReadConsistency: spec.ReadConsistency, WriteConsistency: spec.WriteConsistency, Datacenter: h.cfg.Datacenter}
	h.keyspaces = append(h.keyspaces, k)
	h.render()
	return k, nil
}

// checkConsistency rejects levels that cannot survive the loss of a
// replica at the given replication factor, explaining why.
func checkConsistency(ks, field string, level Consistency, rf int) error {
	need := map[Consistency]int{One: 1, LocalOne: 1, Two: 2, Three: 3, Quorum: rf/2 + 1, LocalQuorum: rf/2 + 1, EachQuorum: rf/2 + 1, All: rf}
	n, ok := need[level]
	if !ok {
		return fmt.Errorf("cassandra: keyspace %s: %s %q; allowed: ONE, TWO, THREE, QUORUM, LOCAL_QUORUM, LOCAL_ONE, EACH_QUORUM, ALL", ks, field, level)
	}
	if n > rf {
		return fmt.Errorf("cassandra: keyspace %s: %s %s needs %d replicas but the replication factor is %d", ks, field, level, n, rf)
	}
	if (level == Quorum || level == LocalQuorum || level == EachQuorum) && rf < 3 {
		return fmt.Errorf("cassandra: keyspace %s: %s %s with replication factor %d needs %d of %d replicas: no fault tolerance (one node down fails every request); use replication factor 3, or ONE", ks, field, level, rf, n, rf)
	}
	if level == All && rf > 1 {
		return fmt.Errorf("cassandra: keyspace %s: %s ALL fails whenever any of the %d replicas is down: no fault tolerance; use QUORUM or LOCAL_QUORUM", ks, field, rf)
	}
	return nil
}

// render rewrites the schema Job's script from the declared keyspaces.
func (h *Handle) render() {
	var hosts []string
	for _, n := range h.nodes {
		hosts = append(hosts, n.Host)
	}
	h.script.Data = map[string]string{"schema.sh": schemaScript(hosts, h.cfg.Datacenter, min(3, h.cfg.Nodes), h.keyspaces)}
	// A finished Job never runs again and its pod template is immutable:
	// the Job is named after its script, so a changed schema is a new Job
	// (the apply engine prunes the old one).
	if h.Schema != nil {
		h.Schema.Name = h.cfg.Name + "-schema-" + sts.Checksum(h.script)[:8]
	}
}

// Keyspaces returns the declared keyspaces in declaration order.
func (h *Handle) Keyspaces() []Keyspace { return append([]Keyspace(nil), h.keyspaces...) }
