package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/iotstack/iotstack/components/dojot"
	"github.com/iotstack/iotstack/profiles"
	"github.com/iotstack/iotstack/stack"
)

// LwM2MEndpoint is the endpoint name the LwM2M smoke client registers.
const LwM2MEndpoint = "iotstack-e2e-lwm2m"

// lwm2mObjects are the objects the smoke client announces: LwM2M Server
// (1) and Device (3), instance 0, which every LwM2M 1.0 client has.
var lwm2mObjects = []string{"/1/0", "/3/0"}

// CoAPNodePort is the NodePort of the LwM2M agent's CoAP port (UDP 5683
// of the Service iotagent-lwm2m), or 0 when the output has no LwM2M
// agent.
func CoAPNodePort(out *stack.Output) int32 {
	for _, o := range out.Objects {
		svc, ok := o.Object.(*corev1.Service)
		if !ok || svc.Name != dojot.IoTAgentLwM2M {
			continue
		}
		for _, p := range svc.Spec.Ports {
			if p.Protocol == corev1.ProtocolUDP && p.Port == dojot.LwM2MCoAPPort {
				return p.NodePort
			}
		}
	}
	return 0
}

// checkAgents says which dojot agents e2e can check: every choice the
// small profile takes. VerneMQ is checked by the MQTT round trips of
// SmokeDojot (plain and MQTTS), Mosca by SmokeMosca's (the value read
// back from history), the LwM2M agent beside either by a registration
// (smokeLwM2M). 100k takes VerneMQ only: its HAProxy cannot carry the
// LwM2M agent's UDP, and its services (the guide's 100k set) have no
// device-manager, which Mosca asks whether a device exists, nor the
// history the Mosca check reads.
func checkAgents(profile, agents string) error {
	switch agents {
	case "", profiles.AgentsVerneMQ:
		return nil
	case profiles.AgentsVerneMQLwM2M, profiles.AgentsMosca, profiles.AgentsMoscaLwM2M:
		if profile != profiles.Small {
			return fmt.Errorf("e2e: agents %q in %s: allowed there: %s (the LwM2M agent needs NGINX's UDP, Mosca device-manager and history: the small profile runs them)", agents, profile, profiles.AgentsVerneMQ)
		}
		return nil
	}
	return fmt.Errorf("e2e: agents %q; allowed: %s, %s, %s, %s", agents, profiles.AgentsVerneMQ, profiles.AgentsVerneMQLwM2M, profiles.AgentsMoscaLwM2M, profiles.AgentsMosca)
}

// Broker is the MQTT agent a rendered dojot stack runs, as the smoke
// checks need it: VerneMQ or Mosca (its Service iotagent-mosca), and
// whether it serves plain MQTT on 1883 (insecure MQTT).
type Broker struct {
	Mosca, PlainMQTT bool
}

// BrokerOf finds the MQTT agent of a rendered dojot stack: Mosca when the
// output has its Service (it then serves 1883 exactly when the Service
// has that port), VerneMQ otherwise (the smoke checks always speak plain
// MQTT to VerneMQ through a port-forward).
func BrokerOf(out *stack.Output) Broker {
	for _, o := range out.Objects {
		svc, ok := o.Object.(*corev1.Service)
		if !ok || svc.Name != dojot.IoTAgentMosca {
			continue
		}
		b := Broker{Mosca: true}
		for _, p := range svc.Spec.Ports {
			b.PlainMQTT = b.PlainMQTT || p.Port == 1883
		}
		return b
	}
	return Broker{PlainMQTT: true}
}

// smokeLwM2M registers an LwM2M client with the agent through the CoAP
// NodePort, which KindConfig maps to the same port on the host's
// loopback: the Register must be answered 2.01 Created with a
// Location-Path. dojot/iotagent-leshan v0.5.0 is Eclipse Leshan's server
// (leshan-server-cf 1.0.0-M5 in its pom.xml, built with default
// addresses in LwM2MAgent.java, so CoAP on 5683): Leshan's
// RegisterResource (resource "rd") answers CREATED with Location-Path
// rd/<registration id>, and its DefaultAuthorizer (SecurityCheck)
// accepts an unsecured registration of an endpoint without security
// information, as the agent's in-memory security store has for a device
// it does not know; the agent then only records the endpoint
// (LwM2MAgent.registrationListener: "northbound is not registered yet").
func smokeLwM2M(ctx context.Context, port int32, log io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	var loc string
	var err error
	// The first exchanges may go unanswered while kube-proxy programs
	// the NodePort; each exchange retransmits for about a minute.
	for {
		loc, err = RegisterLwM2M(ctx, addr, LwM2MEndpoint, 60, lwm2mObjects)
		if !errors.Is(err, ErrCoAPNoAnswer) || ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("lwm2m: %w", err)
	}
	fmt.Fprintf(log, "smoke: LwM2M client %s registered over CoAP (UDP NodePort %d) with %v: 2.01 Created at %s\n", LwM2MEndpoint, port, lwm2mObjects, loc)
	return nil
}
