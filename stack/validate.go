package stack

import (
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/validation/path"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// validator runs the synth-time checks: the subset of the API server's
// validation that is about names, labels and references between objects,
// plus the references the API server does not check at all (a probe on a
// named port that does not exist fails only in the kubelet).
type validator struct {
	stack    *Stack
	problems []Problem

	have       map[ObjectRef]bool            // kind/namespace/name of objects, externals and declared Secrets (no group)
	cmKeys     map[ObjectRef]map[string]bool // ConfigMap data keys
	secretKeys map[ObjectRef]map[string]bool // declared Secret keys
	services   map[ObjectRef]*corev1.Service // Services by kind/namespace/name
	goodLabels map[[2]string]bool            // label key/value pairs already found valid
	templates  []podTemplate
	byLabel    map[string][]int // template indexes by namespace and label pair
	byNS       map[string][]int // template indexes by namespace
}

// podTemplate is a pod template of a workload, with where it lives.
type podTemplate struct {
	r      *Rendered
	path   *field.Path // path of the PodTemplateSpec
	labels map[string]string
	spec   *corev1.PodSpec
}

func (v *validator) add(component, object, fld, format string, args ...any) {
	v.problems = append(v.problems, Problem{Component: component, Object: object, Field: fld, Message: fmt.Sprintf(format, args...)})
}

func (v *validator) addf(r *Rendered, fld *field.Path, format string, args ...any) {
	f := ""
	if fld != nil {
		f = fld.String()
	}
	v.add(r.Component, r.Ref.String(), f, format, args...)
}

func (v *validator) err() error {
	if len(v.problems) == 0 {
		return nil
	}
	sort.SliceStable(v.problems, func(i, j int) bool {
		a, b := v.problems[i], v.problems[j]
		if a.Component != b.Component {
			return a.Component < b.Component
		}
		if a.Object != b.Object {
			return a.Object < b.Object
		}
		return a.Field < b.Field
	})
	return &ValidationError{Stack: v.stack.opts.Name, Problems: v.problems}
}

func describe(obj Object) string {
	if isNil(obj) {
		return fmt.Sprintf("%T(nil)", obj)
	}
	return fmt.Sprintf("%T %q", obj, obj.GetName())
}

func refKey(kind, namespace, name string) ObjectRef {
	return ObjectRef{Kind: kind, Namespace: namespace, Name: name}
}

func (v *validator) run(all []*Rendered) {
	v.have = map[ObjectRef]bool{}
	v.cmKeys = map[ObjectRef]map[string]bool{}
	v.secretKeys = map[ObjectRef]map[string]bool{}
	v.services = map[ObjectRef]*corev1.Service{}

	owners := map[ObjectRef]*Rendered{}
	for _, r := range all {
		if first, dup := owners[r.Ref]; dup {
			v.addf(r, nil, "owned twice: by component %q and by component %q; every kind/namespace/name must have one owner", first.Component, r.Component)
			continue
		}
		owners[r.Ref] = r
		k := refKey(r.Ref.Kind, r.Ref.Namespace, r.Ref.Name)
		v.have[k] = true
		if cm, ok := r.Object.(*corev1.ConfigMap); ok {
			keys := map[string]bool{}
			for key := range cm.Data {
				keys[key] = true
			}
			for key := range cm.BinaryData {
				keys[key] = true
			}
			v.cmKeys[k] = keys
		}
		if svc, ok := r.Object.(*corev1.Service); ok {
			v.services[k] = svc
		}
	}
	for ref := range v.stack.externals {
		v.have[ref] = true
	}
	v.declaredSecrets()

	for _, r := range all {
		v.metadata(r)
		v.templates = append(v.templates, templatesOf(r)...)
	}
	for _, t := range v.templates {
		v.podTemplate(t)
	}
	v.capacity()
	v.selectorOverlaps(all)
	for _, r := range all {
		switch o := r.Object.(type) {
		case *corev1.Secret:
			if len(o.Data) > 0 || len(o.StringData) > 0 {
				v.addf(r, field.NewPath("data"), "a Secret with data would put a credential into dist/; declare it with Component.DeclareSecret and reference its keys instead")
			}
		case *corev1.ConfigMap:
			for _, k := range sortedKeys(o.Data) {
				if errs := validation.IsConfigMapKey(k); len(errs) > 0 {
					v.addf(r, field.NewPath("data").Key(k), "not a valid ConfigMap key (%s)", joinOr(errs, ""))
				}
				if !utf8.ValidString(o.Data[k]) {
					v.addf(r, field.NewPath("data").Key(k), "the value is not valid UTF-8; put binary content in binaryData")
				}
			}
		case *corev1.Service:
			v.service(r, o)
		case *policyv1.PodDisruptionBudget:
			v.pdb(r, o)
		case *appsv1.StatefulSet:
			v.statefulSet(r, o)
		case *corev1.PersistentVolumeClaim:
			v.storageClass(r, field.NewPath("spec", "storageClassName"), o.Spec.StorageClassName)
		case *corev1.PersistentVolume:
			if o.Spec.StorageClassName != "" {
				v.storageClass(r, field.NewPath("spec", "storageClassName"), &o.Spec.StorageClassName)
			}
		case *rbacv1.RoleBinding:
			v.binding(r, o.RoleRef, o.Subjects)
		case *rbacv1.ClusterRoleBinding:
			v.binding(r, o.RoleRef, o.Subjects)
		case *networkingv1.Ingress:
			v.ingress(r, o)
		case *networkingv1.NetworkPolicy:
			v.networkPolicy(r, o)
		}
	}
}

// declaredSecrets checks the Secrets components declare and indexes them.
func (v *validator) declaredSecrets() {
	owner := map[string]string{}
	for _, c := range v.stack.components {
		for _, s := range c.secrets {
			obj := "Secret/" + v.stack.opts.Namespace + "/" + s.Name
			if errs := validation.IsDNS1123Subdomain(s.Name); len(errs) > 0 {
				v.add(c.name, obj, "name", "%q is not a DNS-1123 subdomain (%s)", s.Name, joinOr(errs, ""))
			}
			if first, dup := owner[s.Name]; dup {
				v.add(c.name, obj, "", "declared twice: by component %q and by component %q; one component owns a Secret, others use its references", first, c.name)
				continue
			}
			owner[s.Name] = c.name
			k := refKey("Secret", v.stack.opts.Namespace, s.Name)
			if v.have[k] {
				v.add(c.name, obj, "", "declared as a generated Secret but also present as an object or external")
			}
			v.have[k] = true
			keys := map[string]bool{}
			if len(s.Keys) == 0 {
				v.add(c.name, obj, "keys", "a declared Secret needs at least one key")
			}
			for i, key := range s.Keys {
				f := fmt.Sprintf("keys[%d]", i)
				if errs := validation.IsConfigMapKey(key.Key); len(errs) > 0 {
					v.add(c.name, obj, f+".key", "%q is not a valid Secret key (%s)", key.Key, joinOr(errs, ""))
				}
				if keys[key.Key] {
					v.add(c.name, obj, f+".key", "%q is declared twice", key.Key)
				}
				keys[key.Key] = true
				switch key.Kind {
				case RandomPassword:
					if key.Length != 0 && (key.Length < 16 || key.Length > 128) {
						v.add(c.name, obj, f+".length", "%d; a generated password needs 16 to 128 characters (0 means 32)", key.Length)
					}
				case ClusterID, UserProvided:
					if key.Length != 0 {
						v.add(c.name, obj, f+".length", "%d; only a generated password has a length, leave it 0", key.Length)
					}
				default:
					v.add(c.name, obj, f+".kind", "%q; allowed: %q, %q, %q", key.Kind, RandomPassword, ClusterID, UserProvided)
				}
			}
			v.secretKeys[k] = keys
		}
	}
}

// nameRule returns the check for an object name of the given kind and
// a description of what is allowed.
func nameRule(kind string) (func(string) []string, string) {
	maxLen := func(check func(string) []string, n int) func(string) []string {
		return func(s string) []string {
			errs := check(s)
			if len(s) > n {
				errs = append(errs, fmt.Sprintf("must be no more than %d characters", n))
			}
			return errs
		}
	}
	switch kind {
	case "Namespace":
		return validation.IsDNS1123Label, "a DNS-1123 label"
	case "Service":
		return validation.IsDNS1035Label, "a DNS-1035 label (it becomes a DNS name)"
	case "StatefulSet":
		// Pods are named <name>-<ordinal> and become hostnames; the
		// controller-revision-hash label is <name>-<10 characters> and a
		// label value holds 63.
		return maxLen(validation.IsDNS1123Label, 52), "a DNS-1123 label of at most 52 characters (pod hostnames and the controller-revision-hash label derive from it)"
	case "CronJob":
		return maxLen(validation.IsDNS1123Subdomain, 52), "a DNS-1123 subdomain of at most 52 characters (Job names add 11)"
	case "Job":
		return maxLen(validation.IsDNS1123Subdomain, 63), "a DNS-1123 subdomain of at most 63 characters (the job-name label holds it)"
	case "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding":
		return func(s string) []string { return path.IsValidPathSegmentName(s) }, "a valid path segment"
	}
	return validation.IsDNS1123Subdomain, "a DNS-1123 subdomain"
}

func (v *validator) metadata(r *Rendered) {
	name := r.Object.GetName()
	check, what := nameRule(r.Ref.Kind)
	if name == "" {
		v.addf(r, field.NewPath("metadata", "name"), "empty; every object needs a name (%s)", what)
	} else if errs := check(name); len(errs) > 0 {
		v.addf(r, field.NewPath("metadata", "name"), "%q must be %s: %s", name, what, joinOr(errs, ""))
	}
	if ns := r.Object.GetNamespace(); ns != "" {
		if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
			v.addf(r, field.NewPath("metadata", "namespace"), "%q is not a DNS-1123 label (%s)", ns, joinOr(errs, ""))
		}
	}
	v.labels(r, field.NewPath("metadata", "labels"), r.Object.GetLabels())
	for _, k := range sortedKeys(r.Object.GetAnnotations()) {
		if errs := validation.IsQualifiedName(strings.ToLower(k)); len(errs) > 0 {
			v.addf(r, field.NewPath("metadata", "annotations").Key(k), "not a qualified annotation key (%s)", joinOr(errs, ""))
		}
	}
}

