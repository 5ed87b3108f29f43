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

// checkAgents says which dojot agents e2e can check: its MQTT smoke
// checks speak to VerneMQ (plain MQTT and MQTTS with an
// x509-identity-mgmt certificate), so the agents must include VerneMQ;
// the LwM2M agent beside it is checked by a registration
// (smokeLwM2M). Mosca's topics and authorization are not modelled by
// those checks: its combinations run on the simulated cluster only
// (envs/dojot-agents.yaml in mage test).
func checkAgents(profile, agents string) error {
	switch agents {
	case "", profiles.AgentsVerneMQ:
		return nil
	case profiles.AgentsVerneMQLwM2M:
		if profile != profiles.Small {
			return fmt.Errorf("e2e: agents %q in %s: the LwM2M agent runs in the small profile only (100k's HAProxy cannot carry UDP)", agents, profile)
		}
		return nil
	case profiles.AgentsMosca, profiles.AgentsMoscaLwM2M:
		return fmt.Errorf("e2e: agents %q: the MQTT smoke checks speak to VerneMQ, and Mosca's are not written; allowed: %s, %s (Mosca runs on the simulated cluster: go tool mage sim profile=small values=envs/dojot-agents.yaml)", agents, profiles.AgentsVerneMQ, profiles.AgentsVerneMQLwM2M)
	}
	return fmt.Errorf("e2e: agents %q; allowed: %s, %s", agents, profiles.AgentsVerneMQ, profiles.AgentsVerneMQLwM2M)
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
