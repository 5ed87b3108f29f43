package stack

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// Placement says where a workload's pods may run. Components take it from
// their Config and hand it to Topology.Place.
type Placement struct {
	// Pool is the node pool the pods must run on; empty means any node.
	Pool string
	// SpreadZones spreads the pods evenly over the topology's zones, hard
	// (maxSkew 1, DoNotSchedule). Ignored on a single-zone topology.
	SpreadZones bool
	// OnePerHost forbids two of the pods on one node (required
	// anti-affinity on kubernetes.io/hostname): never two members of a
	// quorum on one host.
	OnePerHost bool
}

// Place writes the placement into spec: node affinity and tolerations for
// the pool, zone topologySpreadConstraints and host anti-affinity for the
// pods matched by selector. It returns an error for an unknown pool.
func (t Topology) Place(spec *corev1.PodSpec, selector map[string]string, p Placement) error {
	if p.Pool != "" {
		pool, err := t.Pool(p.Pool)
		if err != nil {
			return err
		}
		if na := PoolAffinity(pool); na != nil {
			ensureAffinity(spec).NodeAffinity = na
		}
		spec.Tolerations = append(spec.Tolerations, PoolTolerations(pool)...)
	}
	if p.SpreadZones && t.MultiZone() {
		spec.TopologySpreadConstraints = append(spec.TopologySpreadConstraints, t.ZoneSpread(selector))
	}
	if p.OnePerHost {
		ensureAffinity(spec).PodAntiAffinity = HostAntiAffinity(selector)
	}
	return nil
}

func ensureAffinity(spec *corev1.PodSpec) *corev1.Affinity {
	if spec.Affinity == nil {
		spec.Affinity = &corev1.Affinity{}
	}
	return spec.Affinity
}

// HostAntiAffinity returns a required pod anti-affinity that keeps pods
// matching selector on distinct nodes.
func HostAntiAffinity(selector map[string]string) *corev1.PodAntiAffinity {
	return &corev1.PodAntiAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
			LabelSelector: &metav1.LabelSelector{MatchLabels: copyLabels(selector)},
			TopologyKey:   HostnameLabel,
		}},
	}
}

// ZoneSpread returns a hard topology spread constraint over the zone label
// for pods matching selector: maxSkew 1, DoNotSchedule, and minDomains equal
// to the number of zones, so that while a zone is down its pods stay
// Pending instead of doubling up in a surviving zone.
func (t Topology) ZoneSpread(selector map[string]string) corev1.TopologySpreadConstraint {
	c := corev1.TopologySpreadConstraint{
		MaxSkew:           1,
		TopologyKey:       ZoneLabel,
		WhenUnsatisfiable: corev1.DoNotSchedule,
		LabelSelector:     &metav1.LabelSelector{MatchLabels: copyLabels(selector)},
	}
	if len(t.Zones) > 1 {
		c.MinDomains = ptr.To(int32(len(t.Zones)))
	}
	return c
}

// PoolAffinity returns a required node affinity on every label of the pool,
// or nil when the pool has no labels (a single-pool topology).
func PoolAffinity(pool NodePool) *corev1.NodeAffinity {
	if len(pool.Labels) == 0 {
		return nil
	}
	var reqs []corev1.NodeSelectorRequirement
	for _, k := range sortedKeys(pool.Labels) {
		reqs = append(reqs, corev1.NodeSelectorRequirement{
			Key: k, Operator: corev1.NodeSelectorOpIn, Values: []string{pool.Labels[k]},
		})
	}
	return &corev1.NodeAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
			NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: reqs}},
		},
	}
}

// PoolTolerations returns one toleration per taint of the pool.
func PoolTolerations(pool NodePool) []corev1.Toleration {
	var out []corev1.Toleration
	for _, taint := range pool.Taints {
		tol := corev1.Toleration{Key: taint.Key, Effect: taint.Effect, Operator: corev1.TolerationOpEqual, Value: taint.Value}
		if taint.Value == "" {
			tol.Operator = corev1.TolerationOpExists
		}
		out = append(out, tol)
	}
	return out
}

func copyLabels(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// PinZone adds a required node affinity on one zone of the topology to
// spec, in every node selector term (so it combines with pool affinity).
func (t Topology) PinZone(spec *corev1.PodSpec, zone string) error {
	known := false
	for _, z := range t.Zones {
		known = known || z == zone
	}
	if !known {
		return fmt.Errorf("topology: no zone %q (zones: %v)", zone, t.Zones)
	}
	req := corev1.NodeSelectorRequirement{Key: ZoneLabel, Operator: corev1.NodeSelectorOpIn, Values: []string{zone}}
	aff := ensureAffinity(spec)
	if aff.NodeAffinity == nil {
		aff.NodeAffinity = &corev1.NodeAffinity{}
	}
	if aff.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		aff.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution = &corev1.NodeSelector{
			NodeSelectorTerms: []corev1.NodeSelectorTerm{{}},
		}
	}
	terms := aff.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
	for i := range terms {
		terms[i].MatchExpressions = append(terms[i].MatchExpressions, req)
	}
	return nil
}
