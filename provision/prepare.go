package provision

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/iotstack/iotstack/stack"
)

// Prepare is what a node preparation script is made from.
type Prepare struct {
	// Profile names the profile in the script's header.
	Profile string
	// Topology gives the node groups (pools) the script prepares.
	Topology stack.Topology
	// Objects are every rendered object of the profile (the main stack
	// and its parts): the local PersistentVolumes give the directories,
	// the workloads that claim them the ownership.
	Objects []stack.Rendered
	// Sysctls are written to every node's /etc/sysctl.d/90-iotstack.conf
	// (none: no file).
	Sysctls map[string]string
	// LoadBalancerSysctls, when set, is the sysctl file of the load
	// balancer host (the guide's HAProxy host), installed by the
	// script's "haproxy" argument as LoadBalancerSysctlsFile.
	LoadBalancerSysctls string
	// LoadBalancerSysctlsFile is that file's name under /etc/sysctl.d.
	LoadBalancerSysctlsFile string
}

// Volume is a local volume's directory on the nodes of its pools.
type Volume struct {
	// Path is the PersistentVolume's spec.local.path.
	Path string
	// PV is the PersistentVolume's name.
	PV string
	// Pools are the pools whose nodes the PV's node affinity selects.
	Pools []string
	// Owner and Group own the directory: the runAsUser of the container
	// that mounts it (0 when none is set) and the pod's fsGroup (else
	// its runAsGroup, else 0).
	Owner, Group int64
	// Mode is the directory's mode: 2770 with an fsGroup (what the
	// kubelet's ownership management sets), 0700 for a non-root owner,
	// else 0755.
	Mode string
	// FSGroup says that the pod has an fsGroup: the kubelet then makes
	// the directory group-owned and group-writable itself at the first
	// mount (local volumes are ownership-managed: pkg/volume/local
	// local.go GetAttributes Managed and SetUpAt, Kubernetes v1.34.2).
	FSGroup bool
	// Claim names the claim (namespace/name) and Workload the object
	// whose pods mount it.
	Claim, Workload string
}

// LocalVolumes derives the local volumes' directories from the rendered
// objects: each PersistentVolume with spec.local, its node affinity
// matched against the topology's hosts (their placement labels, and
// kubernetes.io/os=linux and kubernetes.io/arch as the kubelet sets them),
// its claimRef followed to the StatefulSet or pod template that mounts
// the claim for the ownership. Sorted by path. The error names a PV
// whose path is unsafe for a shell script, or that no host matches.
func LocalVolumes(t stack.Topology, objects []stack.Rendered) ([]Volume, error) {
	var vols []Volume
	for _, r := range objects {
		pv, ok := r.Object.(*corev1.PersistentVolume)
		if !ok || pv.Spec.Local == nil {
			continue
		}
		p := pv.Spec.Local.Path
		if !path.IsAbs(p) || path.Clean(p) != p || strings.ContainsAny(p, "'\"\\$`\n\t *?[]") {
			return nil, fmt.Errorf("PersistentVolume %s: spec.local.path %q; the node script needs a clean absolute path without quotes, spaces, '$', '*', '?' or brackets", pv.Name, p)
		}
		v := Volume{Path: p, PV: pv.Name, Mode: "0755"}
		pools, err := pvPools(t, pv)
		if err != nil {
			return nil, err
		}
		v.Pools = pools
		if ref := pv.Spec.ClaimRef; ref != nil {
			v.Claim = ref.Namespace + "/" + ref.Name
			if w, spec, volName := claimant(objects, ref.Namespace, ref.Name); spec != nil {
				v.Workload = w
				v.Owner, v.Group, v.FSGroup = ownership(spec, volName)
			}
		}
		switch {
		case v.FSGroup:
			v.Mode = "2770"
		case v.Owner != 0:
			v.Mode = "0700"
		}
		vols = append(vols, v)
	}
	slices.SortFunc(vols, func(a, b Volume) int { return strings.Compare(a.Path, b.Path) })
	for i := 1; i < len(vols); i++ {
		if vols[i].Path == vols[i-1].Path {
			return nil, fmt.Errorf("PersistentVolumes %s and %s: both use %s", vols[i-1].PV, vols[i].PV, vols[i].Path)
		}
	}
	return vols, nil
}

// pvPools names the pools with a host the PV's required node affinity
// selects.
func pvPools(t stack.Topology, pv *corev1.PersistentVolume) ([]string, error) {
	var pools []string
	for _, h := range t.Hosts() {
		if slices.Contains(pools, h.Pool.Name) {
			continue
		}
		set := h.Labels()
		set[corev1.LabelOSStable] = "linux"
		if h.Pool.Arch != "" {
			set[corev1.LabelArchStable] = h.Pool.Arch
		}
		if selects(pv.Spec.NodeAffinity, set) {
			pools = append(pools, h.Pool.Name)
		}
	}
	if len(pools) == 0 {
		return nil, fmt.Errorf("PersistentVolume %s (%s): its node affinity selects no node of the topology (pools %s)", pv.Name, pv.Spec.Local.Path, strings.Join(t.PoolNames(), ", "))
	}
	return pools, nil
}

