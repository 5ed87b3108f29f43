// Package validate checks synthesized stacks as strictly as an API server
// would, offline, plus the high-availability and security rules iotstack
// promises. Each check is a named rule with a one-line reason; a finding
// names the profile, the file, the object, the rule and what is wrong.
//
// Layers: strict decoding of every rendered document with the API
// machinery's strict codec (what the API server uses: case-sensitive,
// unknown and duplicate fields are errors); Pod Security Standards at
// "restricted" on every pod template (k8s.io/pod-security-admission);
// and the project rules below. A component may opt out of a rule only
// with stack.Component.Except and a reason; every exception is listed.
package validate

import (
	"bytes"
	"fmt"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	psaapi "k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"

	"github.com/iotstack/iotstack/stack"
)

// Rule names a check and says why it exists.
type Rule struct {
	Name, Reason string
}

// The rules, in the order they are reported.
var (
	StrictDecode     = Rule{"strict-decode", "the API server rejects unknown, duplicate or mistyped fields"}
	PodSecurity      = Rule{"pod-security", "pods run under the Pod Security Standard \"restricted\""}
	PDB              = Rule{"pdb", "a workload with more than one replica has a PodDisruptionBudget, so drains keep it available"}
	HostAntiAffinity = Rule{"host-anti-affinity", "replicas of a workload are kept apart across hosts"}
	ZoneSpread       = Rule{"zone-spread", "replicas of a workload are spread over the zones (or pinned to one), so a zone loss leaves the rest"}
	Resources        = Rule{"resources", "every container has CPU and memory requests and limits"}
	Probes           = Rule{"probes", "every long-running container has readiness and liveness probes"}
	ImageTag         = Rule{"image-tag", "images carry a pinned tag: no latest, no untagged, no bitnami/bitnamilegacy (frozen or gone since 2025)"}
	HeadlessService  = Rule{"headless-service", "a StatefulSet names a headless Service for its pods' DNS names"}
	SecretData       = Rule{"secret-data", "no credential is rendered: Secrets are declared and created at apply time"}
	References       = Rule{"references", "every reference resolves (Service and PDB selectors, named ports of probes and Services, ConfigMaps, Secrets, ServiceAccounts, StorageClasses, PVCs) and names, labels and values pass the API server's own checks; enforced when the stack is synthesized"}
)

// Rules lists every rule.
var Rules = []Rule{StrictDecode, Schema, References, PodSecurity, PDB, HostAntiAffinity, ZoneSpread, Resources, Probes, ImageTag, HeadlessService, SecretData}

// Finding is one violated rule.
type Finding struct {
	Profile, File, Object, Rule, Message string
}

// String renders the finding as one line.
func (f Finding) String() string {
	return fmt.Sprintf("%s %s %s [%s] %s", f.Profile, f.File, f.Object, f.Rule, f.Message)
}

// Report is the result of checking one output.
type Report struct {
	profile string
	// Findings are the violations, sorted.
	Findings []Finding
	// Exceptions are the documented opt-outs that suppressed findings or
	// were declared.
	Exceptions []stack.Exception
	// Objects is the number of objects checked.
	Objects int
}

// Profile names the checked stack ("minimal-3az", "minimal-3az/loadtest").
func (r *Report) Profile() string { return r.profile }

// OK reports whether there is no finding.
func (r *Report) OK() bool { return len(r.Findings) == 0 }

// Check validates one synthesized output; profile names it in findings.
func Check(profile string, out *stack.Output) *Report {
	c := &checker{profile: profile, out: out, report: &Report{profile: profile, Objects: len(out.Objects)}, except: map[[2]string]bool{}}
	for _, e := range out.Exceptions {
		c.except[[2]string{e.Component, e.Rule}] = true
		c.report.Exceptions = append(c.report.Exceptions, e)
	}
	c.decode()
	for i := range out.Objects {
		c.object(&out.Objects[i])
	}
	sortFindings(c.report.Findings)
	return c.report
}

func sortFindings(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool { return fs[i].String() < fs[j].String() })
}

type checker struct {
	profile string
	out     *stack.Output
	report  *Report
	except  map[[2]string]bool
}

func (c *checker) add(r *stack.Rendered, rule Rule, format string, args ...any) {
	if r != nil && c.except[[2]string{r.Component, rule.Name}] {
		return
	}
	f := Finding{Profile: c.profile, Rule: rule.Name, Message: fmt.Sprintf(format, args...)}
	if r != nil {
		f.File, f.Object = r.File, r.Ref.String()
	}
	c.report.Findings = append(c.report.Findings, f)
}

