package stack

import (
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// KeyKind says how the apply engine generates a Secret key's value.
type KeyKind string

const (
	// RandomPassword is Length random characters from [A-Za-z0-9]
	// (default length 32), drawn from crypto/rand.
	RandomPassword KeyKind = "password"
	// ClusterID is a Kafka KRaft cluster ID: 16 random bytes, base64url
	// without padding (22 characters), the format of kafka-storage.sh
	// random-uuid.
	ClusterID KeyKind = "cluster-id"
	// UserProvided is a value only the user knows (a Slack webhook URL, an
	// SMTP password): the apply engine never invents it and refuses to
	// apply while the Secret is missing, naming the Secret and the key.
	UserProvided KeyKind = "user-provided"
)

// SecretKey declares one key of a generated Secret.
type SecretKey struct {
	// Key is the data key (e.g. "password").
	Key string
	// Kind says how the value is generated.
	Kind KeyKind
	// Length is the password length for RandomPassword; 0 means 32.
	Length int
}

// SecretSpec declares a Secret that the stack references but never renders.
// The apply engine creates it with generated values when it is absent and
// never rewrites an existing one, so re-synthesis and re-apply never rotate
// a credential.
type SecretSpec struct {
	// Name is the Secret's name in the stack namespace.
	Name string
	// Keys are the generated keys.
	Keys []SecretKey
	// Owner is the name of the declaring component.
	Owner string
}

// SecretKeyRef points at one key of a Secret.
type SecretKeyRef struct {
	Name string
	Key  string
}

// DeclareSecret declares a generated Secret owned by c and returns its spec.
// Consumers reference its keys with Ref; the Secret itself is never
// rendered into dist/.
func (c *Component) DeclareSecret(name string, keys ...SecretKey) *SecretSpec {
	spec := &SecretSpec{Name: name, Keys: keys, Owner: c.name}
	c.secrets = append(c.secrets, spec)
	return spec
}

// Ref returns a reference to key of the Secret. The key must be declared;
// synthesis reports an undeclared key as a dangling reference.
func (s *SecretSpec) Ref(key string) SecretKeyRef { return SecretKeyRef{Name: s.Name, Key: key} }

// Selector returns the Kubernetes form of the reference.
func (r SecretKeyRef) Selector() *corev1.SecretKeySelector {
	return &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: r.Name}, Key: r.Key}
}

// EnvVar returns an environment variable named env taken from the Secret key.
func (r SecretKeyRef) EnvVar(env string) corev1.EnvVar {
	return corev1.EnvVar{Name: env, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: r.Selector()}}
}

// Secrets returns every declared Secret of the stack, sorted by name: the
// list the apply engine creates when absent.
func (s *Stack) Secrets() []SecretSpec {
	var out []SecretSpec
	for _, c := range s.components {
		for _, spec := range c.secrets {
			if _, replaced := s.existingSecrets[spec.Name]; !replaced {
				out = append(out, *spec)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (k SecretKey) describe() string {
	switch k.Kind {
	case RandomPassword:
		n := k.Length
		if n == 0 {
			n = 32
		}
		return fmt.Sprintf("%s (random password, %d characters)", k.Key, n)
	case ClusterID:
		return k.Key + " (Kafka cluster ID, 22 characters base64url)"
	}
	return k.Key + " (" + string(k.Kind) + ")"
}

// UseExistingSecret replaces the declared Secret declared with a Secret
// the user provides, existing, in the stack's namespace (with the same
// keys): every reference in the stack's pod templates (env, envFrom,
// volumes, projected volumes) is renamed at synthesis and the declared
// Secret is no longer generated. It is an error when no component
// declares declared, or existing is not a valid name.
func (s *Stack) UseExistingSecret(declared, existing string) error {
	found := false
	for _, spec := range s.Secrets() {
		if spec.Name == declared {
			found = true
		}
	}
	if !found {
		var names []string
		for _, spec := range s.Secrets() {
			names = append(names, spec.Name)
		}
		return fmt.Errorf("secret %q is not declared by the stack; declared: %s", declared, joinOr(names, "none"))
	}
	if errs := validation.IsDNS1123Subdomain(existing); len(errs) > 0 {
		return fmt.Errorf("secret %q: existing name %q is not a valid Secret name (%s)", declared, existing, joinOr(errs, ""))
	}
	if s.existingSecrets == nil {
		s.existingSecrets = map[string]string{}
	}
	s.existingSecrets[declared] = existing
	s.External("Secret", existing, "provided by the user in place of the generated "+declared)
	return nil
}

// renameSecrets points the pod templates' Secret references at the
// user's Secrets (UseExistingSecret).
func renameSecrets(spec *corev1.PodSpec, names map[string]string) {
	rename := func(n *string) {
		if to, ok := names[*n]; ok {
			*n = to
		}
	}
	for _, list := range [][]corev1.Container{spec.InitContainers, spec.Containers} {
		for i := range list {
			for j := range list[i].Env {
				if vf := list[i].Env[j].ValueFrom; vf != nil && vf.SecretKeyRef != nil {
					rename(&vf.SecretKeyRef.Name)
				}
			}
			for j := range list[i].EnvFrom {
				if sr := list[i].EnvFrom[j].SecretRef; sr != nil {
					rename(&sr.Name)
				}
			}
		}
	}
	for i := range spec.Volumes {
		if sv := spec.Volumes[i].Secret; sv != nil {
			rename(&sv.SecretName)
		}
		if pv := spec.Volumes[i].Projected; pv != nil {
			for j := range pv.Sources {
				if ss := pv.Sources[j].Secret; ss != nil {
					rename(&ss.Name)
				}
			}
		}
	}
}
