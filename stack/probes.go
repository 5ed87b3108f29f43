package stack

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// ProbeTiming holds a probe's timing; zero fields take the Kubernetes
// defaults (period 10 s, timeout 1 s, failure threshold 3).
type ProbeTiming struct {
	InitialDelaySeconds int32
	PeriodSeconds       int32
	TimeoutSeconds      int32
	FailureThreshold    int32
}

func (t ProbeTiming) apply(p *corev1.Probe) *corev1.Probe {
	p.InitialDelaySeconds = t.InitialDelaySeconds
	p.PeriodSeconds = t.PeriodSeconds
	p.TimeoutSeconds = t.TimeoutSeconds
	p.FailureThreshold = t.FailureThreshold
	return p
}

// HTTPProbe probes GET path on the named container port.
func HTTPProbe(path, port string, t ProbeTiming) *corev1.Probe {
	return t.apply(&corev1.Probe{ProbeHandler: corev1.ProbeHandler{
		HTTPGet: &corev1.HTTPGetAction{Path: path, Port: intstr.FromString(port)},
	}})
}

// TCPProbe probes that the named container port accepts connections. Use it
// only where the service offers nothing better to ask.
func TCPProbe(port string, t ProbeTiming) *corev1.Probe {
	return t.apply(&corev1.Probe{ProbeHandler: corev1.ProbeHandler{
		TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromString(port)},
	}})
}

// ExecProbe runs command in the container; exit status 0 is healthy. Use it
// to ask the service itself (a broker answering API versions, ruok, PING).
func ExecProbe(t ProbeTiming, command ...string) *corev1.Probe {
	return t.apply(&corev1.Probe{ProbeHandler: corev1.ProbeHandler{
		Exec: &corev1.ExecAction{Command: command},
	}})
}
