package stack

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Resources are a container's CPU and memory requests and limits. Every
// container the stack renders has all four.
type Resources struct {
	CPURequest    resource.Quantity
	CPULimit      resource.Quantity
	MemoryRequest resource.Quantity
	MemoryLimit   resource.Quantity
}

// FromLimits applies the ThingsBoard write-up's sizing rule ("x10 fewer cpu
// requests and exact 1:1 memory requests", seeds/003, Considerations): the
// CPU request is a tenth of the limit and the memory request equals the
// limit, so memory is never overcommitted and idle CPU is shared.
func FromLimits(cpuLimit, memoryLimit resource.Quantity) Resources {
	return Resources{
		CPURequest:    *resource.NewMilliQuantity(cpuLimit.MilliValue()/10, resource.DecimalSI),
		CPULimit:      cpuLimit,
		MemoryRequest: memoryLimit,
		MemoryLimit:   memoryLimit,
	}
}

// MustLimits is FromLimits over quantity strings for literal defaults in
// code ("3", "2Gi"); it panics on a malformed literal, so use it only with
// constants, never with user input.
func MustLimits(cpuLimit, memoryLimit string) Resources {
	return FromLimits(resource.MustParse(cpuLimit), resource.MustParse(memoryLimit))
}

// IsZero reports whether no value is set; Config defaulting uses it.
func (r Resources) IsZero() bool {
	return r.CPURequest.IsZero() && r.CPULimit.IsZero() && r.MemoryRequest.IsZero() && r.MemoryLimit.IsZero()
}

// Validate checks that all four values are positive and that no request
// exceeds its limit. field names the Config field in the error.
func (r Resources) Validate(field string) error {
	for _, q := range []struct {
		name string
		q    resource.Quantity
	}{{"cpuRequest", r.CPURequest}, {"cpuLimit", r.CPULimit}, {"memoryRequest", r.MemoryRequest}, {"memoryLimit", r.MemoryLimit}} {
		if q.q.Sign() <= 0 {
			return fmt.Errorf("%s.%s: %s; must be a positive quantity", field, q.name, q.q.String())
		}
	}
	if r.CPURequest.Cmp(r.CPULimit) > 0 {
		return fmt.Errorf("%s.cpuRequest: %s exceeds cpuLimit %s; a request must not exceed its limit", field, r.CPURequest.String(), r.CPULimit.String())
	}
	if r.MemoryRequest.Cmp(r.MemoryLimit) > 0 {
		return fmt.Errorf("%s.memoryRequest: %s exceeds memoryLimit %s; a request must not exceed its limit", field, r.MemoryRequest.String(), r.MemoryLimit.String())
	}
	return nil
}

// Ephemeral storage every container requests and is limited to: logs,
// emptyDir scratch and writable layers count against it, and a limit
// keeps one runaway container from filling a node's disk and evicting
// its neighbours.
var (
	EphemeralRequest = resource.MustParse("64Mi")
	EphemeralLimit   = resource.MustParse("2Gi")
)

// Requirements converts r into the container field, with the
// ephemeral-storage request and limit.
func (r Resources) Requirements() corev1.ResourceRequirements {
	return corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: r.CPURequest, corev1.ResourceMemory: r.MemoryRequest, corev1.ResourceEphemeralStorage: EphemeralRequest},
		Limits:   corev1.ResourceList{corev1.ResourceCPU: r.CPULimit, corev1.ResourceMemory: r.MemoryLimit, corev1.ResourceEphemeralStorage: EphemeralLimit},
	}
}

// HeapMiB returns percent of the memory limit in MiB, for JVM -Xmx and
// similar settings derived from the limit.
func (r Resources) HeapMiB(percent int) int64 {
	return r.MemoryLimit.Value() * int64(percent) / 100 / (1 << 20)
}