// selects reports whether a PV's required node affinity selects a node
// with these labels (the terms are ORed, their expressions ANDed).
func selects(a *corev1.VolumeNodeAffinity, set labels.Set) bool {
	if a == nil || a.Required == nil {
		return true
	}
	for _, term := range a.Required.NodeSelectorTerms {
		ok := len(term.MatchExpressions) > 0
		for _, e := range term.MatchExpressions {
			has := set.Has(e.Key)
			switch e.Operator {
			case corev1.NodeSelectorOpIn:
				ok = ok && has && slices.Contains(e.Values, set.Get(e.Key))
			case corev1.NodeSelectorOpNotIn:
				ok = ok && !(has && slices.Contains(e.Values, set.Get(e.Key)))
			case corev1.NodeSelectorOpExists:
				ok = ok && has
			case corev1.NodeSelectorOpDoesNotExist:
				ok = ok && !has
			default:
				ok = false
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// claimant finds the workload whose pods mount the claim: a StatefulSet
// whose volumeClaimTemplate <t> makes <t>-<name>-<ordinal>, or a pod
// template naming the claim. It returns the workload, its pod spec and the
// pod's volume name for the claim.
func claimant(objects []stack.Rendered, ns, claim string) (string, *corev1.PodSpec, string) {
	for _, r := range objects {
		if sts, ok := r.Object.(*appsv1.StatefulSet); ok && sts.Namespace == ns {
			for _, t := range sts.Spec.VolumeClaimTemplates {
				rest, ok := strings.CutPrefix(claim, t.Name+"-"+sts.Name+"-")
				if _, err := strconv.Atoi(rest); ok && err == nil {
					return "StatefulSet " + sts.Name, &sts.Spec.Template.Spec, t.Name
				}
			}
		}
		if r.Ref.Namespace != ns {
			continue
		}
		for _, spec := range stack.PodSpecs(r.Object) {
			for _, vol := range spec.Volumes {
				if vol.PersistentVolumeClaim != nil && vol.PersistentVolumeClaim.ClaimName == claim {
					return r.GVK.Kind + " " + r.Ref.Name, spec, vol.Name
				}
			}
		}
	}
	return "", nil, ""
}

// ownership is the owner the pod needs on a volume: the runAsUser of the
// first container mounting it (else the pod's), the fsGroup (else the
// runAsGroup), and whether the pod has an fsGroup.
func ownership(spec *corev1.PodSpec, volName string) (uid, gid int64, fsGroup bool) {
	psc := spec.SecurityContext
	if psc == nil {
		psc = &corev1.PodSecurityContext{}
	}
	user, group := psc.RunAsUser, psc.RunAsGroup
	for _, c := range slices.Concat(spec.InitContainers, spec.Containers) {
		mounts := slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.Name == volName })
		if !mounts || c.SecurityContext == nil {
			continue
		}
		if c.SecurityContext.RunAsUser != nil {
			user = c.SecurityContext.RunAsUser
		}
		if c.SecurityContext.RunAsGroup != nil {
			group = c.SecurityContext.RunAsGroup
		}
		break
	}
	if user != nil {
		uid = *user
	}
	if group != nil {
		gid = *group
	}
	if psc.FSGroup != nil {
		gid, fsGroup = *psc.FSGroup, true
	}
	return uid, gid, fsGroup
}

// HAProxyArg is the script's argument for the load balancer host.
const HAProxyArg = "haproxy"

// PrepareNodeScript renders prepare-node.sh: run as root on a node with the
// names of its pools (or haproxy on the load balancer host), it creates
// the local volumes' directories those pools hold with their owners and
// modes and installs the sysctl files. ROOT=/some/dir writes under a
// scratch root instead of / (and loads no sysctls); ownership is set only
// when run as root.
func PrepareNodeScript(p Prepare) ([]byte, error) {
	vols, err := LocalVolumes(p.Topology, p.Objects)
	if err != nil {
		return nil, err
	}
	if err := CheckSysctls("cluster.sysctls", p.Sysctls); err != nil {
		return nil, err
	}
	if slices.Contains(p.Topology.PoolNames(), HAProxyArg) && p.LoadBalancerSysctls != "" {
		return nil, fmt.Errorf("topology.pools: a pool is named %q, the node script's argument for the load balancer host; rename the pool", HAProxyArg)
	}
	if strings.Contains(p.LoadBalancerSysctls, "\nEOF") || strings.ContainsAny(p.LoadBalancerSysctlsFile, "/'\" $") {
		return nil, fmt.Errorf("node script: the load balancer's sysctl file %q cannot be embedded", p.LoadBalancerSysctlsFile)
	}
	args := p.Topology.PoolNames()
	if p.LoadBalancerSysctls != "" {
		args = append(args, HAProxyArg)
	}
	var b strings.Builder
	b.WriteString("#!/usr/bin/env bash\n")
	fmt.Fprintf(&b, "# Generated by iotstack for profile %s. DO NOT EDIT: change the Go code or the values\n", p.Profile)
	b.WriteString("# and synthesize again.\n#\n")
	b.WriteString("# Prepares a node before the stack is applied, as the dojot v0.5.0 installation guide\n")
	b.WriteString("# does by hand: the directories of the local PersistentVolumes (/mnt/data/...) that\n")
	b.WriteString("# live on the node's group, owned as the pods that mount them need")
	if p.LoadBalancerSysctls != "" {
		b.WriteString(", and on the\n# load balancer host the guide's net.ipv4.ip_local_port_range")
	}
	b.WriteString(".\n#\n")
	fmt.Fprintf(&b, "# Usage: sudo ./prepare-node.sh GROUP...   GROUP: %s\n", strings.Join(args, ", "))
	b.WriteString("#        ROOT=/tmp/scratch ./prepare-node.sh GROUP...   (under a scratch root; no sysctl load)\n#\n")
	b.WriteString("# Pods with an fsGroup: the kubelet makes a local volume group-owned and group-writable\n")
	b.WriteString("# itself on first mount; the owner set here matches it, so fsGroupChangePolicy\n")
	b.WriteString("# OnRootMismatch finds nothing to change.\n")
	b.WriteString("set -euo pipefail\n\n")
	b.WriteString("ROOT=\"${ROOT:-}\"\n")
	b.WriteString("if [ $# -eq 0 ]; then\n")
	fmt.Fprintf(&b, "  echo \"usage: $0 GROUP... (GROUP: %s)\" >&2\n  exit 2\nfi\n", strings.Join(args, ", "))
	b.WriteString("if [ -z \"$ROOT\" ] && [ \"$(id -u)\" -ne 0 ]; then\n")
	b.WriteString("  echo \"$0: run as root (or set ROOT to prepare a scratch root)\" >&2\n  exit 1\nfi\n\n")
	b.WriteString("# volume PATH OWNER GROUP MODE: creates the directory under ROOT; owner and group\n")
	b.WriteString("# only as root.\n")
	b.WriteString("volume() {\n")
	b.WriteString("  mkdir -p \"$ROOT$1\"\n")
	b.WriteString("  if [ \"$(id -u)\" -eq 0 ]; then\n    chown \"$2:$3\" \"$ROOT$1\"\n  fi\n")
	b.WriteString("  chmod \"$4\" \"$ROOT$1\"\n")
	b.WriteString("  echo \"$ROOT$1 ($2:$3, $4)\"\n}\n\n")
	b.WriteString("# sysctls NAME: installs the sysctl file from standard input as /etc/sysctl.d/NAME\n")
	b.WriteString("# and, on a real host, loads it.\n")
	b.WriteString("sysctls() {\n")
	b.WriteString("  mkdir -p \"$ROOT/etc/sysctl.d\"\n")
	b.WriteString("  cat > \"$ROOT/etc/sysctl.d/$1\"\n")
	b.WriteString("  chmod 0644 \"$ROOT/etc/sysctl.d/$1\"\n")
	b.WriteString("  echo \"$ROOT/etc/sysctl.d/$1\"\n")
	b.WriteString("  if [ -z \"$ROOT\" ]; then\n    sysctl --system >/dev/null\n  fi\n}\n\n")
	b.WriteString("for group in \"$@\"; do\n  case \"$group\" in\n")
	for _, pool := range p.Topology.PoolNames() {
		fmt.Fprintf(&b, "  %s)\n", pool)
		n := 0
		for _, v := range vols {
			if !slices.Contains(v.Pools, pool) {
				continue
			}
			n++
			fmt.Fprintf(&b, "    # PV %s, claim %s", v.PV, v.Claim)
			if v.Workload != "" {
				fmt.Fprintf(&b, " of %s", v.Workload)
			}
			if v.FSGroup {
				fmt.Fprintf(&b, " (fsGroup %d)", v.Group)
			}
			b.WriteString("\n")
			fmt.Fprintf(&b, "    volume '%s' %d %d %s\n", v.Path, v.Owner, v.Group, v.Mode)
		}
		if len(p.Sysctls) > 0 {
			n++
			b.WriteString("    sysctls 90-iotstack.conf <<'EOF'\n")
			for _, k := range slices.Sorted(maps.Keys(p.Sysctls)) {
				fmt.Fprintf(&b, "%s = %s\n", k, p.Sysctls[k])
			}
			b.WriteString("EOF\n")
		}
		if n == 0 {
			b.WriteString("    : # nothing to prepare\n")
		}
		b.WriteString("    ;;\n")
	}
	if p.LoadBalancerSysctls != "" {
		fmt.Fprintf(&b, "  %s)\n", HAProxyArg)
		fmt.Fprintf(&b, "    sysctls %s <<'EOF'\n", p.LoadBalancerSysctlsFile)
		b.WriteString(strings.TrimSuffix(p.LoadBalancerSysctls, "\n"))
		b.WriteString("\nEOF\n    ;;\n")
	}
	fmt.Fprintf(&b, "  *)\n    echo \"$0: unknown group $group (allowed: %s)\" >&2\n    exit 2\n    ;;\n", strings.Join(args, ", "))
	b.WriteString("  esac\ndone\n")
	return []byte(b.String()), nil
}
