package stack

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// trickyStrings are values a careless YAML writer corrupts: YAML 1.1
// booleans and numbers, null words, indicators, and multi-line text with
// trailing spaces, tabs and leading indentation.
var trickyStrings = map[string]string{
	"bool-on": "on", "bool-yes": "yes", "bool-No": "No", "bool-y": "y", "bool-OFF": "OFF",
	"octal": "0777", "sexagesimal": "1:20", "underscored": "1_000", "float": "1.0", "exp": "12e3",
	"hex": "0x1F", "inf": ".inf", "tilde": "~", "null": "null", "empty": "", "date": "2001-12-14",
	"dash": "- x", "colon": "a: b", "hash": "#x", "star": "*ref", "leading-space": " lead",
	"trailing-space": "trail ", "quote": `say "hi"`, "unicode": "zoné ✓",
	"multi":            "line1\nline2\n",
	"multi-no-newline": "line1\nline2",
	"multi-trailing":   "line1 \nline2\n",
	"multi-indented":   "  indented\nline2\n",
	"multi-tab":        "tab\there\nline2\n\n",
	"properties":       "process.roles=broker,controller\nnode.id=${ORDINAL}\nlisteners=PLAINTEXT://:9092\n",
}

func synthEcho(t *testing.T) (*Stack, *Output) {
	t.Helper()
	s := newTestStack(t)
	e := addEcho(t, s, "echo")
	for k, v := range trickyStrings {
		e.cm.Data["tricky-"+k] = v
	}
	out, err := s.Synth()
	if err != nil {
		t.Fatal(err)
	}
	return s, out
}

// TestGolden compares the sample component's output with testdata/golden.
// Run `go test ./stack -update` to rewrite them, then review the diff.
func TestGolden(t *testing.T) {
	_, out := synthEcho(t)
	dir := filepath.Join("testdata", "golden")
	if *update {
		if err := Write(Target{Dir: dir, Output: out}); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("%v (run `go test ./stack -update` to create the golden files)", err)
	}
	if len(entries) != len(out.Files) {
		t.Errorf("testdata/golden has %d files, synthesis %d", len(entries), len(out.Files))
	}
	for _, f := range out.Files {
		want, err := os.ReadFile(filepath.Join(dir, f.Name))
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		if d := cmp.Diff(strings.Split(string(want), "\n"), strings.Split(string(f.Data), "\n")); d != "" {
			t.Errorf("%s differs from testdata/golden (-golden +synth):\n%s\nrun `go test ./stack -update` and review the diff", f.Name, d)
		}
	}
}

// TestRoundTrip decodes every rendered document with the API machinery's
// strict codec (what the API server uses: case-sensitive, unknown and
// duplicate fields are errors) and checks it equals the object synthesized:
// the YAML loses nothing and quotes what it must.
func TestRoundTrip(t *testing.T) {
	_, out := synthEcho(t)
	codecs := serializer.NewCodecFactory(Scheme, serializer.EnableStrict)
	dec := codecs.UniversalDeserializer()
	i := 0
	for _, f := range out.Files {
		if f.Name == "kustomization.yaml" {
			continue
		}
		for _, doc := range bytes.Split(f.Data, []byte("\n---\n"))[1:] {
			got, _, err := dec.Decode(doc, nil, nil)
			if err != nil {
				t.Fatalf("%s: decoding document %d: %v\n%s", f.Name, i, err, doc)
			}
			want := out.Objects[i].Object
			if !apiequality.Semantic.DeepEqual(got, want) {
				t.Errorf("%s: %s does not round-trip:\n%s", f.Name, out.Objects[i].Ref, cmp.Diff(want, got))
			}
			i++
		}
	}
	if i != len(out.Objects) {
		t.Fatalf("decoded %d documents, synthesized %d objects", i, len(out.Objects))
	}
}

func TestDeterministic(t *testing.T) {
	_, first := synthEcho(t)
	for n := 0; n < 10; n++ {
		_, again := synthEcho(t)
		if d := cmp.Diff(first.Files, again.Files); d != "" {
			t.Fatalf("run %d differs:\n%s", n, d)
		}
	}
}