func (v *validator) labels(r *Rendered, fld *field.Path, l map[string]string) {
	if v.goodLabels == nil {
		v.goodLabels = map[[2]string]bool{}
	}
	for _, k := range sortedKeys(l) {
		// The same few labels repeat on every object; the regular
		// expressions behind the checks dominate validation otherwise.
		if v.goodLabels[[2]string{k, l[k]}] {
			continue
		}
		if len(validation.IsQualifiedName(k)) == 0 && len(validation.IsValidLabelValue(l[k])) == 0 {
			v.goodLabels[[2]string{k, l[k]}] = true
			continue
		}
		if errs := validation.IsQualifiedName(k); len(errs) > 0 {
			v.addf(r, fld.Key(k), "not a qualified label key (%s)", joinOr(errs, ""))
		}
		if errs := validation.IsValidLabelValue(l[k]); len(errs) > 0 {
			v.addf(r, fld.Key(k), "%q is not a valid label value (%s)", l[k], joinOr(errs, ""))
		}
	}
}

// templatesOf returns the pod templates of a workload object.
func templatesOf(r *Rendered) []podTemplate {
	spec := field.NewPath("spec")
	mk := func(p *field.Path, t *corev1.PodTemplateSpec) []podTemplate {
		return []podTemplate{{r: r, path: p, labels: t.Labels, spec: &t.Spec}}
	}
	switch o := r.Object.(type) {
	case *appsv1.Deployment:
		return mk(spec.Child("template"), &o.Spec.Template)
	case *appsv1.StatefulSet:
		return mk(spec.Child("template"), &o.Spec.Template)
	case *appsv1.DaemonSet:
		return mk(spec.Child("template"), &o.Spec.Template)
	case *appsv1.ReplicaSet:
		return mk(spec.Child("template"), &o.Spec.Template)
	case *batchv1.Job:
		return mk(spec.Child("template"), &o.Spec.Template)
	case *batchv1.CronJob:
		return mk(spec.Child("jobTemplate", "spec", "template"), &o.Spec.JobTemplate.Spec.Template)
	case *corev1.Pod:
		return []podTemplate{{r: r, path: field.NewPath(""), labels: o.Labels, spec: &o.Spec}}
	}
	return nil
}

