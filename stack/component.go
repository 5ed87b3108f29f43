package stack

import (
	"fmt"

	"k8s.io/apimachinery/pkg/util/validation"
)

// Meta sets a component's recommended labels.
type Meta struct {
	// App is app.kubernetes.io/name (e.g. "kafka"); defaults to the
	// component name.
	App string
	// Role is app.kubernetes.io/component (e.g. "broker"); defaults to App.
	Role string
	// Version is app.kubernetes.io/version, usually the image tag; may be
	// empty for stack-level components.
	Version string
}

// Component is one node of the construct tree under a Stack: a named part
// (kafka, cassandra, tb-node) that owns typed objects. Its name is the
// construct path used in errors and the name of its file in dist/.
type Component struct {
	stack      *Stack
	name       string
	meta       Meta
	objects    []Object
	secrets    []*SecretSpec
	deps       []*Component
	exceptions []Exception
	// grants are the connections allowed to this component's pods
	// (Uses, AllowFrom, Peers); wiring the mistakes found while declaring
	// them, reported at synthesis.
	grants []grant
	wiring []string
	// alerts are the component's alert rules (Alert); lateAlerts the
	// rules added after the monitoring read them, reported at synthesis.
	alerts     []AlertRule
	lateAlerts []string
}

// Exception is a documented opt-out of one validation rule (see package
// validate) for one component's objects.
type Exception struct {
	// Component is the component's name; Rule the rule it is exempt from.
	Component, Rule string
	// Reason says why the rule cannot hold for this component.
	Reason string
}

// Except exempts the component's objects from a validation rule, with the
// reason a reviewer reads in `mage validate`'s list of exceptions.
func (c *Component) Except(rule, reason string) {
	c.exceptions = append(c.exceptions, Exception{Component: c.name, Rule: rule, Reason: reason})
}

// AddComponent adds an empty component named name (a DNS-1123 label,
// unique in the stack) and returns it for a constructor to fill.
func (s *Stack) AddComponent(name string, meta Meta) (*Component, error) {
	if s == nil {
		return nil, fmt.Errorf("component %s: the stack is nil; build it with stack.New", name)
	}
	if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
		return nil, fmt.Errorf("stack %s: component name %q is not a DNS-1123 label (%s)", s.opts.Name, name, joinOr(errs, ""))
	}
	if _, dup := s.byName[name]; dup {
		return nil, fmt.Errorf("stack %s: component %q is added twice; component names must be unique", s.opts.Name, name)
	}
	if meta.App == "" {
		meta.App = name
	}
	if meta.Role == "" {
		meta.Role = meta.App
	}
	for _, f := range []struct{ field, value string }{{"app", meta.App}, {"role", meta.Role}, {"version", meta.Version}} {
		if errs := validation.IsValidLabelValue(f.value); len(errs) > 0 {
			return nil, fmt.Errorf("stack %s: component %s: meta.%s: %q is not a valid label value (%s)", s.opts.Name, name, f.field, f.value, joinOr(errs, ""))
		}
	}
	c := &Component{stack: s, name: name, meta: meta}
	if s.namespace != nil {
		c.deps = append(c.deps, s.namespace)
	}
	s.components = append(s.components, c)
	s.byName[name] = c
	return c, nil
}

// Name returns the component's name.
func (c *Component) Name() string { return c.name }

// Meta returns the component's label settings, defaults filled in.
func (c *Component) Meta() Meta { return c.meta }

// Stack returns the stack the component belongs to.
func (c *Component) Stack() *Stack { return c.stack }

// Namespace returns the namespace of the component's namespaced objects.
func (c *Component) Namespace() string { return c.stack.opts.Namespace }

// Add makes the component the owner of objs. Objects are checked at
// synthesis: a kind/namespace/name owned twice is an error naming both
// owners. Add keeps the pointers; later changes to an object before Synth
// are rendered.
func (c *Component) Add(objs ...Object) {
	c.objects = append(c.objects, objs...)
}

// Objects returns the component's objects in the order they were added.
func (c *Component) Objects() []Object { return append([]Object(nil), c.objects...) }

// DependsOn orders c after others in dist/ and in the apply order.
// Components added later already come later; DependsOn matters only when
// a component is added before one it needs.
func (c *Component) DependsOn(others ...*Component) {
	c.deps = append(c.deps, others...)
}

// Labels returns all six recommended labels for the component's main role.
func (c *Component) Labels() map[string]string { return c.LabelsFor(c.meta.Role) }

// SelectorLabels returns the stable selector subset (name, instance,
// component) for the component's main role.
func (c *Component) SelectorLabels() map[string]string { return c.SelectorFor(c.meta.Role) }

// LabelsFor returns the recommended labels for a secondary role of the
// component (e.g. the "pooler" next to the "database").
func (c *Component) LabelsFor(role string) map[string]string {
	l := c.SelectorFor(role)
	l[LabelPartOf] = c.stack.opts.PartOf
	l[LabelManagedBy] = ManagedBy
	if c.meta.Version != "" {
		l[LabelVersion] = c.meta.Version
	}
	return l
}

// SelectorFor returns the stable selector labels for a role of the component.
func (c *Component) SelectorFor(role string) map[string]string {
	return map[string]string{
		LabelName:      c.meta.App,
		LabelInstance:  c.stack.opts.Name,
		LabelComponent: role,
	}
}
