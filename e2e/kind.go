// Package e2e runs a profile for real on a kind cluster (containers in
// Docker, Podman or nerdctl): a cluster shaped like the profile's topology,
// the laptop variant of the profile applied through the apply engine, a
// wait for every workload, smoke checks of the running platform through
// its public protocols (MQTT and MQTTS with verified certificates, REST),
// then the cluster deleted.
//
// What is not checked: the dojot MQTTS check trusts the x509-identity-mgmt
// API's answers as its v0.5.0 sources define them; here that client is
// tested against a recorded shape only, as EJBCA cannot run without a
// container engine. The LwM2M registration (small with AGENTS=vernemq+lwm2m)
// is proven here against libcoap's coap-rd and coap-server; the agent's
// answer (Leshan's 2.01 Created with rd/<id>) is taken from its v0.5.0
// sources. The Mosca agents are not smoke-checked here (their MQTT
// topics and authorization differ from VerneMQ's): e2e refuses them, and
// mage test schedules them on the simulated cluster.
package e2e

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"

	"github.com/iotstack/iotstack/stack"
)

// MaxWorkers bounds the kind workers a profile may ask for.
const MaxWorkers = 9

// ErrNoEngine says that no container engine can run kind here.
var ErrNoEngine = errors.New("no container engine")

// Engine finds a working container engine for kind: the docker, podman or
// nerdctl program and a daemon answering it within five seconds. The
// error names what is missing and points at mage sim.
func Engine(ctx context.Context) (string, error) {
	var tried []string
	for _, name := range []string{"docker", "podman", "nerdctl"} {
		path, err := exec.LookPath(name)
		if err != nil {
			tried = append(tried, name+": not installed")
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		out, err := exec.CommandContext(cctx, path, "info").CombinedOutput()
		cancel()
		if err != nil {
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			tried = append(tried, fmt.Sprintf("%s: installed, but `%s info` failed (%v: %s)", name, name, err, strings.TrimSpace(lines[len(lines)-1])))
			continue
		}
		return name, nil
	}
	return "", fmt.Errorf("%w: mage e2e runs the profile in kind, whose nodes are containers, and needs a running Docker, Podman or nerdctl (%s). Without one, run the simulated cluster instead: go tool mage sim profile=NAME", ErrNoEngine, strings.Join(tried, "; "))
}

// KindConfig shapes a kind cluster like the output's topology: one
// control plane and, in each zone, the nodes of every pool the stack's
// workloads require (at most three per pool and zone), labelled with the
// zone and the pool's labels and tainted with its taints.
func KindConfig(out *stack.Output) (*v1alpha4.Cluster, error) {
	used := usedPools(out)
	cfg := &v1alpha4.Cluster{TypeMeta: v1alpha4.TypeMeta{APIVersion: "kind.x-k8s.io/v1alpha4", Kind: "Cluster"}}
	cfg.Nodes = append(cfg.Nodes, v1alpha4.Node{Role: v1alpha4.ControlPlaneRole})
	for _, h := range out.Topology.Hosts() {
		if !used[h.Pool.Name] || h.Index >= 3 {
			continue
		}
		n := v1alpha4.Node{Role: v1alpha4.WorkerRole, Labels: h.Labels()}
		if len(h.Pool.Taints) > 0 {
			n.KubeadmConfigPatches = []string{taintPatch(h.Pool.Taints)}
		}
		cfg.Nodes = append(cfg.Nodes, n)
	}
	// Port-forwards carry TCP only: the UDP NodePorts (the LwM2M agent's
	// CoAP ones) are mapped from the control-plane node, whose kube-proxy
	// forwards them like any node's, to the same ports on the host's
	// loopback (the LwM2M smoke check sends there).
	for _, port := range udpNodePorts(out) {
		cfg.Nodes[0].ExtraPortMappings = append(cfg.Nodes[0].ExtraPortMappings, v1alpha4.PortMapping{
			ContainerPort: port, HostPort: port, ListenAddress: "127.0.0.1", Protocol: v1alpha4.PortMappingProtocolUDP})
	}
	if w := len(cfg.Nodes) - 1; w > MaxWorkers {
		return nil, fmt.Errorf("kind: the topology asks for %d workers; at most %d fit a laptop", w, MaxWorkers)
	} else if w == 0 {
		return nil, fmt.Errorf("kind: no workload requires any pool of the topology")
	}
	return cfg, nil
}

// taintPatch is the kubeadm JoinConfiguration patch that registers a
// worker with taints (kind's Node has labels but no taints).
func taintPatch(taints []corev1.Taint) string {
	var b strings.Builder
	b.WriteString("kind: JoinConfiguration\nnodeRegistration:\n  taints:\n")
	for _, t := range taints {
		fmt.Fprintf(&b, "  - key: %q\n    value: %q\n    effect: %q\n", t.Key, t.Value, string(t.Effect))
	}
	return b.String()
}

// usedPools names the pools whose labels some workload's required node
// affinity selects.
func usedPools(out *stack.Output) map[string]bool {
	want := map[[2]string]bool{}
	for _, o := range out.Objects {
		for _, spec := range stack.PodSpecs(o.Object) {
			a := spec.Affinity
			if a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
				continue
			}
			for _, term := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
				for _, e := range term.MatchExpressions {
					if e.Operator == corev1.NodeSelectorOpIn {
						for _, v := range e.Values {
							want[[2]string{e.Key, v}] = true
						}
					}
				}
			}
			for k, v := range spec.NodeSelector {
				want[[2]string{k, v}] = true
			}
		}
	}
	used := map[string]bool{}
	for _, p := range out.Topology.Pools {
		all := len(p.Labels) > 0
		keys := make([]string, 0, len(p.Labels))
		for k := range p.Labels {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if !want[[2]string{k, p.Labels[k]}] {
				all = false
			}
		}
		// A topology with one unlabelled pool: every workload uses it.
		if all || (len(out.Topology.Pools) == 1 && len(p.Labels) == 0) {
			used[p.Name] = true
		}
	}
	return used
}

// udpNodePorts are the UDP NodePorts of the output's Services, sorted.
func udpNodePorts(out *stack.Output) []int32 {
	var ports []int32
	for _, o := range out.Objects {
		svc, ok := o.Object.(*corev1.Service)
		if !ok {
			continue
		}
		for _, p := range svc.Spec.Ports {
			if p.Protocol == corev1.ProtocolUDP && p.NodePort != 0 {
				ports = append(ports, p.NodePort)
			}
		}
	}
	sort.Slice(ports, func(i, j int) bool { return ports[i] < ports[j] })
	return ports
}