// workloadSelector returns the selector of a workload with a template, or
// nil for Jobs and Pods, which have none to check.
func workloadSelector(r *Rendered) *metav1.LabelSelector {
	switch o := r.Object.(type) {
	case *appsv1.Deployment:
		return o.Spec.Selector
	case *appsv1.StatefulSet:
		return o.Spec.Selector
	case *appsv1.DaemonSet:
		return o.Spec.Selector
	case *appsv1.ReplicaSet:
		return o.Spec.Selector
	}
	return nil
}

// stableSelectorKeys are the only label keys a selector may use.
var stableSelectorKeys = map[string]bool{LabelName: true, LabelInstance: true, LabelComponent: true}

func (v *validator) podTemplate(t podTemplate) {
	r := t.r
	if t.path.String() != "" {
		v.labels(r, t.path.Child("metadata", "labels"), t.labels)
	}
	var replicas *int32
	switch o := r.Object.(type) {
	case *appsv1.Deployment:
		replicas = o.Spec.Replicas
	case *appsv1.StatefulSet:
		replicas = o.Spec.Replicas
	case *appsv1.ReplicaSet:
		replicas = o.Spec.Replicas
	}
	if replicas != nil && *replicas < 0 {
		v.addf(r, field.NewPath("spec", "replicas"), "%d is negative; the API allows 0 or more", *replicas)
	}
	switch r.Object.(type) {
	case *appsv1.Deployment, *appsv1.StatefulSet, *appsv1.DaemonSet, *appsv1.ReplicaSet:
		sel := workloadSelector(r)
		fld := field.NewPath("spec", "selector")
		if sel == nil || (len(sel.MatchLabels) == 0 && len(sel.MatchExpressions) == 0) {
			v.addf(r, fld, "empty; a workload needs a selector on the stable labels %s, %s, %s", LabelName, LabelInstance, LabelComponent)
			break
		}
		if s, err := metav1.LabelSelectorAsSelector(sel); err != nil {
			v.addf(r, fld, "invalid: %v", err)
		} else if !s.Matches(labels.Set(t.labels)) {
			v.addf(r, fld, "%s does not match the pod template labels %v", s, labels.Set(t.labels))
		}
		for _, k := range sortedKeys(sel.MatchLabels) {
			if !stableSelectorKeys[k] && strings.HasPrefix(k, "app.kubernetes.io/") {
				v.addf(r, fld.Child("matchLabels").Key(k), "a selector is immutable and must use only the stable labels %s, %s, %s", LabelName, LabelInstance, LabelComponent)
			}
		}
	}
	spec := t.spec
	sp := t.path.Child("spec")
	if t.path.String() == "" {
		sp = field.NewPath("spec")
	}
	volumes := map[string]bool{}
	for i, vol := range spec.Volumes {
		vp := sp.Child("volumes").Index(i)
		if errs := validation.IsDNS1123Label(vol.Name); len(errs) > 0 {
			v.addf(r, vp.Child("name"), "%q is not a DNS-1123 label (%s)", vol.Name, joinOr(errs, ""))
		}
		if volumes[vol.Name] {
			v.addf(r, vp.Child("name"), "%q is used by two volumes", vol.Name)
		}
		volumes[vol.Name] = true
		v.volumeRefs(r, vp, vol)
	}
	if sts, ok := r.Object.(*appsv1.StatefulSet); ok {
		for _, vct := range sts.Spec.VolumeClaimTemplates {
			volumes[vct.Name] = true
		}
	}
	if sa := spec.ServiceAccountName; sa != "" && sa != "default" {
		v.ref(r, sp.Child("serviceAccountName"), "ServiceAccount", sa)
	}
	for i, ps := range spec.ImagePullSecrets {
		v.ref(r, sp.Child("imagePullSecrets").Index(i).Child("name"), "Secret", ps.Name)
	}
	portNames := map[string]string{}
	names := map[string]bool{}
	check := func(cp *field.Path, c *corev1.Container) {
		if errs := validation.IsDNS1123Label(c.Name); len(errs) > 0 {
			v.addf(r, cp.Child("name"), "%q is not a DNS-1123 label (%s)", c.Name, joinOr(errs, ""))
		}
		if names[c.Name] {
			v.addf(r, cp.Child("name"), "%q is used by two containers", c.Name)
		}
		names[c.Name] = true
		if c.Image == "" {
			v.addf(r, cp.Child("image"), "empty; every container needs an image with a pinned tag")
		}
		own := map[string]bool{}
		for j, p := range c.Ports {
			pp := cp.Child("ports").Index(j)
			if p.Name == "" {
				continue
			}
			if errs := validation.IsValidPortName(p.Name); len(errs) > 0 {
				v.addf(r, pp.Child("name"), "%q is not a valid port name (%s)", p.Name, joinOr(errs, ""))
			}
			if other, dup := portNames[p.Name]; dup {
				v.addf(r, pp.Child("name"), "%q is also a port of container %q; port names must be unique in a pod", p.Name, other)
			}
			portNames[p.Name] = c.Name
			own[p.Name] = true
		}
		probes := []struct {
			name  string
			probe *corev1.Probe
		}{{"readinessProbe", c.ReadinessProbe}, {"livenessProbe", c.LivenessProbe}, {"startupProbe", c.StartupProbe}}
		for _, pr := range probes {
			if pr.probe == nil {
				continue
			}
			v.handlerPort(r, cp.Child(pr.name), pr.probe.HTTPGet, pr.probe.TCPSocket, c, own)
		}
		if c.Lifecycle != nil {
			for _, h := range []struct {
				name string
				h    *corev1.LifecycleHandler
			}{{"postStart", c.Lifecycle.PostStart}, {"preStop", c.Lifecycle.PreStop}} {
				if h.h != nil {
					v.handlerPort(r, cp.Child("lifecycle", h.name), h.h.HTTPGet, h.h.TCPSocket, c, own)
				}
			}
		}
		for j, m := range c.VolumeMounts {
			if !volumes[m.Name] {
				v.addf(r, cp.Child("volumeMounts").Index(j).Child("name"), "%q is not a volume of the pod (volumes: %s)", m.Name, strings.Join(sortedKeys(volumes), ", "))
			}
		}
		for j, e := range c.Env {
			if e.ValueFrom == nil {
				continue
			}
			ep := cp.Child("env").Index(j).Child("valueFrom")
			if ref := e.ValueFrom.ConfigMapKeyRef; ref != nil && !ptrTrue(ref.Optional) {
				v.configMapKey(r, ep.Child("configMapKeyRef"), ref.Name, ref.Key)
			}
			if ref := e.ValueFrom.SecretKeyRef; ref != nil && !ptrTrue(ref.Optional) {
				v.secretKey(r, ep.Child("secretKeyRef"), ref.Name, ref.Key)
			}
		}
		for j, e := range c.EnvFrom {
			ep := cp.Child("envFrom").Index(j)
			if e.ConfigMapRef != nil && !ptrTrue(e.ConfigMapRef.Optional) {
				v.ref(r, ep.Child("configMapRef", "name"), "ConfigMap", e.ConfigMapRef.Name)
			}
			if e.SecretRef != nil && !ptrTrue(e.SecretRef.Optional) {
				v.ref(r, ep.Child("secretRef", "name"), "Secret", e.SecretRef.Name)
			}
		}
	}
	for i := range spec.InitContainers {
		check(sp.Child("initContainers").Index(i), &spec.InitContainers[i])
	}
	for i := range spec.Containers {
		check(sp.Child("containers").Index(i), &spec.Containers[i])
	}
	if len(spec.Containers) == 0 {
		v.addf(r, sp.Child("containers"), "empty; a pod needs at least one container")
	}
}