// TestSynthDoesNotMutate checks synthesis works on copies: the component's
// objects keep the labels the constructor gave them, and a second Synth of
// the same stack gives the same bytes.
func TestSynthDoesNotMutate(t *testing.T) {
	s := newTestStack(t)
	e := addEcho(t, s, "echo")
	before := e.sts.DeepCopy()
	a, err := s.Synth()
	if err != nil {
		t.Fatal(err)
	}
	if !apiequality.Semantic.DeepEqual(before, e.sts) {
		t.Fatalf("Synth changed the component's StatefulSet:\n%s", cmp.Diff(before, e.sts))
	}
	b, err := s.Synth()
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(a.Files, b.Files); d != "" {
		t.Fatalf("second Synth differs:\n%s", d)
	}
}

func TestLayout(t *testing.T) {
	s := newTestStack(t)
	addEcho(t, s, "zeta")
	addEcho(t, s, "alpha")
	out, err := s.Synth()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range out.Files {
		names = append(names, f.Name)
	}
	want := []string{"00-namespace.yaml", "01-zeta.yaml", "02-alpha.yaml", "kustomization.yaml"}
	if d := cmp.Diff(want, names); d != "" {
		t.Fatalf("files (-want +got):\n%s", d)
	}
	k := string(out.File("kustomization.yaml").Data)
	if !strings.Contains(k, "resources:\n- 00-namespace.yaml\n- 01-zeta.yaml\n- 02-alpha.yaml\n") {
		t.Errorf("kustomization does not list the files in order:\n%s", k)
	}
	if !strings.Contains(k, "demo/zeta-auth: password (random password, 32 characters)") {
		t.Errorf("kustomization does not list the declared Secret:\n%s", k)
	}
	// Kind order inside a file.
	var kinds []string
	for _, o := range out.Objects {
		if o.Component == "zeta" {
			kinds = append(kinds, o.Ref.Kind+"/"+o.Ref.Name)
		}
	}
	wantKinds := []string{"ConfigMap/zeta-config", "NetworkPolicy/zeta", "Service/zeta", "Service/zeta-headless", "PodDisruptionBudget/zeta", "StatefulSet/zeta"}
	if d := cmp.Diff(wantKinds, kinds); d != "" {
		t.Errorf("kind order (-want +got):\n%s", d)
	}
}

func TestDependsOnOrdersFiles(t *testing.T) {
	s := newTestStack(t)
	app := addEcho(t, s, "app")
	db := addEcho(t, s, "db")
	app.c.DependsOn(db.c)
	out, err := s.Synth()
	if err != nil {
		t.Fatal(err)
	}
	if out.Files[1].Name != "01-db.yaml" || out.Files[2].Name != "02-app.yaml" {
		t.Fatalf("files: %s, %s; want db before app", out.Files[1].Name, out.Files[2].Name)
	}
	db.c.DependsOn(app.c)
	if _, err := s.Synth(); err == nil || !strings.Contains(err.Error(), "dependency cycle: app -> db -> app") {
		t.Fatalf("cycle: got %v", err)
	}
}

func TestLabels(t *testing.T) {
	s := newTestStack(t)
	e := addEcho(t, s, "echo")
	e.cm.Labels = map[string]string{LabelComponent: "config", "custom": "kept"}
	out, err := s.Synth()
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range out.Objects {
		l := o.Object.GetLabels()
		for _, k := range []string{LabelName, LabelInstance, LabelComponent, LabelPartOf, LabelManagedBy} {
			if l[k] == "" {
				t.Errorf("%s has no label %s", o.Ref, k)
			}
		}
		if o.Ref.Kind == "ConfigMap" && (l[LabelComponent] != "config" || l["custom"] != "kept" || l[LabelName] != "echo") {
			t.Errorf("ConfigMap labels %v: the object's own labels must win and the rest be filled in", l)
		}
	}
	for _, o := range out.Objects {
		if o.Ref.Kind != "StatefulSet" {
			continue
		}
		tmpl := o.Object.(*appsv1.StatefulSet)
		if tmpl.Spec.Template.Labels[LabelVersion] != "1.2.3" || tmpl.Spec.Template.Labels[LabelPartOf] != "iotstack-test" {
			t.Errorf("pod template labels %v lack the recommended labels", tmpl.Spec.Template.Labels)
		}
		if _, has := tmpl.Spec.VolumeClaimTemplates[0].Labels[LabelVersion]; has {
			t.Errorf("volumeClaimTemplate labels %v carry the version: an upgrade would then change an immutable field", tmpl.Spec.VolumeClaimTemplates[0].Labels)
		}
	}
}