// document is one rendered object with its YAML document.
type document struct {
	r    *stack.Rendered
	data []byte
}

// mismatch is a file whose documents do not pair with its objects.
type mismatch struct {
	first      *stack.Rendered
	file       string
	docs, objs int
}

// documents pairs every rendered object with its document in its file,
// in file order; a file holding another number of documents than objects
// is a mismatch and yields no pairs.
func documents(out *stack.Output) ([]document, []mismatch) {
	byFile := map[string][]*stack.Rendered{}
	for i := range out.Objects {
		r := &out.Objects[i]
		byFile[r.File] = append(byFile[r.File], r)
	}
	var docs []document
	var bad []mismatch
	for _, f := range out.Files {
		objs := byFile[f.Name]
		if len(objs) == 0 {
			continue
		}
		parts := bytes.Split(f.Data, []byte("\n---\n"))[1:]
		if len(parts) != len(objs) {
			bad = append(bad, mismatch{objs[0], f.Name, len(parts), len(objs)})
			continue
		}
		for i, d := range parts {
			docs = append(docs, document{objs[i], d})
		}
	}
	return docs, bad
}

// decode reads every rendered document back with the strict codec.
func (c *checker) decode() {
	dec := serializer.NewCodecFactory(stack.Scheme, serializer.EnableStrict).UniversalDeserializer()
	docs, bad := documents(c.out)
	for _, m := range bad {
		c.add(m.first, StrictDecode, "%s holds %d documents for %d objects", m.file, m.docs, m.objs)
	}
	for _, d := range docs {
		if _, known := stack.Scheme.AllKnownTypes()[d.r.GVK]; !known {
			continue // a custom resource: its CRD's schema checks it
		}
		if _, _, err := dec.Decode(d.data, nil, nil); err != nil {
			c.add(d.r, StrictDecode, "%v", err)
		}
	}
}

var evaluator = func() policy.Evaluator {
	e, err := policy.NewEvaluator(policy.DefaultChecks())
	if err != nil {
		panic(fmt.Sprintf("validate: pod security checks: %v", err)) // static input
	}
	return e
}()

// workload is a pod template with what the rules need to know.
type workload struct {
	meta     metav1.ObjectMeta
	spec     corev1.PodSpec
	replicas int32
	selector *metav1.LabelSelector
	job      bool
}

func workloadOf(r *stack.Rendered) (workload, bool) {
	switch o := r.Object.(type) {
	case *appsv1.Deployment:
		return workload{o.Spec.Template.ObjectMeta, o.Spec.Template.Spec, replicas(o.Spec.Replicas), o.Spec.Selector, false}, true
	case *appsv1.StatefulSet:
		return workload{o.Spec.Template.ObjectMeta, o.Spec.Template.Spec, replicas(o.Spec.Replicas), o.Spec.Selector, false}, true
	case *appsv1.DaemonSet:
		return workload{o.Spec.Template.ObjectMeta, o.Spec.Template.Spec, 2, o.Spec.Selector, false}, true
	case *batchv1.Job:
		return workload{o.Spec.Template.ObjectMeta, o.Spec.Template.Spec, 1, nil, true}, true
	case *batchv1.CronJob:
		return workload{o.Spec.JobTemplate.Spec.Template.ObjectMeta, o.Spec.JobTemplate.Spec.Template.Spec, 1, nil, true}, true
	case *corev1.Pod:
		return workload{o.ObjectMeta, o.Spec, 1, nil, false}, true
	}
	return workload{}, false
}

func replicas(p *int32) int32 {
	if p == nil {
		return 1
	}
	return *p
}

func (c *checker) object(r *stack.Rendered) {
	switch o := r.Object.(type) {
	case *corev1.Secret:
		if len(o.Data) > 0 || len(o.StringData) > 0 {
			c.add(r, SecretData, "Secret with data")
		}
	case *appsv1.StatefulSet:
		c.headless(r, o)
	}
	w, ok := workloadOf(r)
	if !ok {
		return
	}
	lv := psaapi.LevelVersion{Level: psaapi.LevelRestricted, Version: psaapi.LatestVersion()}
	if res := policy.AggregateCheckResults(evaluator.EvaluatePod(lv, &w.meta, &w.spec)); !res.Allowed {
		c.add(r, PodSecurity, "%s: %s", res.ForbiddenReason(), res.ForbiddenDetail())
	}
	all := append(append([]corev1.Container(nil), w.spec.InitContainers...), w.spec.Containers...)
	for _, ct := range all {
		c.image(r, ct)
		for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			if _, ok := ct.Resources.Requests[res]; !ok {
				c.add(r, Resources, "container %q has no %s request", ct.Name, res)
			}
			if _, ok := ct.Resources.Limits[res]; !ok {
				c.add(r, Resources, "container %q has no %s limit", ct.Name, res)
			}
		}
	}
	if !w.job {
		for _, ct := range w.spec.Containers {
			if ct.ReadinessProbe == nil {
				c.add(r, Probes, "container %q has no readiness probe", ct.Name)
			}
			if ct.LivenessProbe == nil {
				c.add(r, Probes, "container %q has no liveness probe", ct.Name)
			}
		}
	}
	if w.replicas > 1 && !w.job {
		c.pdb(r, w)
		c.spread(r, w)
	}
}

