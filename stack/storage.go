package stack

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Storage sizes a persistent volume claim.
type Storage struct {
	// Size is the requested capacity ("20Gi").
	Size resource.Quantity
	// Class is the StorageClass name; empty means the cluster's default
	// class. A named class must be in the stack or declared with
	// Stack.External.
	Class string
}

// Validate checks the size and the class name; field names the Config
// field in the error.
func (st Storage) Validate(field string) error {
	if st.Size.Sign() <= 0 {
		return fmt.Errorf("%s.size: %s; must be a positive quantity such as \"8Gi\"", field, st.Size.String())
	}
	if st.Class != "" {
		if errs := validation.IsDNS1123Subdomain(st.Class); len(errs) > 0 {
			return fmt.Errorf("%s.class: %q is not a valid StorageClass name (%s)", field, st.Class, joinOr(errs, ""))
		}
	}
	return nil
}

// ClaimTemplate returns a ReadWriteOnce volumeClaimTemplate named name.
func ClaimTemplate(name string, st Storage) corev1.PersistentVolumeClaim {
	pvc := corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: st.Size}},
		},
	}
	if st.Class != "" {
		class := st.Class
		pvc.Spec.StorageClassName = &class
	}
	return pvc
}