func ptrTrue(b *bool) bool { return b != nil && *b }

// handlerPort checks that a named port used by a probe or lifecycle
// handler is a port of the same container. The API server accepts an
// unknown name; the kubelet then fails the probe forever.
func (v *validator) handlerPort(r *Rendered, fld *field.Path, http *corev1.HTTPGetAction, tcp *corev1.TCPSocketAction, c *corev1.Container, own map[string]bool) {
	var port intstr.IntOrString
	switch {
	case http != nil:
		port, fld = http.Port, fld.Child("httpGet", "port")
	case tcp != nil:
		port, fld = tcp.Port, fld.Child("tcpSocket", "port")
	default:
		return
	}
	if port.Type == intstr.String && !own[port.StrVal] {
		have := "it has no named ports"
		if len(own) > 0 {
			have = "ports: " + strings.Join(sortedKeys(own), ", ")
		}
		v.addf(r, fld, "named port %q is not a port of container %q (%s)", port.StrVal, c.Name, have)
	}
}

func (v *validator) volumeRefs(r *Rendered, vp *field.Path, vol corev1.Volume) {
	switch {
	case vol.ConfigMap != nil:
		if !ptrTrue(vol.ConfigMap.Optional) {
			v.ref(r, vp.Child("configMap", "name"), "ConfigMap", vol.ConfigMap.Name)
			for i, it := range vol.ConfigMap.Items {
				v.configMapKey(r, vp.Child("configMap", "items").Index(i), vol.ConfigMap.Name, it.Key)
			}
		}
	case vol.Secret != nil:
		if !ptrTrue(vol.Secret.Optional) {
			v.ref(r, vp.Child("secret", "secretName"), "Secret", vol.Secret.SecretName)
			for i, it := range vol.Secret.Items {
				v.secretKey(r, vp.Child("secret", "items").Index(i), vol.Secret.SecretName, it.Key)
			}
		}
	case vol.PersistentVolumeClaim != nil:
		v.ref(r, vp.Child("persistentVolumeClaim", "claimName"), "PersistentVolumeClaim", vol.PersistentVolumeClaim.ClaimName)
	case vol.Projected != nil:
		for i, src := range vol.Projected.Sources {
			sp := vp.Child("projected", "sources").Index(i)
			if src.ConfigMap != nil && !ptrTrue(src.ConfigMap.Optional) {
				v.ref(r, sp.Child("configMap", "name"), "ConfigMap", src.ConfigMap.Name)
				for j, it := range src.ConfigMap.Items {
					v.configMapKey(r, sp.Child("configMap", "items").Index(j), src.ConfigMap.Name, it.Key)
				}
			}
			if src.Secret != nil && !ptrTrue(src.Secret.Optional) {
				v.ref(r, sp.Child("secret", "name"), "Secret", src.Secret.Name)
				for j, it := range src.Secret.Items {
					v.secretKey(r, sp.Child("secret", "items").Index(j), src.Secret.Name, it.Key)
				}
			}
		}
	}
}

