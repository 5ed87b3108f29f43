package drill

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/iotstack/iotstack/stack"
)

// Rendered is what the drill reads from a synthesized stack: the objects
// by kind and name, and the values of the Secrets the apply engine would
// generate.
type Rendered struct {
	// Out is the synthesized stack.
	Out *stack.Output
	// Secrets are the generated Secrets' data by name and key.
	Secrets map[string]map[string]string

	// zones are the pods' zones as the simulated cluster placed them
	// (namespace/name), cluster the cluster they run on; both nil until
	// DeployCluster.
	zones     map[string]string
	podLabels map[string]map[string]string
	cluster   *Cluster
}

// ref names a rendered object as the messages say it: Kind/namespace/name
// and the dist file holding it.
func (r *Rendered) ref(kind, name string) string {
	for _, o := range r.Out.Objects {
		if o.GVK.Kind == kind && o.Ref.Name == name {
			return fmt.Sprintf("%s/%s/%s (dist/%s/%s)", kind, o.Ref.Namespace, name, r.Out.Stack, o.File)
		}
	}
	return kind + "/" + name
}

// StatefulSet finds a rendered StatefulSet by name.
func (r *Rendered) StatefulSet(name string) (*appsv1.StatefulSet, error) {
	for _, o := range r.Out.Objects {
		if s, ok := o.Object.(*appsv1.StatefulSet); ok && s.Name == name {
			return s, nil
		}
	}
	return nil, fmt.Errorf("stack %s renders no StatefulSet %s", r.Out.Stack, name)
}

// ConfigMap finds a rendered ConfigMap by name.
func (r *Rendered) ConfigMap(name string) (*corev1.ConfigMap, error) {
	for _, o := range r.Out.Objects {
		if c, ok := o.Object.(*corev1.ConfigMap); ok && c.Name == name {
			return c, nil
		}
	}
	return nil, fmt.Errorf("stack %s renders no ConfigMap %s", r.Out.Stack, name)
}

// Service finds a rendered Service by name.
func (r *Rendered) Service(name string) (*corev1.Service, error) {
	for _, o := range r.Out.Objects {
		if s, ok := o.Object.(*corev1.Service); ok && s.Name == name {
			return s, nil
		}
	}
	return nil, fmt.Errorf("stack %s renders no Service %s", r.Out.Stack, name)
}

// PodFQDN is a StatefulSet pod's DNS name through its headless Service.
func PodFQDN(sts *appsv1.StatefulSet, ordinal int) string {
	return fmt.Sprintf("%s-%d.%s.%s.svc.cluster.local", sts.Name, ordinal, sts.Spec.ServiceName, sts.Namespace)
}

// ServiceNames are the names a Service is reached by from inside the
// cluster: name, name.ns, name.ns.svc, name.ns.svc.cluster.local.
func ServiceNames(name, namespace string) []string {
	return []string{name, name + "." + namespace, name + "." + namespace + ".svc", name + "." + namespace + ".svc.cluster.local"}
}

// Container is one container of a StatefulSet pod made ready to run: its
// command, environment, user and volumes as the pod spec says.
type Container struct {
	// Pod is where it runs.
	Pod *Pod
	// Spec is the rendered container.
	Spec corev1.Container
	// Start is how the harness runs it.
	Start StartOptions
	// Volumes are the host directories of the pod's volumes by name.
	Volumes map[string]string
}

// PrepareContainer materializes the pod's volumes (ConfigMap files with
// their modes, emptyDirs, one directory per volume claim template, kept
// across restarts of the same pod) under the pod's directory and resolves
// the container's environment (values, the pod's name, namespace and
// address, the generated Secrets). It never changes what the pod spec
// says; what the harness cannot reproduce is an error.
func (r *Rendered) PrepareContainer(p *Pod, sts *appsv1.StatefulSet, container string) (*Container, error) {
	return r.prepare(p, "StatefulSet", sts.Name, sts.Spec.Template.Spec, sts.Spec.VolumeClaimTemplates, container)
}

