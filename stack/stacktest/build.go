package stacktest

import (
	"strings"
	"testing"

	"github.com/iotstack/iotstack/stack"
)

// Build runs a component constructor on a fresh stack over ThreeZones and
// synthesizes the result, failing the test on any error.
func Build(t testing.TB, add func(*stack.Stack) error) (*stack.Stack, *stack.Output) {
	t.Helper()
	s := NewStack(t, ThreeZones())
	if err := add(s); err != nil {
		t.Fatal(err)
	}
	out, err := s.Synth()
	if err != nil {
		t.Fatal(err)
	}
	return s, out
}

// Rejects checks that a constructor refuses its input with an error
// containing want, and leaves the stack without a new component.
func Rejects(t testing.TB, add func(*stack.Stack) error, want string) {
	t.Helper()
	s := NewStack(t, ThreeZones())
	before := len(s.Components())
	err := add(s)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("got %v; want an error containing %q", err, want)
	}
	if len(s.Components()) != before {
		t.Errorf("a rejected Config added a component")
	}
}

// AcceptedSynthesizes is the fuzz property of every Config: whatever a
// constructor accepts must synthesize; what it refuses is fine.
func AcceptedSynthesizes(t testing.TB, add func(*stack.Stack) error) {
	t.Helper()
	s := NewStack(t, ThreeZones())
	if err := add(s); err != nil {
		return
	}
	if _, err := s.Synth(); err != nil {
		t.Fatalf("an accepted Config does not synthesize: %v", err)
	}
}
