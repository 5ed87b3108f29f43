package stack

import (
	"fmt"
	"reflect"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Rendered is one object as synthesized: a deep copy of the component's
// object with its namespace and labels filled in, exactly what is written
// to dist/ and what the apply engine sends.
type Rendered struct {
	// Component is the owning component's name.
	Component string
	// GVK is the object's apiVersion and kind.
	GVK schema.GroupVersionKind
	// Ref identifies the object.
	Ref ObjectRef
	// Object is the final object; callers must not modify it.
	Object Object
	// File is the name of the dist file holding the object.
	File string
}

// File is one file of the synthesized output, relative to the output
// directory.
type File struct {
	Name string
	Data []byte
}

// Output is a synthesized stack: its files in apply order (the
// kustomization last) and its objects in the same order.
type Output struct {
	// Stack is the stack's name.
	Stack string
	// Namespace is the stack's namespace.
	Namespace string
	// Files are the files to write, in apply order.
	Files []File
	// Objects are the rendered objects, in apply order.
	Objects []Rendered
	// Secrets are the declared, never rendered, Secrets.
	Secrets []SecretSpec
	// Exceptions are the components' documented rule opt-outs.
	Exceptions []Exception
	// Topology is the stack's cluster shape.
	Topology Topology
	// Alerts are the components' alert rules, one group per component,
	// in the order of the files.
	Alerts []AlertGroup
}

// Include adds other's files under the directory dir (e.g. "loadtest"),
// so that one dist/<profile>/ holds a second, separately applied
// kustomization. other's objects stay its own.
func (o *Output) Include(dir string, other *Output) {
	for _, f := range other.Files {
		o.Files = append(o.Files, File{Name: dir + "/" + f.Name, Data: f.Data})
	}
}

// File returns the file with the given name, or nil.
func (o *Output) File(name string) *File {
	for i := range o.Files {
		if o.Files[i].Name == name {
			return &o.Files[i]
		}
	}
	return nil
}

// Synth validates the stack and renders it: one YAML file per component,
// numbered in dependency order, objects in kind order inside each file, and
// a kustomization.yaml listing the files. It does not modify the stack; the
// same stack always synthesizes to the same bytes. Every problem found is
// reported at once in a *ValidationError.
func (s *Stack) Synth() (*Output, error) {
	comps, err := orderComponents(s.components)
	if err != nil {
		return nil, fmt.Errorf("stack %s: %w", s.opts.Name, err)
	}
	scopes := s.scopes()
	v := &validator{stack: s}
	var all []*Rendered
	perComp := make([][]*Rendered, len(comps))
	var policies map[*Component][]Object
	if !s.opts.NoNetworkPolicies {
		var problems []Problem
		policies, problems = s.networkPolicies(comps)
		v.problems = append(v.problems, problems...)
	}
	for i, c := range comps {
		for _, obj := range append(append([]Object(nil), c.objects...), policies[c]...) {
			r, err := s.prepare(c, obj, scopes)
			if err != nil {
				v.add(c.name, describe(obj), "", "%s", err.Error())
				continue
			}
			perComp[i] = append(perComp[i], r)
			all = append(all, r)
		}
	}
	v.run(all)
	v.checkAlerts(comps)
	if err := v.err(); err != nil {
		return nil, err
	}

	out := &Output{Stack: s.opts.Name, Namespace: s.opts.Namespace, Secrets: s.Secrets(), Topology: s.opts.Topology}
	for _, c := range comps {
		out.Exceptions = append(out.Exceptions, c.exceptions...)
		if len(c.alerts) > 0 {
			out.Alerts = append(out.Alerts, AlertGroup{Component: c.name, Namespace: c.Namespace(), Rules: c.Alerts()})
		}
	}
	width := len(fmt.Sprint(len(comps) - 1))
	if width < 2 {
		width = 2
	}
	ren := newRenderer()
	var names []string
	for i, c := range comps {
		objs := perComp[i]
		if len(objs) == 0 {
			continue
		}
		sortObjects(objs)
		name := fmt.Sprintf("%0*d-%s.yaml", width, len(names), c.name)
		data, err := ren.file(s.opts.Name, c.name, objs)
		if err != nil {
			return nil, fmt.Errorf("stack %s: component %s: %w", s.opts.Name, c.name, err)
		}
		for _, r := range objs {
			r.File = name
			out.Objects = append(out.Objects, *r)
		}
		out.Files = append(out.Files, File{Name: name, Data: data})
		names = append(names, name)
	}
	out.Files = append(out.Files, File{Name: "kustomization.yaml", Data: s.kustomization(names)})
	return out, nil
}

// prepare copies obj and fills in its kind, namespace and labels.
// clusterKinds are the custom kinds known to be cluster-scoped.
func (s *Stack) prepare(c *Component, obj Object, clusterKinds map[schema.GroupKind]bool) (*Rendered, error) {
	if isNil(obj) {
		return nil, fmt.Errorf("nil object")
	}
	gvk, err := gvkOf(obj)
	if err != nil {
		return nil, err
	}
	cp, ok := obj.DeepCopyObject().(Object)
	if !ok {
		return nil, fmt.Errorf("type %T does not deep-copy to an object", obj)
	}
	cp.GetObjectKind().SetGroupVersionKind(gvk)
	if clusterScoped[gvk.GroupKind()] || clusterKinds[gvk.GroupKind()] {
		if cp.GetNamespace() != "" {
			return nil, fmt.Errorf("%s is cluster-scoped but has namespace %q", gvk.Kind, cp.GetNamespace())
		}
	} else if cp.GetNamespace() == "" {
		cp.SetNamespace(s.opts.Namespace)
	}
	cp.SetLabels(c.merged(cp.GetLabels(), true))
	c.labelTemplates(cp)
	if len(s.existingSecrets) > 0 {
		for _, spec := range PodSpecs(cp) {
			renameSecrets(spec, s.existingSecrets)
		}
	}
	if s.opts.ImageRegistry != "" {
		for _, spec := range PodSpecs(cp) {
			for _, list := range [][]corev1.Container{spec.InitContainers, spec.Containers} {
				for i := range list {
					list[i].Image = MirrorImage(list[i].Image, s.opts.ImageRegistry)
				}
			}
		}
	}
	return &Rendered{
		Component: c.name,
		GVK:       gvk,
		Ref:       ObjectRef{Group: gvk.Group, Kind: gvk.Kind, Namespace: cp.GetNamespace(), Name: cp.GetName()},
		Object:    cp,
	}, nil
}

// merged returns the component's recommended labels for the role the
// existing labels name (or the main role), overlaid with the existing
// labels: an object's own labels win. withVersion false leaves out the
// version label, for immutable places such as volumeClaimTemplates.
func (c *Component) merged(existing map[string]string, withVersion bool) map[string]string {
	role := existing[LabelComponent]
	if role == "" {
		role = c.meta.Role
	}
	out := c.LabelsFor(role)
	if !withVersion {
		delete(out, LabelVersion)
	}
	for k, v := range existing {
		out[k] = v
	}
	return out
}

// labelTemplates applies the recommended labels to the pod templates and
// volumeClaimTemplates of workloads, so pods and PVCs carry them too.
func (c *Component) labelTemplates(obj Object) {
	tmpl := func(t *corev1.PodTemplateSpec) { t.Labels = c.merged(t.Labels, true) }
	switch o := obj.(type) {
	case *appsv1.Deployment:
		tmpl(&o.Spec.Template)
	case *appsv1.StatefulSet:
		tmpl(&o.Spec.Template)
		for i := range o.Spec.VolumeClaimTemplates {
			v := &o.Spec.VolumeClaimTemplates[i]
			v.Labels = c.merged(v.Labels, false)
		}
	case *appsv1.DaemonSet:
		tmpl(&o.Spec.Template)
	case *appsv1.ReplicaSet:
		tmpl(&o.Spec.Template)
	case *batchv1.Job:
		tmpl(&o.Spec.Template)
	case *batchv1.CronJob:
		o.Spec.JobTemplate.Labels = c.merged(o.Spec.JobTemplate.Labels, true)
		tmpl(&o.Spec.JobTemplate.Spec.Template)
	}
}

// scopes returns the custom kinds that are cluster-scoped: those declared
// with ClusterScoped and those whose CRD in the stack says spec.scope
// Cluster.
func (s *Stack) scopes() map[schema.GroupKind]bool {
	out := map[schema.GroupKind]bool{}
	for gk := range s.crdScopes {
		out[gk] = true
	}
	for _, c := range s.components {
		for _, o := range c.objects {
			u, ok := o.(*unstructured.Unstructured)
			if !ok || u.GetKind() != "CustomResourceDefinition" {
				continue
			}
			group, _, _ := unstructured.NestedString(u.Object, "spec", "group")
			kind, _, _ := unstructured.NestedString(u.Object, "spec", "names", "kind")
			if scope, _, _ := unstructured.NestedString(u.Object, "spec", "scope"); scope == "Cluster" {
				out[schema.GroupKind{Group: group, Kind: kind}] = true
			}
		}
	}
	return out
}

// kustomization renders kustomization.yaml: the files in apply order, and
// as comments the Secrets the stack references but never renders.
func (s *Stack) kustomization(files []string) []byte {
	var b strings.Builder
	b.WriteString(header(s.opts.Name, ""))
	if secrets := s.Secrets(); len(secrets) > 0 {
		b.WriteString("#\n# Secrets referenced but never rendered here (no credential enters dist/).\n")
		b.WriteString("# Create each one with strong random values before `kubectl apply -k`,\n")
		b.WriteString("# and never rotate them by re-creating: the data on the volumes depends on them.\n")
		for _, sec := range secrets {
			keys := make([]string, len(sec.Keys))
			for i, k := range sec.Keys {
				keys[i] = k.describe()
			}
			fmt.Fprintf(&b, "#   %s/%s: %s\n", s.opts.Namespace, sec.Name, strings.Join(keys, ", "))
		}
	}
	if len(s.externals) > 0 {
		b.WriteString("#\n# Objects referenced but expected to exist already:\n")
		for _, ref := range sortedRefs(s.externals) {
			fmt.Fprintf(&b, "#   %s: %s\n", ref, s.externals[ref])
		}
	}
	b.WriteString("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n")
	for _, f := range files {
		b.WriteString("- " + f + "\n")
	}
	return []byte(b.String())
}

func header(stack, component string) string {
	where := "stack " + stack
	if component != "" {
		where += ", component " + component
	}
	return "# Generated by iotstack from " + where + ". DO NOT EDIT:\n" +
		"# change the Go code that builds the stack and synthesize again.\n"
}

// isNil reports whether obj is nil or a typed nil pointer, which would
// panic on the first metadata access.
func isNil(obj Object) bool {
	if obj == nil {
		return true
	}
	v := reflect.ValueOf(obj)
	return v.Kind() == reflect.Pointer && v.IsNil()
}
