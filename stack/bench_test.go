package stack

import (
	"fmt"
	"testing"
)

// BenchmarkSynthLarge synthesizes a stack of 30 stateful components (150
// objects, more than the full minimal-3az profile renders), so the core's
// cost is measured independent of how far the profiles have been filled.
func BenchmarkSynthLarge(b *testing.B) {
	s := newTestStack(b)
	for i := 0; i < 30; i++ {
		addEcho(b, s, fmt.Sprintf("echo%02d", i))
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Synth(); err != nil {
			b.Fatal(err)
		}
	}
}
