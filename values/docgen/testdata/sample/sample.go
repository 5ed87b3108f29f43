// Package sample is docgen's test input.
package sample

// Config is the root.
//
// It has a second paragraph, and a [Pool] link.
type Config struct {
	// Name is the name.
	Name  string   `json:"name"`
	Zones []string // Zones has a trailing comment.
	// A and B share one comment.
	A, B int
	Pool
	*Other
	undocumented bool
}

type (
	// Pool is declared in a group.
	Pool struct {
		// Size is the size.
		Size int
	}
	// Other is the second of the group.
	Other struct{}
)

// Arch is a documented non-struct type.
type Arch string

type plain int

// Generic types are skipped.
type Generic[T any] struct{ V T }