// ref reports a reference to a namespaced object of kind that is neither
// in the stack nor declared external.
func (v *validator) ref(r *Rendered, fld *field.Path, kind, name string) bool {
	ns := r.Ref.Namespace
	if isClusterScopedKind(kind) {
		ns = ""
	}
	if name == "" {
		v.addf(r, fld, "empty %s name", kind)
		return false
	}
	if !v.have[refKey(kind, ns, name)] {
		v.addf(r, fld, "%s %q is not in the stack; add it to a component or declare it with Stack.External", kind, name)
		return false
	}
	return true
}

func (v *validator) configMapKey(r *Rendered, fld *field.Path, name, key string) {
	if !v.ref(r, fld.Child("name"), "ConfigMap", name) {
		return
	}
	if keys, ok := v.cmKeys[refKey("ConfigMap", r.Ref.Namespace, name)]; ok && !keys[key] {
		v.addf(r, fld.Child("key"), "ConfigMap %q has no key %q (keys: %s)", name, key, strings.Join(sortedKeys(keys), ", "))
	}
}

func (v *validator) secretKey(r *Rendered, fld *field.Path, name, key string) {
	if !v.ref(r, fld.Child("name"), "Secret", name) {
		return
	}
	if keys, ok := v.secretKeys[refKey("Secret", r.Ref.Namespace, name)]; ok && !keys[key] {
		v.addf(r, fld.Child("key"), "declared Secret %q has no key %q (keys: %s)", name, key, strings.Join(sortedKeys(keys), ", "))
	}
}