func TestSecretWithDataRejected(t *testing.T) {
	s := newTestStack(t)
	e := addEcho(t, s, "echo")
	e.c.Add(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "leak"}, StringData: map[string]string{"password": "hunter2"}})
	_, err := s.Synth()
	if err == nil || !strings.Contains(err.Error(), "echo: Secret/demo/leak: data: a Secret with data would put a credential into dist/") {
		t.Fatalf("got %v", err)
	}
}

func TestExternalsSatisfyReferences(t *testing.T) {
	s := newTestStack(t)
	e := addEcho(t, s, "echo")
	e.sts.Spec.VolumeClaimTemplates[0].Spec.StorageClassName = strPtr("gp3")
	e.sts.Spec.Template.Spec.ServiceAccountName = "echo-sa"
	_, err := s.Synth()
	if err == nil {
		t.Fatal("dangling StorageClass and ServiceAccount accepted")
	}
	s.External("StorageClass", "gp3", "provided by the EBS CSI driver")
	s.External("ServiceAccount", "echo-sa", "created by the platform team")
	out, err := s.Synth()
	if err != nil {
		t.Fatal(err)
	}
	k := string(out.File("kustomization.yaml").Data)
	if !strings.Contains(k, "#   StorageClass.storage.k8s.io/gp3: provided by the EBS CSI driver") && !strings.Contains(k, "#   StorageClass/gp3: provided by the EBS CSI driver") {
		t.Errorf("kustomization does not list the external:\n%s", k)
	}
}

// TestExternalClusterScopedCustomKind: an external of a CRD-backed kind
// declared cluster-scoped (cert-manager's ClusterIssuer) has no namespace;
// an undeclared custom kind (Issuer) is namespaced.
func TestExternalClusterScopedCustomKind(t *testing.T) {
	s := newTestStack(t)
	addEcho(t, s, "echo")
	s.ClusterScoped(schema.GroupKind{Group: "cert-manager.io", Kind: "ClusterIssuer"})
	s.External("ClusterIssuer", "letsencrypt", "cert-manager issuer")
	s.External("Issuer", "local", "cert-manager issuer")
	out, err := s.Synth()
	if err != nil {
		t.Fatal(err)
	}
	k := string(out.File("kustomization.yaml").Data)
	ns := s.Namespace()
	if !strings.Contains(k, "#   ClusterIssuer/letsencrypt: ") || !strings.Contains(k, "#   Issuer/"+ns+"/local: ") {
		t.Errorf("kustomization externals:\n%s", k)
	}
}

func strPtr(s string) *string { return &s }

func TestCustomResources(t *testing.T) {
	s := newTestStack(t)
	c, _ := s.AddComponent("ops", Meta{})
	crd := func(kind, scope string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
			"metadata": map[string]any{"name": strings.ToLower(kind) + "s.example.org"},
			"spec": map[string]any{"group": "example.org", "scope": scope,
				"names": map[string]any{"kind": kind, "plural": strings.ToLower(kind) + "s"}},
		}}
		return u
	}
	cr := func(kind string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "example.org/v1", "kind": kind, "spec": map[string]any{"size": int64(3)}}}
		u.SetName("one")
		return u
	}
	c.Add(cr("Fleet"), cr("Broker"), crd("Fleet", "Cluster"), crd("Broker", "Namespaced"))
	out, err := s.Synth()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range out.Objects[1:] {
		got = append(got, o.Ref.String())
	}
	want := []string{
		"CustomResourceDefinition/brokers.example.org", "CustomResourceDefinition/fleets.example.org",
		"Broker/demo/one", "Fleet/one",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("CRDs first, then custom resources with their scope (-want +got):\n%s", d)
	}
}

