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

// FromLimits applies the sizing rule of the ThingsBoard article "ThingsBoard k8s
// cluster - minimal design" ("x10 fewer cpu requests and exact 1:1 memory
// requests", section Considerations): the CPU request is a tenth of the limit
// and the memory request equals the limit, so memory is never overcommitted and
// idle CPU is shared.
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

// The largest CPU and memory a container may ask for: beyond any node
// sold today (the largest cloud instances have 896 vCPU and 32 TiB), and
// small enough that the components' arithmetic on them (heap shares in
// MiB, percentages, sums over replicas) never overflows an int64.
var (
	MaxCPU    = resource.MustParse("1024")
	MaxMemory = resource.MustParse("64Ti")
)

// Validate checks that all four values are positive and at most MaxCPU
// and MaxMemory, and that no request exceeds its limit. field names the
// Config field in the error.
func (r Resources) Validate(field string) error {
	for _, q := range []struct {
		name string
		q    resource.Quantity
		max  resource.Quantity
	}{{"cpuRequest", r.CPURequest, MaxCPU}, {"cpuLimit", r.CPULimit, MaxCPU}, {"memoryRequest", r.MemoryRequest, MaxMemory}, {"memoryLimit", r.MemoryLimit, MaxMemory}} {
		if q.q.Sign() <= 0 {
			return fmt.Errorf("%s.%s: %s; must be a positive quantity", field, q.name, q.q.String())
		}
		if q.q.Cmp(q.max) > 0 {
			return fmt.Errorf("%s.%s: %s; allowed at most %s (larger than any node; the node pool's size bounds it further at synthesis)", field, q.name, q.q.String(), q.max.String())
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

// HeapMiB returns percent (0 to 100) of the memory limit in MiB, for JVM
// -Xmx and similar settings derived from the limit. It divides before it
// multiplies, so a limit up to the largest Quantity cannot overflow; a
// limit Validate would refuse (above MaxMemory) yields its MaxMemory share.
func (r Resources) HeapMiB(percent int) int64 {
	percent = min(max(percent, 0), 100)
	lim := r.MemoryLimit
	if lim.Cmp(MaxMemory) > 0 {
		lim = MaxMemory
	}
	return lim.Value() / (1 << 20) * int64(percent) / 100
}

// MiB returns q in whole MiB, or an error naming field when q is negative
// or above MaxMemory (so arithmetic on the result cannot overflow).
func MiB(field string, q resource.Quantity) (int64, error) {
	if q.Sign() < 0 || q.Cmp(MaxMemory) > 0 {
		return 0, fmt.Errorf("%s: %s; allowed 0 to %s", field, q.String(), MaxMemory.String())
	}
	return q.Value() >> 20, nil
}