func (v *validator) storageClass(r *Rendered, fld *field.Path, name *string) {
	// nil means the cluster's default StorageClass, "" means none: both
	// are deliberate and need no object.
	if name == nil || *name == "" {
		return
	}
	v.ref(r, fld, "StorageClass", *name)
}

// selected returns the pod templates in namespace ns whose labels match
// sel. Templates are indexed by namespace and label pair, so a selector is
// compared only with the templates of its rarest equality requirement:
// checking every Service and PDB stays linear in the number of objects.
func (v *validator) selected(ns string, sel labels.Selector) []podTemplate {
	if v.byLabel == nil {
		v.byLabel = map[string][]int{}
		v.byNS = map[string][]int{}
		for i, t := range v.templates {
			ns := t.r.Ref.Namespace
			v.byNS[ns] = append(v.byNS[ns], i)
			for k, val := range t.labels {
				key := ns + "\x00" + k + "=" + val
				v.byLabel[key] = append(v.byLabel[key], i)
			}
		}
	}
	candidates := v.byNS[ns]
	reqs, _ := sel.Requirements()
	var best []string // the index keys of the rarest equality requirement
	bestSize := len(candidates)
	for _, req := range reqs {
		switch req.Operator() {
		case selection.Equals, selection.DoubleEquals, selection.In:
		default:
			continue
		}
		var keys []string
		size := 0
		for _, val := range req.Values().List() {
			k := ns + "\x00" + req.Key() + "=" + val
			keys = append(keys, k)
			size += len(v.byLabel[k])
		}
		if size < bestSize {
			best, bestSize = keys, size
		}
	}
	if best != nil {
		candidates = make([]int, 0, bestSize)
		for _, k := range best {
			candidates = append(candidates, v.byLabel[k]...)
		}
		sort.Ints(candidates) // keep the templates' order
	}
	var out []podTemplate
	for _, i := range candidates {
		if t := v.templates[i]; sel.Matches(labels.Set(t.labels)) {
			out = append(out, t)
		}
	}
	return out
}

