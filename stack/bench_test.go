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

// benchSynth builds a stack of n stateful components (five objects each,
// plus the NetworkPolicy synthesis adds), each a consumer of the one
// before it and a peer group of its own, and synthesizes it. Synthesis
// must stay linear in the number of objects: compare BenchmarkSynth100
// and BenchmarkSynth1000 (the README records the ratio; no test asserts
// a time).
func benchSynth(b *testing.B, n int) {
	b.ReportAllocs()
	for b.Loop() {
		s := newTestStack(b)
		var prev *echo
		for i := 0; i < n; i++ {
			e := addEcho(b, s, fmt.Sprintf("echo%04d", i))
			e.c.Peers("", "echo")
			if prev != nil {
				e.c.Uses(prev.c.Pods("").Port("echo"))
			}
			prev = e
		}
		if _, err := s.Synth(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSynth100 builds and synthesizes 100 components.
func BenchmarkSynth100(b *testing.B) { benchSynth(b, 100) }

// BenchmarkSynth1000 builds and synthesizes 1,000 components.
func BenchmarkSynth1000(b *testing.B) { benchSynth(b, 1000) }