// policyOf returns the rendered NetworkPolicy named name.
func policyOf(t *testing.T, out *Output, name string) *networkingv1.NetworkPolicy {
	t.Helper()
	for _, o := range out.Objects {
		if x, ok := o.Object.(*networkingv1.NetworkPolicy); ok && x.Name == name {
			return x
		}
	}
	t.Fatalf("no NetworkPolicy %q", name)
	return nil
}

// TestNetworkPolicies: each role of a component gets a policy selecting
// exactly its pods, admitting its declared consumers and peers on their
// ports, anyone on externally exposed ports and the monitoring namespace
// on the scrape port; egress stays open.
func TestNetworkPolicies(t *testing.T) {
	s := newTestStack(t)
	db := addEcho(t, s, "db")
	db.sts.Spec.Template.Annotations = map[string]string{"prometheus.io/port": "9100"}
	db.c.Peers("", "echo")
	app := addEcho(t, s, "app")
	app.c.Uses(db.c.Pods("").Port("echo"))
	lb := app.client.DeepCopy()
	lb.Name, lb.Spec.Type = "app-lb", corev1.ServiceTypeLoadBalancer
	app.c.Add(lb)
	out, err := s.Synth()
	if err != nil {
		t.Fatal(err)
	}
	tcp := ptr.To(corev1.ProtocolTCP)
	port := func(p int32) []networkingv1.NetworkPolicyPort {
		return []networkingv1.NetworkPolicyPort{{Protocol: tcp, Port: ptr.To(intstr.FromInt32(p))}}
	}
	pods := func(name string) networkingv1.NetworkPolicyPeer {
		return networkingv1.NetworkPolicyPeer{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{
			LabelName: name, LabelInstance: "demo", LabelComponent: "server"}}}
	}
	want := networkingv1.NetworkPolicySpec{
		PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{LabelName: "db", LabelInstance: "demo", LabelComponent: "server"}},
		Ingress: []networkingv1.NetworkPolicyIngressRule{
			{From: []networkingv1.NetworkPolicyPeer{pods("app"), pods("db")}, Ports: port(7000)},
			{From: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": "monitoring"}}}}, Ports: port(9100)},
		},
		Egress:      []networkingv1.NetworkPolicyEgressRule{{}},
		PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
	}
	if d := cmp.Diff(want, policyOf(t, out, "db").Spec); d != "" {
		t.Errorf("db's policy (-want +got):\n%s", d)
	}
	want = networkingv1.NetworkPolicySpec{
		PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{LabelName: "app", LabelInstance: "demo", LabelComponent: "server"}},
		Ingress:     []networkingv1.NetworkPolicyIngressRule{{Ports: port(7000)}}, // the LoadBalancer's port, from anywhere
		Egress:      []networkingv1.NetworkPolicyEgressRule{{}},
		PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
	}
	if d := cmp.Diff(want, policyOf(t, out, "app").Spec); d != "" {
		t.Errorf("app's policy (-want +got):\n%s", d)
	}

	s2, _ := New(Options{Name: "demo", Topology: testTopology(), NoNetworkPolicies: true})
	addEcho(t, s2, "echo")
	out2, _ := s2.Synth()
	for _, o := range out2.Objects {
		if o.Ref.Kind == "NetworkPolicy" {
			t.Fatal("NoNetworkPolicies still renders one")
		}
	}
}