// networkPolicy checks that a NetworkPolicy selects only pods of the
// component that owns it: a policy is the component's statement about its
// own pods, and one selecting another component's pods would open (or
// close) ports that component never declared.
func (v *validator) networkPolicy(r *Rendered, np *networkingv1.NetworkPolicy) {
	fld := field.NewPath("spec", "podSelector")
	sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
	if err != nil {
		v.addf(r, fld, "invalid: %v", err)
		return
	}
	others := map[string][]string{}
	for _, t := range v.selected(r.Ref.Namespace, sel) {
		if t.r.Component != r.Component {
			others[t.r.Component] = append(others[t.r.Component], t.r.Ref.Kind+"/"+t.r.Ref.Name)
		}
	}
	for _, c := range sortedKeys(others) {
		v.addf(r, fld, "%s also selects the pods of component %q (%s); a NetworkPolicy must select only its own component's pods: give the components distinct selector labels (app.kubernetes.io/name, instance, component)", sel, c, strings.Join(others[c], ", "))
	}
}

func (v *validator) service(r *Rendered, svc *corev1.Service) {
	for i, p := range svc.Spec.Ports {
		if p.Name == "" {
			continue
		}
		if errs := validation.IsValidPortName(p.Name); len(errs) > 0 {
			v.addf(r, field.NewPath("spec", "ports").Index(i).Child("name"), "%q is not a valid port name (%s)", p.Name, joinOr(errs, ""))
		}
	}
	if len(svc.Spec.Selector) == 0 {
		return // ExternalName or a Service with hand-made endpoints
	}
	fld := field.NewPath("spec", "selector")
	static := map[string]string{}
	for k, val := range svc.Spec.Selector {
		if _, rt := v.stack.runtime[k]; !rt {
			static[k] = val
		}
	}
	matched := v.selected(r.Ref.Namespace, labels.SelectorFromSet(static))
	if len(matched) == 0 {
		v.addf(r, fld, "%v selects no pod template in the stack", labels.Set(svc.Spec.Selector))
		return
	}
	for i, p := range svc.Spec.Ports {
		if p.TargetPort.Type != intstr.String {
			continue
		}
		for _, t := range matched {
			if !hasPortName(t.spec, p.TargetPort.StrVal) {
				v.addf(r, field.NewPath("spec", "ports").Index(i).Child("targetPort"), "named port %q is not a container port of %s, which the selector matches", p.TargetPort.StrVal, t.r.Ref)
			}
		}
	}
}

func hasPortName(spec *corev1.PodSpec, name string) bool {
	for _, c := range spec.Containers {
		for _, p := range c.Ports {
			if p.Name == name {
				return true
			}
		}
	}
	return false
}

