package sample_test

// Demo is declared in an external test package.
type Demo struct {
	// X is x.
	X int
}
