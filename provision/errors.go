package provision

import "fmt"

// FieldError is a problem with one values field: its path in values
// syntax (cluster.region, topology.zones[1]), the offending value and
// what is allowed. The profiles report it as a values error.
type FieldError struct {
	// Path is the field's values path.
	Path string
	// Value is the offending value; nil when there is none to show.
	Value any
	// Message says what is wrong and what is allowed.
	Message string
}

// Error renders "path: value; message" (the value quoted when a string).
func (e *FieldError) Error() string {
	switch v := e.Value.(type) {
	case nil:
		return e.Path + ": " + e.Message
	case string:
		return fmt.Sprintf("%s: %q; %s", e.Path, v, e.Message)
	default:
		return fmt.Sprintf("%s: %v; %s", e.Path, v, e.Message)
	}
}

func fieldErrorf(path string, value any, format string, args ...any) *FieldError {
	return &FieldError{Path: path, Value: value, Message: fmt.Sprintf(format, args...)}
}