func (v *validator) pdb(r *Rendered, pdb *policyv1.PodDisruptionBudget) {
	fld := field.NewPath("spec", "selector")
	if pdb.Spec.MinAvailable != nil && pdb.Spec.MaxUnavailable != nil {
		v.addf(r, field.NewPath("spec"), "minAvailable and maxUnavailable are both set; the API allows one")
	}
	if pdb.Spec.Selector == nil {
		v.addf(r, fld, "empty; a PodDisruptionBudget must select a workload")
		return
	}
	sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
	if err != nil {
		v.addf(r, fld, "invalid: %v", err)
		return
	}
	for _, t := range v.selected(r.Ref.Namespace, sel) {
		if workloadSelector(t.r) != nil {
			return
		}
	}
	v.addf(r, fld, "%s selects no Deployment, StatefulSet, DaemonSet or ReplicaSet in the stack", sel)
}

func (v *validator) statefulSet(r *Rendered, sts *appsv1.StatefulSet) {
	spec := field.NewPath("spec")
	if sts.Spec.ServiceName == "" {
		v.addf(r, spec.Child("serviceName"), "empty; a StatefulSet names the headless Service that gives its pods DNS names")
	} else {
		v.ref(r, spec.Child("serviceName"), "Service", sts.Spec.ServiceName)
	}
	replicas := int32(1)
	if sts.Spec.Replicas != nil {
		replicas = *sts.Spec.Replicas
	}
	last := fmt.Sprint(max(replicas-1, 0))
	for i, vct := range sts.Spec.VolumeClaimTemplates {
		vp := spec.Child("volumeClaimTemplates").Index(i)
		if errs := validation.IsDNS1123Label(vct.Name); len(errs) > 0 {
			v.addf(r, vp.Child("metadata", "name"), "%q is not a DNS-1123 label (%s)", vct.Name, joinOr(errs, ""))
		}
		pvc := vct.Name + "-" + sts.Name + "-" + last
		if errs := validation.IsDNS1123Subdomain(pvc); len(errs) > 0 {
			v.addf(r, vp.Child("metadata", "name"), "the PVC name %q of the last replica is not a DNS-1123 subdomain (%s)", pvc, joinOr(errs, ""))
		}
		v.labels(r, vp.Child("metadata", "labels"), vct.Labels)
		v.storageClass(r, vp.Child("spec", "storageClassName"), vct.Spec.StorageClassName)
	}
}

func (v *validator) binding(r *Rendered, role rbacv1.RoleRef, subjects []rbacv1.Subject) {
	if role.Kind == "Role" || role.Kind == "ClusterRole" {
		v.ref(r, field.NewPath("roleRef", "name"), role.Kind, role.Name)
	} else {
		v.addf(r, field.NewPath("roleRef", "kind"), "%q; allowed: Role, ClusterRole", role.Kind)
	}
	for i, s := range subjects {
		if s.Kind != "ServiceAccount" {
			continue
		}
		ns := s.Namespace
		if ns == "" {
			ns = r.Ref.Namespace
		}
		if !v.have[refKey("ServiceAccount", ns, s.Name)] {
			v.addf(r, field.NewPath("subjects").Index(i), "ServiceAccount %s/%s is not in the stack; add it or declare it with Stack.External", ns, s.Name)
		}
	}
}

func (v *validator) ingress(r *Rendered, ing *networkingv1.Ingress) {
	check := func(fld *field.Path, b *networkingv1.IngressBackend) {
		if b == nil || b.Service == nil {
			return
		}
		if !v.ref(r, fld.Child("service", "name"), "Service", b.Service.Name) {
			return
		}
		if b.Service.Port.Name == "" {
			return
		}
		svc := v.services[refKey("Service", r.Ref.Namespace, b.Service.Name)]
		if svc == nil {
			return // declared external: its ports are unknown
		}
		for _, p := range svc.Spec.Ports {
			if p.Name == b.Service.Port.Name {
				return
			}
		}
		v.addf(r, fld.Child("service", "port", "name"), "Service %q has no port named %q", b.Service.Name, b.Service.Port.Name)
	}
	check(field.NewPath("spec", "defaultBackend"), ing.Spec.DefaultBackend)
	for i, rule := range ing.Spec.Rules {
		if rule.HTTP == nil {
			continue
		}
		for j, p := range rule.HTTP.Paths {
			check(field.NewPath("spec", "rules").Index(i).Child("http", "paths").Index(j).Child("backend"), &p.Backend)
		}
	}
}
