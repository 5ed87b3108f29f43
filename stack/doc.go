// Package stack is the construct core of iotstack: a Stack holds Components,
// each Component owns typed k8s.io/api objects, and Synth turns the whole
// tree into deterministic, validated YAML.
//
// The data path runs one way:
//
//	profile ──► component constructors ──► typed objects in a Stack
//	Stack.Synth ──► validate ──► label ──► order ──► render ──► Output ──► dist/<profile>/
//
// Constructors (see the components/ packages) add objects through
// Component.Add and return a handle from which dependents are wired, so no
// Service name is ever typed twice. The Topology, declared once per profile,
// answers placement questions (one replica per zone, node-pool affinity).
//
// Secrets are never rendered: a component declares the Secrets it needs with
// Component.DeclareSecret, references them by name and key, and the apply
// engine creates missing ones with random values. A Secret object carrying
// data is a validation error, so no credential can reach dist/.
//
// Network isolation: Synth adds one NetworkPolicy per role of each
// component with pods, selecting exactly that role's pods (the workload's
// own selector labels), and refuses any NetworkPolicy that selects another
// component's pods. A policy admits the declared consumers and peers on
// the ports they use (Component.Uses, Pods.Uses, Endpoint.AllowFrom,
// Component.Peers; handles hand out the Endpoints next to the addresses),
// anyone on the ports a LoadBalancer or NodePort Service or an Ingress
// exposes, and the monitoring namespace (Options.MonitoringNamespace,
// default "monitoring", or Options.MonitoringNamespaceLabels) on the
// Prometheus scrape port; nothing else. Egress stays open, as an explicit
// rule. Package validate/netmatrix evaluates the rendered policies.
//
// Synthesis refuses what could never run, with the object and field:
// a pod whose requests exceed every node of the pools it may use (the
// Topology's CPU and memory per node are its allocatable), more pods under
// a one-per-host anti-affinity than eligible nodes, requests that add up
// to more than a pool holds, and a selector of one component that matches
// another component's pods (two copies of a component with the same name
// label). Topology.Fits lets a constructor check its share before adding
// anything. Namespaces Kubernetes reserves (kube-system, kube-public,
// kube-node-lease, default, and the kube- prefix) are refused, and
// container images are parsed by ParseImage (name:tag or
// name:tag@sha256:digest; the tag is the version label).
//
// What the package borrows and where it differs: the construct tree, chart
// labels and synth-time validation with construct paths follow cdk8s; the
// kind order follows Tanka and Helm; unlike cdk8s it renders real
// PodDisruptionBudgets and topologySpreadConstraints, uses the Go API types
// directly (no jsii runtime), and never hashes names: names of stateful
// parts become pod DNS names and PVC names and are a public API.
package stack