// TestNetworkPolicyRoles: a component with two roles gets one policy per
// role, and a Job (a consumer that serves nothing) admits no ingress.
func TestNetworkPolicyRoles(t *testing.T) {
	s := newTestStack(t)
	db := addEcho(t, s, "db")
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "db-schema"}, Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: db.c.SelectorFor("schema")},
		Spec:       *db.sts.Spec.Template.Spec.DeepCopy(),
	}}}
	job.Spec.Template.Spec.Containers[0].Ports = nil
	job.Spec.Template.Spec.Containers[0].VolumeMounts = nil
	job.Spec.Template.Spec.Containers[0].ReadinessProbe, job.Spec.Template.Spec.Containers[0].LivenessProbe = nil, nil
	job.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
	db.c.Add(job)
	db.c.Pods("schema").Uses(db.c.Pods("").Port("echo"))
	out, err := s.Synth()
	if err != nil {
		t.Fatal(err)
	}
	np := policyOf(t, out, "db-schema")
	if np.Spec.PodSelector.MatchLabels[LabelComponent] != "schema" || len(np.Spec.Ingress) != 0 || len(np.Spec.PolicyTypes) != 2 {
		t.Errorf("the Job's policy must select role schema and admit nothing: %+v", np.Spec)
	}
	main := policyOf(t, out, "db")
	if len(main.Spec.Ingress) != 1 || main.Spec.Ingress[0].From[0].PodSelector.MatchLabels[LabelComponent] != "schema" {
		t.Errorf("the server admits the schema Job only: %+v", main.Spec.Ingress)
	}
}

// TestNetworkPolicyPortRange: a range renders as port and endPort, a
// one-port range as the port alone, and AllowFrom is Uses seen from the
// provider.
func TestNetworkPolicyPortRange(t *testing.T) {
	s := newTestStack(t)
	db := addEcho(t, s, "db")
	app := addEcho(t, s, "app")
	db.c.Pods("").PortRange(9100, 9109).AllowFrom(app.c.Pods(""))
	db.c.Pods("").PortRange(4369, 4369).AllowFrom(app.c.Pods(""))
	out, err := s.Synth()
	if err != nil {
		t.Fatal(err)
	}
	in := policyOf(t, out, "db").Spec.Ingress
	want := []networkingv1.NetworkPolicyPort{
		{Protocol: ptr.To(corev1.ProtocolTCP), Port: ptr.To(intstr.FromInt32(4369))},
		{Protocol: ptr.To(corev1.ProtocolTCP), Port: ptr.To(intstr.FromInt32(9100)), EndPort: ptr.To(int32(9109))},
	}
	if len(in) != 1 || in[0].From[0].PodSelector.MatchLabels[LabelName] != "app" {
		t.Fatalf("ingress %+v", in)
	}
	if d := cmp.Diff(want, in[0].Ports); d != "" {
		t.Errorf("ports (-want +got):\n%s", d)
	}
}

// TestNetworkPolicyAcrossStacks: a consumer in another stack and
// namespace is admitted through its namespace; the monitoring namespace
// is an option.
func TestNetworkPolicyAcrossStacks(t *testing.T) {
	s, err := New(Options{Name: "demo", Topology: testTopology(), MonitoringNamespaceLabels: map[string]string{"team": "observability"}})
	if err != nil {
		t.Fatal(err)
	}
	db := addEcho(t, s, "db")
	db.sts.Spec.Template.Annotations = map[string]string{"prometheus.io/port": "9100"}
	other, err := New(Options{Name: "load", Namespace: "load", Topology: testTopology()})
	if err != nil {
		t.Fatal(err)
	}
	client := addEcho(t, other, "client")
	client.c.Uses(db.c.Pods("").Port("echo"))
	out, err := s.Synth()
	if err != nil {
		t.Fatal(err)
	}
	in := policyOf(t, out, "db").Spec.Ingress
	if len(in) != 2 {
		t.Fatalf("ingress %+v", in)
	}
	peer := in[0].From[0]
	if peer.NamespaceSelector == nil || peer.NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"] != "load" ||
		peer.PodSelector.MatchLabels[LabelInstance] != "load" || peer.PodSelector.MatchLabels[LabelName] != "client" {
		t.Errorf("peer in another namespace: %+v", peer)
	}
	if d := cmp.Diff(map[string]string{"team": "observability"}, in[1].From[0].NamespaceSelector.MatchLabels); d != "" {
		t.Errorf("monitoring selector (-want +got):\n%s", d)
	}
	if _, err := New(Options{Name: "demo", Topology: testTopology(), MonitoringNamespace: "Not_A_Label"}); err == nil ||
		!strings.Contains(err.Error(), "monitoringNamespace") {
		t.Errorf("a bad monitoring namespace must be refused, got %v", err)
	}
	if _, err := New(Options{Name: "demo", Topology: testTopology(), MonitoringNamespaceLabels: map[string]string{"team": "not a value"}}); err == nil ||
		!strings.Contains(err.Error(), `monitoringNamespaceLabels[team]: "not a value" is not a label value`) {
		t.Errorf("a bad monitoring label must be refused, got %v", err)
	}
}

