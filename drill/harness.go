package drill

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Harness is the drill's network and process sandbox: a Linux bridge of
// its own, one network namespace per pod (a veth pair on the bridge, an
// address from Subnet), one hosts file that resolves the stack's names for
// every process it starts, and the processes themselves. Close removes
// every namespace, link, process and file it made. It needs root (network
// and mount namespaces).
type Harness struct {
	// Subnet is the pods' private range: 10.213.X.0/24 with X from the
	// process id, so two drills on one machine rarely collide. It is far
	// from the simulated cluster's fake pod addresses (kwok's default
	// 10.0.0.0/24) and from the cluster's service range.
	Subnet netip.Prefix
	// Dir holds the pods' files (volumes, logs, the hosts file).
	Dir string

	id     string
	bridge string
	log    io.Writer

	lock *os.File // the machine-wide drill lock, held until Close

	mu       sync.Mutex
	pods     []*Pod
	names    map[string]netip.Addr // hosts file entries, name -> address
	procs    []*Proc
	madeDirs []string       // mount points created on the host (empty directories)
	closers  []func() error // run first by Close, last registered first (AddCloser)
	vips     int            // Service addresses given out on the bridge (ProxyService)
	closed   bool
}

// Pod is one simulated pod: a network namespace with one address.
type Pod struct {
	// Name and Namespace are the Kubernetes pod's.
	Name, Namespace string
	// Zone is the zone the pod runs in (from the simulated cluster's
	// placement, or the StatefulSet's one-per-zone spread).
	Zone string
	// Addr is the pod's address on the drill's bridge.
	Addr netip.Addr
	// Dir is the pod's directory (its volumes).
	Dir string

	netns, hostVeth string
}

// Mount is a bind mount inside a process's private mount namespace.
type Mount struct {
	// Source is a path on the host (a directory or a file).
	Source string
	// Target is the path the process sees.
	Target string
}

// Proc is a process started in a pod.
type Proc struct {
	// Pod is where it runs.
	Pod *Pod
	// Name says what it is (for messages).
	Name string
	// LogPath is the file holding its standard output and error.
	LogPath string

	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// Preflight says why the harness cannot run here, or nil: it needs root,
// ip(8), unshare(1) and setpriv(1).
func Preflight() error {
	if os.Geteuid() != 0 {
		return errors.New("the drill needs root (network and mount namespaces)")
	}
	for _, p := range []string{"ip", "unshare", "setpriv", "mount"} {
		if _, err := exec.LookPath(p); err != nil {
			return fmt.Errorf("the drill needs %s: %w", p, err)
		}
	}
	return nil
}

// NewHarness creates the bridge and the harness's directory. Call Close,
// also on failure (t.Cleanup).
func NewHarness(log io.Writer) (*Harness, error) {
	if err := Preflight(); err != nil {
		return nil, err
	}
	if log == nil {
		log = io.Discard
	}
	lock, err := acquireLock(log, 15*time.Minute)
	if err != nil {
		return nil, err
	}
	pid := os.Getpid()
	h := &Harness{
		Subnet: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 213, byte(pid % 250), 0}), 24),
		id:     strconv.Itoa(pid % 100000),
		log:    log,
		names:  map[string]netip.Addr{},
		lock:   lock,
	}
	h.bridge = "drbr" + h.id
	// Not under /tmp: pods mount emptyDirs over /tmp, which would hide
	// the sources of their later bind mounts.
	dir, err := os.MkdirTemp("/var/lib", "iotstack-drill-")
	if err != nil {
		h.Close()
		return nil, err
	}
	h.Dir = dir
	if err := os.Chmod(dir, 0o755); err != nil {
		h.Close()
		return nil, err
	}
	if err := ipCmd("link", "add", h.bridge, "type", "bridge"); err != nil {
		h.Close()
		return nil, err
	}
	if err := ipCmd("link", "set", h.bridge, "up"); err != nil {
		h.Close()
		return nil, err
	}
	if err := h.writeHosts(); err != nil {
		h.Close()
		return nil, err
	}
	return h, nil
}

// LockPath is the machine-wide lock one harness holds at a time. Pods'
// mount namespaces bind over host paths (/data, /scripts...) that a
// harness creates when missing and removes on Close; removing a directory
// that is a mount point in another drill's namespaces detaches those
// mounts (Linux since 3.18), which broke a concurrent drill's Redis
// ("can't update cluster config file"). So drills on one machine run one
// after the other.
const LockPath = "/run/iotstack-drill.lock"

