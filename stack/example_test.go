package stack_test

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/iotstack/iotstack/stack"
)

// A stack with one component that owns a ConfigMap and declares a
// generated Secret: Synth numbers the files in apply order and lists the
// Secret in the kustomization instead of rendering it.
func ExampleStack_Synth() {
	s, err := stack.New(stack.Options{
		Name:      "lab",
		Namespace: "iot-lab",
		Topology: stack.Topology{
			Zones: []string{"zone-a"},
			Pools: []stack.NodePool{{Name: "main", CPU: resource.MustParse("4"), Memory: resource.MustParse("16Gi"), NodesPerZone: 1}},
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	c, _ := s.AddComponent("settings", stack.Meta{})
	c.Add(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "settings"}, Data: map[string]string{"mode": "on"}})
	c.DeclareSecret("api-token", stack.SecretKey{Key: "token", Kind: stack.RandomPassword})

	out, err := s.Synth()
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range out.Files {
		fmt.Println(f.Name)
	}
	for _, o := range out.Objects {
		fmt.Println(o.File, o.Ref)
	}
	// Output:
	// 00-namespace.yaml
	// 01-settings.yaml
	// kustomization.yaml
	// 00-namespace.yaml Namespace/iot-lab
	// 01-settings.yaml ConfigMap/iot-lab/settings
}

// Validation reports every problem at once, each naming the component,
// the object and the field.
func ExampleValidationError() {
	s, _ := stack.New(stack.Options{
		Name: "lab",
		Topology: stack.Topology{
			Zones: []string{"zone-a"},
			Pools: []stack.NodePool{{Name: "main", CPU: resource.MustParse("4"), Memory: resource.MustParse("16Gi"), NodesPerZone: 1}},
		},
	})
	c, _ := s.AddComponent("web", stack.Meta{})
	c.Add(&corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec:       corev1.ServiceSpec{Selector: c.SelectorLabels(), Ports: []corev1.ServicePort{{Name: "http", Port: 80}}},
	})
	_, err := s.Synth()
	fmt.Println(err)
	// Output:
	// stack lab: 1 problem:
	//   - web: Service/lab/web: spec.selector: app.kubernetes.io/component=web,app.kubernetes.io/instance=lab,app.kubernetes.io/name=web selects no pod template in the stack
}
