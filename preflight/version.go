package preflight

import (
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/util/version"

	"github.com/iotstack/iotstack/validate"
)

// Window is the range of Kubernetes minors (of major version 1) the
// stacks are validated for.
type Window struct {
	// Min and Max are the oldest and newest supported minors.
	Min, Max uint
}

// String is "1.32–1.34".
func (w Window) String() string { return fmt.Sprintf("1.%d–1.%d", w.Min, w.Max) }

// SupportedWindow is the window of validate.KubernetesVersions: the
// minors whose OpenAPI schemas every rendered document is checked against
// (go test ./validate/, iotstack validate).
func SupportedWindow() Window {
	var minors []uint
	for _, v := range validate.KubernetesVersions {
		if p, err := version.ParseGeneric(v); err == nil && p.Major() == 1 {
			minors = append(minors, p.Minor())
		}
	}
	return Window{Min: slices.Min(minors), Max: slices.Max(minors)}
}

// CheckVersion checks an API server's gitVersion ("v1.33.5-eks-3025e55")
// against the window.
func CheckVersion(gitVersion string, w Window) Check {
	c := Check{Name: "version", Subject: "Kubernetes " + gitVersion}
	v, err := version.ParseGeneric(gitVersion)
	switch {
	case err != nil:
		c.Status, c.Detail = Fail, fmt.Sprintf("the API server reports version %q, which is not MAJOR.MINOR.PATCH: %v", gitVersion, err)
		c.Fix = "check the cluster with kubectl version; the stacks are validated for " + w.String()
	case v.Major() != 1 || v.Minor() < w.Min:
		c.Status, c.Detail = Fail, fmt.Sprintf("older than the supported window %s", w)
		c.Fix = fmt.Sprintf("upgrade the control plane to 1.%d or later (EKS: eksctl upgrade cluster --name NAME --version 1.%d --approve; kubeadm: kubeadm upgrade apply)", w.Min, w.Min)
	case v.Minor() > w.Max:
		c.Status, c.Detail = Fail, fmt.Sprintf("newer than the supported window %s: the rendered objects are not validated against its API", w)
		c.Fix = fmt.Sprintf("use a 1.%d cluster (EKS: values cluster.kubernetesVersion=\"1.%d\" in the eksctl file), or add the minor to validate.KubernetesVersions and run iotstack validate", w.Max, w.Max)
	default:
		c.Status, c.Detail = Pass, fmt.Sprintf("inside the supported window %s", w)
	}
	return c
}