// TestNetworkPolicyWiringErrors: an endpoint naming a port or role the
// provider's pods do not have, or a zero Endpoint, fails synthesis with a
// message naming both ends.
func TestNetworkPolicyWiringErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		wire func(app, db *Component)
		want string
	}{
		{"unknown port", func(app, db *Component) { app.Uses(db.Pods("").Port("nope")) },
			`component app uses db/server:nope (TCP), but the pods of role "server" declare no such container port (ports: echo, metrics)`},
		{"wrong protocol", func(app, db *Component) { app.Uses(db.Pods("").PortUDP("echo")) },
			`component app uses db/server:echo (UDP), but the pods of role "server" declare no such container port`},
		{"unknown role", func(app, db *Component) { app.Uses(db.Pods("replica").Port("echo")) },
			`component app uses db/replica:echo, but component db has no pod template of role "replica"`},
		{"consumer role without pods", func(app, db *Component) { app.Pods("nope").Uses(db.Pods("").Port("echo")) },
			`component app (role nope) uses db/server:echo but has no pod template to admit`},
		{"port range upside down", func(app, db *Component) { app.Uses(db.Pods("").PortRange(9109, 9100)) },
			`component app uses db/server:9109-9100: a port range must be 1 to 65535 with from <= to`},
		{"zero endpoint", func(app, db *Component) { app.Uses(Endpoint{}) },
			`uses a zero Endpoint, which names no component`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestStack(t)
			db := addEcho(t, s, "db")
			app := addEcho(t, s, "app")
			tc.wire(app.c, db.c)
			_, err := s.Synth()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want an error containing %q, got %v", tc.want, err)
			}
		})
	}
}

// TestNetworkPolicySelectsOwnPodsOnly: a policy selecting another
// component's pods is refused, whether two components share selector
// labels (two copies of a component with the same name label) or a
// component adds a policy of its own that selects every pod.
func TestNetworkPolicySelectsOwnPodsOnly(t *testing.T) {
	s := newTestStack(t)
	addEcho(t, s, "a")
	b := addEcho(t, s, "b")
	b.c.Add(&networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "b-open"},
		Spec: networkingv1.NetworkPolicySpec{Ingress: []networkingv1.NetworkPolicyIngressRule{{}}}})
	_, err := s.Synth()
	if err == nil || !strings.Contains(err.Error(), `b: NetworkPolicy/demo/b-open: spec.podSelector:  also selects the pods of component "a" (StatefulSet/a)`) {
		t.Fatalf("an all-selecting policy must be refused, got %v", err)
	}

	s = newTestStack(t)
	one := addEcho(t, s, "one")
	two := addEcho(t, s, "two")
	for _, e := range []*echo{one, two} { // both claim the labels of "one"
		e.sts.Spec.Template.Labels = one.c.SelectorLabels()
	}
	_, err = s.Synth()
	if err == nil || !strings.Contains(err.Error(), `also selects the pods of component "two" (StatefulSet/two)`) {
		t.Fatalf("a policy selecting another component's pods must be refused, got %v", err)
	}
}
