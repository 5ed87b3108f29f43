package stack

import (
	"fmt"
	"strings"
)

// Problem is one synth-time validation finding, located by component
// (the construct path), object and field.
type Problem struct {
	// Component is the owning component's name.
	Component string
	// Object is Kind/name or Kind/namespace/name; empty for component-level
	// problems such as a declared Secret.
	Object string
	// Field is the path inside the object (spec.template.spec.containers[0].ports[1].name).
	Field string
	// Message says what is wrong and what is allowed.
	Message string
}

// Error renders the problem as "component: object: field: message".
func (p Problem) Error() string {
	parts := []string{p.Component}
	if p.Object != "" {
		parts = append(parts, p.Object)
	}
	if p.Field != "" {
		parts = append(parts, p.Field)
	}
	return strings.Join(parts, ": ") + ": " + p.Message
}

// ValidationError collects every problem synthesis found in a stack.
type ValidationError struct {
	// Stack is the stack's name.
	Stack string
	// Problems are sorted by component, object and field.
	Problems []Problem
}

// Error lists every problem, one per line.
func (e *ValidationError) Error() string {
	var b strings.Builder
	noun := "problems"
	if len(e.Problems) == 1 {
		noun = "problem"
	}
	fmt.Fprintf(&b, "stack %s: %d %s:", e.Stack, len(e.Problems), noun)
	for _, p := range e.Problems {
		b.WriteString("\n  - " + p.Error())
	}
	return b.String()
}