func (c *checker) image(r *stack.Rendered, ct corev1.Container) {
	img := ct.Image
	ref := img
	if at := strings.Index(ref, "@"); at >= 0 {
		ref = ref[:at] // name:tag@digest: the tag is still the version
	}
	name, tag := ref, ""
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		name, tag = ref[:i], ref[i+1:]
	}
	switch {
	case tag == "":
		c.add(r, ImageTag, "container %q image %q has no tag", ct.Name, img)
	case tag == "latest":
		c.add(r, ImageTag, "container %q image %q uses latest", ct.Name, img)
	default:
		if _, err := stack.ParseImage(img); err != nil {
			c.add(r, ImageTag, "container %q image: %v", ct.Name, err)
		}
	}
	for _, banned := range []string{"bitnami/", "bitnamilegacy/", "docker.io/bitnami/", "docker.io/bitnamilegacy/"} {
		if strings.HasPrefix(name, banned) {
			c.add(r, ImageTag, "container %q image %q is a Bitnami image (frozen or removed since 2025)", ct.Name, img)
		}
	}
}

func (c *checker) pdb(r *stack.Rendered, w workload) {
	for _, o := range c.out.Objects {
		p, ok := o.Object.(*policyv1.PodDisruptionBudget)
		if !ok || p.Namespace != r.Ref.Namespace || p.Spec.Selector == nil {
			continue
		}
		if sel, err := metav1.LabelSelectorAsSelector(p.Spec.Selector); err == nil && sel.Matches(labels.Set(w.meta.Labels)) {
			return
		}
	}
	c.add(r, PDB, "%d replicas and no PodDisruptionBudget selects them", w.replicas)
}

func (c *checker) spread(r *stack.Rendered, w workload) {
	aff := w.spec.Affinity
	host := aff != nil && aff.PodAntiAffinity != nil && (hasKey(aff.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution, stack.HostnameLabel) || hasWeightedKey(aff.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution, stack.HostnameLabel))
	if !host {
		c.add(r, HostAntiAffinity, "%d replicas and no pod anti-affinity on %s", w.replicas, stack.HostnameLabel)
	}
	if len(c.out.Topology.Zones) < 2 {
		return
	}
	for _, t := range w.spec.TopologySpreadConstraints {
		if t.TopologyKey == stack.ZoneLabel {
			return
		}
	}
	if aff != nil && aff.NodeAffinity != nil && aff.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil {
		for _, term := range aff.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
			for _, e := range term.MatchExpressions {
				if e.Key == stack.ZoneLabel {
					return // pinned to a zone on purpose (per-zone StatefulSets)
				}
			}
		}
	}
	c.add(r, ZoneSpread, "%d replicas and no topology spread constraint on %s", w.replicas, stack.ZoneLabel)
}

func hasKey(terms []corev1.PodAffinityTerm, key string) bool {
	for _, t := range terms {
		if t.TopologyKey == key {
			return true
		}
	}
	return false
}

func hasWeightedKey(terms []corev1.WeightedPodAffinityTerm, key string) bool {
	for _, t := range terms {
		if t.PodAffinityTerm.TopologyKey == key {
			return true
		}
	}
	return false
}

func (c *checker) headless(r *stack.Rendered, sts *appsv1.StatefulSet) {
	for _, o := range c.out.Objects {
		if svc, ok := o.Object.(*corev1.Service); ok && svc.Name == sts.Spec.ServiceName && svc.Namespace == sts.Namespace {
			if svc.Spec.ClusterIP != corev1.ClusterIPNone {
				c.add(r, HeadlessService, "serviceName %q is not a headless Service (clusterIP %q)", svc.Name, svc.Spec.ClusterIP)
			}
			return
		}
	}
	c.add(r, HeadlessService, "serviceName %q is not a Service of the stack", sts.Spec.ServiceName)
}
