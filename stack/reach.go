package stack

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
)

// Pods names the pods of one role of a component: those whose pod
// template carries the component's selector labels for that role
// (app.kubernetes.io/name, instance and component). Jobs are pods too: a
// schema Job is a consumer like any workload.
type Pods struct {
	c    *Component
	role string
}

// Pods returns the pods of a role of the component; "" is the main role
// (Meta.Role). On a nil component it returns pods of no component, whose
// endpoints synthesis reports as a wiring error instead of panicking (a
// handle built by hand).
func (c *Component) Pods(role string) Pods {
	if c == nil {
		return Pods{role: role}
	}
	if role == "" {
		role = c.meta.Role
	}
	return Pods{c: c, role: role}
}

// Component returns the component the pods belong to.
func (p Pods) Component() *Component { return p.c }

// Role returns the pods' app.kubernetes.io/component label value.
func (p Pods) Role() string { return p.role }

// Port is the TCP container port named name on these pods: what a
// consumer is allowed to open. Synthesis checks that the pods declare it.
func (p Pods) Port(name string) Endpoint {
	return Endpoint{pods: p, port: name, protocol: corev1.ProtocolTCP}
}

// PortUDP is the UDP container port named name on these pods.
func (p Pods) PortUDP(name string) Endpoint {
	return Endpoint{pods: p, port: name, protocol: corev1.ProtocolUDP}
}

// Endpoint is a named container port of the pods of one role of a
// component. Handles return Endpoints next to the addresses they hand out
// (kafka.Handle.Client(), postgres.Handle.PoolerEndpoint(), ...), so that
// a consumer wired from a handle can also be allowed to reach it.
type Endpoint struct {
	pods     Pods
	port     string // a container port name, or "" for the range below
	from, to int32  // a numeric TCP port range, for ports no container declares
	protocol corev1.Protocol
}

// PortRange is the TCP ports from..to of these pods, for listeners a
// process opens without declaring them as container ports (the Erlang
// distribution ports of a VerneMQ cluster). Prefer Port: a named port is
// checked against the pods at synthesis.
func (p Pods) PortRange(from, to int32) Endpoint {
	return Endpoint{pods: p, from: from, to: to, protocol: corev1.ProtocolTCP}
}

// Pods returns the pods the endpoint belongs to.
func (e Endpoint) Pods() Pods { return e.pods }

// IsZero reports whether the endpoint names no component (the zero
// Endpoint, or one taken from a handle built without components).
func (e Endpoint) IsZero() bool { return e.pods.c == nil }

// PortName returns the container port's name.
func (e Endpoint) PortName() string { return e.port }

// Protocol returns the port's protocol.
func (e Endpoint) Protocol() corev1.Protocol { return e.protocol }

// String is component/role:port, for errors.
func (e Endpoint) String() string {
	if e.pods.c == nil {
		return "a zero Endpoint"
	}
	if e.port == "" {
		return fmt.Sprintf("%s/%s:%d-%d", e.pods.c.name, e.pods.role, e.from, e.to)
	}
	return fmt.Sprintf("%s/%s:%s", e.pods.c.name, e.pods.role, e.port)
}

// grant is one allowed connection: from pods (every role of fromAll when
// set) to an endpoint of the component holding the grant.
type grant struct {
	to      Endpoint
	from    Pods
	fromAll *Component
}

// Uses allows the pods of role p to open each endpoint: the rule lands in
// the NetworkPolicy of the endpoint's pods. The endpoint's component may
// belong to another stack (a load test applied next to the stack it
// tests); a consumer in another namespace is admitted through a namespace
// selector on kubernetes.io/metadata.name.
func (p Pods) Uses(eps ...Endpoint) {
	for _, e := range eps {
		if e.pods.c == nil {
			if p.c != nil {
				p.c.wiring = append(p.c.wiring, fmt.Sprintf("uses %s, which names no component; take endpoints from handles or Component.Pods", e))
			}
			continue
		}
		e.pods.c.grants = append(e.pods.c.grants, grant{to: e, from: p})
	}
}

// Uses allows every pod of the component (each role whose pod template it
// owns, Jobs included) to open each endpoint. Use Pods(role).Uses when
// only one role connects.
func (c *Component) Uses(eps ...Endpoint) {
	for _, e := range eps {
		if e.pods.c == nil {
			c.wiring = append(c.wiring, fmt.Sprintf("uses %s, which names no component; take endpoints from handles or Component.Pods", e))
			continue
		}
		e.pods.c.grants = append(e.pods.c.grants, grant{to: e, fromAll: c})
	}
}

// AllowFrom is the provider's side of Uses: it allows each of from to
// open the endpoint.
func (e Endpoint) AllowFrom(from ...Pods) {
	for _, p := range from {
		p.Uses(e)
	}
}

// Peers allows the pods of a role of the component to open the named TCP
// ports of each other: gossip, raft, replication, cluster buses.
func (c *Component) Peers(role string, ports ...string) {
	p := c.Pods(role)
	for _, port := range ports {
		p.Uses(p.Port(port))
	}
}