// acquireLock takes LockPath exclusively, waiting at most wait.
func acquireLock(log io.Writer, wait time.Duration) (*os.File, error) {
	f, err := os.OpenFile(LockPath, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("drill lock: %w", err)
	}
	deadline := time.Now().Add(wait)
	told := false
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("drill lock %s: %w", LockPath, err)
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("drill lock %s: another drill has held it for %s", LockPath, wait)
		}
		if !told {
			fmt.Fprintf(log, "waiting for another drill on this machine to finish (lock %s)\n", LockPath)
			told = true
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// HostsPath is the hosts file every process sees as /etc/hosts.
func (h *Harness) HostsPath() string { return filepath.Join(h.Dir, "hosts") }

func ipCmd(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// AddPod creates a pod's network namespace with the next free address and
// the pod's directory.
func (h *Harness) AddPod(name, namespace, zone string) (*Pod, error) {
	h.mu.Lock()
	idx := len(h.pods) + 1
	h.mu.Unlock()
	if idx > 200 {
		return nil, fmt.Errorf("drill: more than 200 pods")
	}
	base := h.Subnet.Addr().As4()
	base[3] = byte(10 + idx)
	p := &Pod{
		Name: name, Namespace: namespace, Zone: zone,
		Addr:     netip.AddrFrom4(base),
		Dir:      filepath.Join(h.Dir, "pods", namespace, name),
		netns:    fmt.Sprintf("drill-%s-%d", h.id, idx),
		hostVeth: fmt.Sprintf("dv%s-%d", h.id, idx),
	}
	if len(p.hostVeth) > 15 {
		return nil, fmt.Errorf("drill: interface name %s too long", p.hostVeth)
	}
	if err := os.MkdirAll(p.Dir, 0o755); err != nil {
		return nil, err
	}
	h.mu.Lock()
	h.pods = append(h.pods, p) // before creating anything, so Close removes it
	h.mu.Unlock()
	steps := [][]string{
		{"netns", "add", p.netns},
		{"link", "add", p.hostVeth, "type", "veth", "peer", "name", "eth0", "netns", p.netns},
		{"link", "set", p.hostVeth, "master", h.bridge},
		{"link", "set", p.hostVeth, "up"},
		{"-n", p.netns, "addr", "add", netip.PrefixFrom(p.Addr, h.Subnet.Bits()).String(), "dev", "eth0"},
		{"-n", p.netns, "link", "set", "eth0", "up"},
		{"-n", p.netns, "link", "set", "lo", "up"},
	}
	for _, s := range steps {
		if err := ipCmd(s...); err != nil {
			return nil, fmt.Errorf("pod %s/%s: %w", namespace, name, err)
		}
	}
	return p, nil
}

// HostAddr gives the host an address on the drill's bridge (the first of
// the subnet) and returns it: the pods reach services on the host (the
// simulated cluster's API server, bound to all addresses) through it.
func (h *Harness) HostAddr() (netip.Addr, error) {
	a := h.Subnet.Addr().As4()
	a[3] = 1
	addr := netip.AddrFrom4(a)
	err := ipCmd("addr", "add", netip.PrefixFrom(addr, h.Subnet.Bits()).String(), "dev", h.bridge)
	// Already there: "File exists", or "Address already assigned" (the
	// kernel's extended ack, Linux 6.x here); a second call is a no-op.
	if err != nil && !strings.Contains(err.Error(), "File exists") && !strings.Contains(err.Error(), "already assigned") {
		return addr, err
	}
	return addr, nil
}

// KillPod hard-kills every process in the pod's network namespace (a lost
// node takes the server and everything it spawned, whatever its process
// group) and waits at most ten seconds for them to go.
func (h *Harness) KillPod(p *Pod) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err := exec.Command("ip", "netns", "pids", p.netns).Output()
		if err != nil {
			return fmt.Errorf("pod %s: ip netns pids: %w", p.Name, err)
		}
		pids := strings.Fields(string(out))
		if len(pids) == 0 {
			return nil
		}
		for _, s := range pids {
			if pid, err := strconv.Atoi(s); err == nil {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pod %s: processes %v still running 10s after SIGKILL", p.Name, pids)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Pods are the pods added so far.
func (h *Harness) Pods() []*Pod {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]*Pod(nil), h.pods...)
}

// SetName makes name resolve to addr in every process's /etc/hosts (a
// Service name pointing at its current endpoint, a pod's DNS name). The
// file is rewritten in place, so running processes see the change.
func (h *Harness) SetName(name string, addr netip.Addr) error {
	h.mu.Lock()
	h.names[name] = addr
	h.mu.Unlock()
	return h.writeHosts()
}

// DeleteName removes name from the hosts file (a Service with no endpoint).
func (h *Harness) DeleteName(name string) error {
	h.mu.Lock()
	delete(h.names, name)
	h.mu.Unlock()
	return h.writeHosts()
}

func (h *Harness) writeHosts() error {
	h.mu.Lock()
	names := make([]string, 0, len(h.names))
	for n := range h.names {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("# written by the iotstack drill\n127.0.0.1 localhost\n")
	for _, n := range names {
		fmt.Fprintf(&b, "%s %s\n", h.names[n], n)
	}
	h.mu.Unlock()
	// In place (no rename): the bind mounts keep pointing at this inode.
	f, err := os.OpenFile(h.HostsPath(), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(b.String()); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// ensureMountPoint creates target (an empty directory, or an empty file
// when isFile) on the host when missing, so a private mount namespace can
// bind over it; Close removes what it created.
func (h *Harness) ensureMountPoint(target string, isFile bool) error {
	if _, err := os.Lstat(target); err == nil {
		return nil
	}
	// Every missing parent is created (and recorded) one by one, so Close
	// removes exactly what was made, deepest first.
	var missing []string
	for d := filepath.Dir(target); d != "/"; d = filepath.Dir(d) {
		if _, err := os.Lstat(d); err == nil {
			break
		}
		missing = append(missing, d)
	}
	for i := len(missing) - 1; i >= 0; i-- {
		if err := os.Mkdir(missing[i], 0o755); err != nil {
			return fmt.Errorf("drill: mount point %s: %w", target, err)
		}
		h.mu.Lock()
		h.madeDirs = append(h.madeDirs, missing[i])
		h.mu.Unlock()
	}
	var err error
	if isFile {
		err = os.WriteFile(target, nil, 0o644)
	} else {
		err = os.Mkdir(target, 0o755)
	}
	if err != nil {
		return fmt.Errorf("drill: mount point %s: %w", target, err)
	}
	h.mu.Lock()
	h.madeDirs = append(h.madeDirs, target)
	h.mu.Unlock()
	return nil
}

// StartOptions say how to run a process in a pod.
type StartOptions struct {
	// Name says what the process is (for messages and its log file).
	Name string
	// Argv is the program and its arguments (the container's command
	// and args).
	Argv []string
	// Env is the environment (KEY=VALUE), nothing inherited.
	Env []string
	// UID and GID run the process as that user (the pod's runAsUser and
	// runAsGroup); 0 keeps root.
	UID, GID int
	// Mounts are bind mounts in the process's private mount namespace,
	// besides the hosts file over /etc/hosts.
	Mounts []Mount
	// Dir is the working directory ("/" when empty).
	Dir string
}

// mountScript runs as root in the new mount namespace: it binds the hosts
// file and the mounts, then becomes the pod's user and runs the program.
const mountScript = `set -e
mount --make-rprivate /
while [ "$1" != "--" ]; do
  mount --bind "$1" "$2"
  shift 2
done
shift
cd "$DRILL_WORKDIR"
unset DRILL_WORKDIR
exec "$@"
`

// Start runs a process inside pod's network namespace and a private mount
// namespace (unshare -m) in which the hosts file is bound over /etc/hosts
// and opts.Mounts over their targets. The process runs in its own process
// group; Kill ends the group.
func (h *Harness) Start(p *Pod, opts StartOptions) (*Proc, error) {
	if len(opts.Argv) == 0 {
		return nil, fmt.Errorf("pod %s: %s: no command", p.Name, opts.Name)
	}
	args := []string{"netns", "exec", p.netns, "unshare", "-m", "--propagation", "private", "/bin/sh", "-c", mountScript, "drill"}
	mounts := append([]Mount{{Source: h.HostsPath(), Target: "/etc/hosts"}}, opts.Mounts...)
	for _, m := range mounts {
		if rel, err := filepath.Rel(m.Target, h.Dir); err == nil && !strings.HasPrefix(rel, "..") {
			return nil, fmt.Errorf("pod %s: %s: mount over %s would hide the drill's directory %s", p.Name, opts.Name, m.Target, h.Dir)
		}
		st, err := os.Stat(m.Source)
		if err != nil {
			return nil, fmt.Errorf("pod %s: %s: mount source: %w", p.Name, opts.Name, err)
		}
		if err := h.ensureMountPoint(m.Target, !st.IsDir()); err != nil {
			return nil, err
		}
		args = append(args, m.Source, m.Target)
	}
	args = append(args, "--")
	if opts.UID != 0 || opts.GID != 0 {
		args = append(args, "setpriv", "--reuid", strconv.Itoa(opts.UID), "--regid", strconv.Itoa(opts.GID), "--clear-groups", "--")
	}
	args = append(args, opts.Argv...)
	logPath := filepath.Join(p.Dir, "log-"+strings.ReplaceAll(opts.Name, "/", "_")+".txt")
	lf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("ip", args...)
	dir := opts.Dir
	if dir == "" {
		dir = "/"
	}
	cmd.Env = append(append([]string{}, opts.Env...), "DRILL_WORKDIR="+dir)
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		lf.Close()
		return nil, errors.New("drill: harness closed")
	}
	if err := cmd.Start(); err != nil {
		h.mu.Unlock()
		lf.Close()
		return nil, fmt.Errorf("pod %s: %s: %w", p.Name, opts.Name, err)
	}
	pr := &Proc{Pod: p, Name: opts.Name, LogPath: logPath, cmd: cmd, done: make(chan struct{})}
	h.procs = append(h.procs, pr)
	h.mu.Unlock()
	go func() {
		pr.err = cmd.Wait()
		lf.Close()
		close(pr.done)
	}()
	fmt.Fprintf(h.log, "started %s in pod %s (%s, %s), log %s\n", opts.Name, p.Name, p.Addr, p.Zone, logPath)
	return pr, nil
}

// Kill ends the process's group with SIGKILL (a hard kill, as a lost node
// does) and waits at most ten seconds for it to exit.
func (pr *Proc) Kill() error {
	if pr.Exited() {
		return nil
	}
	_ = syscall.Kill(-pr.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-pr.done:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("pod %s: %s (pid %d) still running 10s after SIGKILL", pr.Pod.Name, pr.Name, pr.cmd.Process.Pid)
	}
}

// Exited says whether the process has ended.
func (pr *Proc) Exited() bool {
	select {
	case <-pr.done:
		return true
	default:
		return false
	}
}

// Tail is the end of the process's log (for failure messages).
func (pr *Proc) Tail(n int) string {
	b, err := os.ReadFile(pr.LogPath)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Exec runs a command to completion in pod p (same namespaces and hosts
// file as Start, as root unless opts.UID is set), bounded by ctx, and
// returns its combined output.
func (h *Harness) Exec(ctx context.Context, p *Pod, opts StartOptions) (string, error) {
	args := []string{"netns", "exec", p.netns, "unshare", "-m", "--propagation", "private", "/bin/sh", "-c", mountScript, "drill", h.HostsPath(), "/etc/hosts"}
	for _, m := range opts.Mounts {
		args = append(args, m.Source, m.Target)
	}
	args = append(args, "--")
	if opts.UID != 0 || opts.GID != 0 {
		args = append(args, "setpriv", "--reuid", strconv.Itoa(opts.UID), "--regid", strconv.Itoa(opts.GID), "--clear-groups", "--")
	}
	args = append(args, opts.Argv...)
	cmd := exec.CommandContext(ctx, "ip", args...)
	dir := opts.Dir
	if dir == "" {
		dir = "/"
	}
	cmd.Env = append(append([]string{}, opts.Env...), "DRILL_WORKDIR="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// Close runs the registered closers (AddCloser: the Service proxies),
// kills every process (SIGKILL, bounded wait), deletes every network
// namespace, veth and the bridge, removes the mount points it created on
// the host and the harness's directory. It returns the first failure and
// carries on with the rest.
func (h *Harness) Close() error {
	h.mu.Lock()
	h.closed = true
	procs, pods, made, closers := h.procs, h.pods, h.madeDirs, h.closers
	h.procs, h.pods, h.madeDirs, h.closers = nil, nil, nil, nil
	h.mu.Unlock()
	var errs []error
	for i := len(closers) - 1; i >= 0; i-- {
		if err := closers[i](); err != nil {
			errs = append(errs, err)
		}
	}
	for _, pr := range procs {
		if err := pr.Kill(); err != nil {
			errs = append(errs, err)
		}
	}
	// Whatever a server spawned in a session of its own (PostgreSQL
	// under Patroni) still runs in the pod's network namespace.
	for _, p := range pods {
		if err := h.KillPod(p); err != nil && !strings.Contains(err.Error(), "ip netns pids") {
			errs = append(errs, err)
		}
	}
	for _, p := range pods {
		// The netns's end of a veth does not always take its peer with it
		// (gVisor), so both are removed explicitly; errors for what is
		// already gone are expected.
		_ = ipCmd("link", "del", p.hostVeth)
		if err := ipCmd("netns", "del", p.netns); err != nil && !strings.Contains(err.Error(), "No such file") {
			errs = append(errs, err)
		}
	}
	if h.bridge != "" {
		if err := ipCmd("link", "del", h.bridge); err != nil && !strings.Contains(err.Error(), "Cannot find device") {
			errs = append(errs, err)
		}
	}
	for i := len(made) - 1; i >= 0; i-- {
		if err := os.Remove(made[i]); err != nil && !os.IsNotExist(err) {
			errs = append(errs, err)
		}
	}
	if h.Dir != "" {
		if err := os.RemoveAll(h.Dir); err != nil {
			errs = append(errs, err)
		}
	}
	if h.lock != nil {
		h.lock.Close() // releases the flock; the empty lock file stays for the next drill
		h.lock = nil
	}
	return errors.Join(errs...)
}
