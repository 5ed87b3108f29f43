// Package preflight checks a cluster against what a profile with its
// values needs, before anything is applied (iotstack preflight, mage
// preflight): the API server's version inside the window the stacks are
// validated for (validate.KubernetesVersions); nodes carrying the
// topology's zone label, pool labels and taints, of the pool's
// architecture, as many per zone as declared, with enough free
// allocatable CPU, memory and pods for the plan of every part that runs
// in the cluster (package plan: the main stack and the monitoring, not
// the opt-in load test); the StorageClasses the claims use, with their
// CSI driver (EBS: CSIDriver ebs.csi.aws.com); the IngressClasses the
// Ingresses name (alb with the AWS Load Balancer Controller's controller)
// and, when an Ingress or Service needs it, the AWS Load Balancer
// Controller itself (its IngressClassParams CRD and an available
// Deployment); Pod Security admission enforcing the stack's levels; the
// objects the stacks declare as provided (stack.Stack.External). A Job or
// CronJob whose pod fits nowhere next to the plan's pods is a warning: it
// runs on a first apply, before the rest takes the room, and stays
// Pending on a re-apply after a delete.
//
// Reading is separated from judging: Read takes a Snapshot (lists, and
// dry-run writes only), Evaluate turns an Expect and a Snapshot into
// checks with pure functions, which the tests exercise with tables; mage
// sim runs the whole against a real API server.
//
// What cannot be checked is reported as such (NotCheckable) with the
// command that shows it on a node: node status reports neither sysctls
// nor file limits, and the kubelet's allowed unsafe sysctls are not
// readable through the API.
//
// Where it approximates: capacity is compared per pool and zone (the
// sum of the plan's requests there against the nodes' free allocatable,
// and the largest pod against the roomiest node), not by re-running the
// plan's placement on the cluster's nodes; a DaemonSet's pods are counted
// for the topology's nodes, not for extra ones the cluster may have.
package preflight
