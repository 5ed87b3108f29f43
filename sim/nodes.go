package sim

import (
	"fmt"
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/iotstack/iotstack/stack"
)

// NodeEphemeralStorage is the ephemeral storage every fake node offers
// (a typical 100 GiB root volume); the topology does not declare it.
var NodeEphemeralStorage = resource.MustParse("100Gi")

// NodePods is the pod capacity of every fake node (the kubelet default).
const NodePods = 110

// Nodes returns the fake nodes of a topology: one per pool, zone and
// index, named <pool>-<zone>-<i>, with the pool's labels and taints, the
// zone and hostname labels, and the pool's CPU and memory as capacity and
// allocatable. kwok manages nodes carrying its annotation.
func Nodes(topo stack.Topology) []*corev1.Node {
	var nodes []*corev1.Node
	for _, h := range topo.Hosts() {
		p, name, z := h.Pool, h.Name, h.Zone
		labels := map[string]string{
			stack.ZoneLabel:                 z,
			stack.HostnameLabel:             name,
			"topology.kubernetes.io/region": "sim",
			"kubernetes.io/os":              "linux",
			"type":                          "kwok",
		}
		if p.Arch != "" {
			labels["kubernetes.io/arch"] = p.Arch
		}
		if p.InstanceType != "" {
			labels["node.kubernetes.io/instance-type"] = p.InstanceType
		}
		for k, v := range p.Labels {
			labels[k] = v
		}
		capacity := corev1.ResourceList{
			corev1.ResourceCPU:              p.CPU.DeepCopy(),
			corev1.ResourceMemory:           p.Memory.DeepCopy(),
			corev1.ResourcePods:             *resource.NewQuantity(NodePods, resource.DecimalSI),
			corev1.ResourceEphemeralStorage: NodeEphemeralStorage.DeepCopy(),
		}
		nodes = append(nodes, &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{
				Name:        name,
				Labels:      labels,
				Annotations: map[string]string{"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
			},
			Spec: corev1.NodeSpec{Taints: append([]corev1.Taint(nil), p.Taints...)},
			Status: corev1.NodeStatus{
				Capacity:    capacity,
				Allocatable: capacity.DeepCopy(),
				NodeInfo:    corev1.NodeSystemInfo{Architecture: labels["kubernetes.io/arch"], OperatingSystem: "linux", KubeletVersion: "fake"},
			},
		})
	}
	return nodes
}

// Volumes returns PersistentVolumes enough for every claim the output's
// StatefulSets will make, so that claims bind without a provisioner: for
// each claim template, one volume per replica in every zone (a claim's
// pod may land in any zone its rules allow), each tied to its zone the
// way a cloud block volume is. Claims the output renders itself bind to
// the volumes it renders.
func Volumes(topo stack.Topology, out *stack.Output) []*corev1.PersistentVolume {
	var pvs []*corev1.PersistentVolume
	zones := topo.Zones
	if len(zones) == 0 {
		zones = []string{""}
	}
	for _, o := range out.Objects {
		sts, ok := o.Object.(*appsv1.StatefulSet)
		if !ok {
			continue
		}
		replicas := 1
		if sts.Spec.Replicas != nil {
			replicas = int(*sts.Spec.Replicas)
		}
		for _, vct := range sts.Spec.VolumeClaimTemplates {
			size := vct.Spec.Resources.Requests[corev1.ResourceStorage]
			class := ""
			if vct.Spec.StorageClassName != nil {
				class = *vct.Spec.StorageClassName
			}
			modes := vct.Spec.AccessModes
			if len(modes) == 0 {
				modes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}
			}
			for _, z := range zones {
				for i := 0; i < replicas; i++ {
					name := fmt.Sprintf("sim-%s-%s-%s-%d", vct.Name, sts.Name, z, i)
					pv := &corev1.PersistentVolume{
						ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"iotstack.io/sim": "true"}},
						Spec: corev1.PersistentVolumeSpec{
							Capacity:                      corev1.ResourceList{corev1.ResourceStorage: size.DeepCopy()},
							AccessModes:                   modes,
							StorageClassName:              class,
							PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimDelete,
							PersistentVolumeSource:        corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/sim/" + name}},
						},
					}
					if z != "" {
						pv.Spec.NodeAffinity = &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
							MatchExpressions: []corev1.NodeSelectorRequirement{{Key: stack.ZoneLabel, Operator: corev1.NodeSelectorOpIn, Values: []string{z}}},
						}}}}
					}
					pvs = append(pvs, pv)
				}
			}
		}
	}
	sort.SliceStable(pvs, func(i, j int) bool { return pvs[i].Name < pvs[j].Name })
	return pvs
}