// prepare is PrepareContainer for any pod template (a Job's too).
func (r *Rendered) prepare(p *Pod, kind, owner string, spec corev1.PodSpec, claims []corev1.PersistentVolumeClaim, container string) (*Container, error) {
	var c *corev1.Container
	for i := range spec.Containers {
		if spec.Containers[i].Name == container {
			c = &spec.Containers[i]
		}
	}
	if c == nil {
		return nil, fmt.Errorf("%s has no container %s", r.ref(kind, owner), container)
	}
	uid, gid := 0, 0
	var fsGroup *int64
	if sc := spec.SecurityContext; sc != nil {
		if sc.RunAsUser != nil {
			uid = int(*sc.RunAsUser)
		}
		if sc.RunAsGroup != nil {
			gid = int(*sc.RunAsGroup)
		}
		fsGroup = sc.FSGroup
	}
	if sc := c.SecurityContext; sc != nil {
		if sc.RunAsUser != nil {
			uid = int(*sc.RunAsUser)
		}
		if sc.RunAsGroup != nil {
			gid = int(*sc.RunAsGroup)
		}
	}
	chownTree := func(path string) error {
		if fsGroup == nil && uid == 0 {
			return nil
		}
		g := gid
		if fsGroup != nil {
			g = int(*fsGroup)
		}
		return filepath.Walk(path, func(p string, _ os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(p, uid, g)
		})
	}
	vols := map[string]string{}
	for _, v := range spec.Volumes {
		dir := filepath.Join(p.Dir, "volumes", v.Name)
		switch {
		case v.ConfigMap != nil:
			cm, err := r.ConfigMap(v.ConfigMap.Name)
			if err != nil {
				return nil, fmt.Errorf("%s volume %s: %w", r.ref(kind, owner), v.Name, err)
			}
			mode := os.FileMode(0o644)
			if v.ConfigMap.DefaultMode != nil {
				mode = os.FileMode(*v.ConfigMap.DefaultMode)
			}
			if err := os.RemoveAll(dir); err != nil {
				return nil, err
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, err
			}
			keys := make([]string, 0, len(cm.Data))
			for k := range cm.Data {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				if err := os.WriteFile(filepath.Join(dir, k), []byte(cm.Data[k]), mode); err != nil {
					return nil, err
				}
				if err := os.Chmod(filepath.Join(dir, k), mode); err != nil {
					return nil, err
				}
			}
		case v.Secret != nil:
			data, ok := r.Secrets[v.Secret.SecretName]
			if !ok {
				return nil, fmt.Errorf("%s volume %s: Secret %s is not one the apply engine generates", r.ref(kind, owner), v.Name, v.Secret.SecretName)
			}
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, err
			}
			for k, val := range data {
				if err := os.WriteFile(filepath.Join(dir, k), []byte(val), 0o400); err != nil {
					return nil, err
				}
			}
			if err := chownTree(dir); err != nil {
				return nil, err
			}
		case v.EmptyDir != nil:
			if err := os.MkdirAll(dir, 0o777); err != nil {
				return nil, err
			}
			if err := os.Chmod(dir, 0o777); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("%s volume %s: a volume source the drill does not reproduce", r.ref(kind, owner), v.Name)
		}
		vols[v.Name] = dir
	}
	for _, t := range claims {
		dir := filepath.Join(p.Dir, "claims", t.Name) // survives restarts, as a PVC does
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		if err := chownTree(dir); err != nil {
			return nil, err
		}
		vols[t.Name] = dir
	}
	var mounts []Mount
	for _, m := range c.VolumeMounts {
		src, ok := vols[m.Name]
		if !ok {
			return nil, fmt.Errorf("%s container %s mounts unknown volume %s", r.ref(kind, owner), c.Name, m.Name)
		}
		if m.SubPath != "" {
			src = filepath.Join(src, m.SubPath)
		}
		mounts = append(mounts, Mount{Source: src, Target: m.MountPath})
	}
	env := []string{}
	for _, e := range c.Env {
		val := e.Value
		if f := e.ValueFrom; f != nil {
			switch {
			case f.FieldRef != nil:
				switch f.FieldRef.FieldPath {
				case "metadata.name":
					val = p.Name
				case "metadata.namespace":
					val = p.Namespace
				case "status.podIP":
					val = p.Addr.String()
				default:
					return nil, fmt.Errorf("%s env %s: field %s not reproduced by the drill", r.ref(kind, owner), e.Name, f.FieldRef.FieldPath)
				}
			case f.SecretKeyRef != nil:
				v, ok := r.Secrets[f.SecretKeyRef.Name][f.SecretKeyRef.Key]
				if !ok {
					return nil, fmt.Errorf("%s env %s: Secret %s key %s is not generated", r.ref(kind, owner), e.Name, f.SecretKeyRef.Name, f.SecretKeyRef.Key)
				}
				val = v
			case f.ConfigMapKeyRef != nil:
				cm, err := r.ConfigMap(f.ConfigMapKeyRef.Name)
				if err != nil {
					return nil, err
				}
				val = cm.Data[f.ConfigMapKeyRef.Key]
			default:
				return nil, fmt.Errorf("%s env %s: a source the drill does not reproduce", r.ref(kind, owner), e.Name)
			}
		}
		env = append(env, e.Name+"="+expand(val, env))
	}
	argv := append(append([]string{}, c.Command...), c.Args...)
	for i := range argv {
		argv[i] = expand(argv[i], env)
	}
	return &Container{
		Pod: p, Spec: *c, Volumes: vols,
		Start: StartOptions{Name: c.Name, Argv: argv, Env: env, UID: uid, GID: gid, Mounts: mounts, Dir: c.WorkingDir},
	}, nil
}

// expand replaces $(VAR) with an earlier variable's value in one pass,
// as the kubelet does: $$ is a literal $, an unknown $(VAR) stays as is,
// and substituted text is not expanded again.
func expand(s string, env []string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	vals := map[string]string{}
	for _, e := range env {
		k, v, _ := strings.Cut(e, "=")
		vals[k] = v
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch {
		case s[i+1] == '$':
			b.WriteByte('$')
			i++
		case s[i+1] == '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			name := s[i+2 : i+2+end]
			if v, ok := vals[name]; ok {
				b.WriteString(v)
			} else {
				b.WriteString(s[i : i+3+end])
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}
