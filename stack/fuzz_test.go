package stack

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/serializer"
)

// FuzzConfigMapValue renders arbitrary strings as ConfigMap data and reads
// them back with the strict codec: whatever a component puts in a
// configuration file must reach the cluster byte for byte.
func FuzzConfigMapValue(f *testing.F) {
	for _, v := range trickyStrings {
		f.Add(v)
	}
	dec := serializer.NewCodecFactory(Scheme, serializer.EnableStrict).UniversalDeserializer()
	f.Fuzz(func(t *testing.T, value string) {
		s, err := New(Options{Name: "fuzz", Topology: testTopology()})
		if err != nil {
			t.Fatal(err)
		}
		c, _ := s.AddComponent("cfg", Meta{})
		cm := &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: "cfg", Annotations: map[string]string{"example.org/note": value}},
			Data:       map[string]string{"value": value},
		}
		c.Add(cm)
		out, err := s.Synth()
		if !utf8.ValidString(value) {
			if err == nil || !strings.Contains(err.Error(), "data[value]: the value is not valid UTF-8") {
				t.Fatalf("invalid UTF-8 %q: got %v; want a validation error", value, err)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		data := out.File("01-cfg.yaml").Data
		doc := data[bytes.Index(data, []byte("\n---\n"))+5:]
		got, _, err := dec.Decode(doc, nil, nil)
		if err != nil {
			t.Fatalf("value %q: decoding: %v\n%s", value, err, doc)
		}
		gotCM, want := got.(*corev1.ConfigMap), out.Objects[1].Object.(*corev1.ConfigMap)
		if !apiequality.Semantic.DeepEqual(gotCM.Data, want.Data) || gotCM.Annotations["example.org/note"] != value {
			t.Fatalf("value %q did not round-trip:\n%s", value, doc)
		}
	})
}

// FuzzNew feeds arbitrary names and settings to New: it must return a
// stack or an error, never panic.
func FuzzNew(f *testing.F) {
	f.Add("demo", "demo", "iot", "restricted", "zone-a", "main", "4", "32Gi", 1)
	f.Add("", "", "", "", "", "", "", "", 0)
	f.Add("a", "b_c", "x y", "strict", "eu west", "Main", "-1", "1Zi", -3)
	f.Fuzz(func(t *testing.T, name, ns, partOf, psa, zone, pool, cpu, mem string, nodes int) {
		topo := Topology{Zones: []string{zone}, Pools: []NodePool{{Name: pool, NodesPerZone: nodes}}}
		if q, err := parseQuantity(cpu); err == nil {
			topo.Pools[0].CPU = q
		}
		if q, err := parseQuantity(mem); err == nil {
			topo.Pools[0].Memory = q
		}
		s, err := New(Options{Name: name, Namespace: ns, PartOf: partOf, PodSecurity: psa, Topology: topo})
		if err == nil {
			if _, err := s.Synth(); err != nil {
				t.Fatalf("a stack New accepted does not synthesize: %v", err)
			}
		}
	})
}
