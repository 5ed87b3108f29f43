package drill

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Backends are the ready backends (address and target port) of one
// Service port as of now. A ServiceProxy calls it once per accepted
// connection, so a change is seen by the next connection.
type Backends func(ctx context.Context) ([]netip.AddrPort, error)

// ServiceProxy is a Service's virtual address in the way kube-proxy's
// userspace mode implemented it (kubernetes/kubernetes
// pkg/proxy/userspace, removed in 1.26): one listener per Service port; per
// accepted connection a ready endpoint is picked round-robin from the
// Service's current endpoints and the bytes are spliced both ways; when
// one direction ends, both connections are closed (userspace
// proxysocket.go's copyBytes did the same). No endpoint, or none that
// accepts a connection, and the client's connection is closed at once,
// as kube-proxy rejects it. A connection already spliced keeps its
// backend until either side closes it. As with the userspace proxier, the
// backend sees the proxy's address as the client's (the host's bridge
// address in the drill), not the pod's.
type ServiceProxy struct {
	// Name is the Service's namespace/name (for messages).
	Name string

	log       io.Writer
	listeners []net.Listener
	wg        sync.WaitGroup
	ctx       context.Context // cancelled by Close: ends endpoint reads and dials
	cancel    context.CancelFunc

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	next   int
	closed bool
}

// dialTimeout bounds one connection attempt to an endpoint (kube-proxy's
// userspace proxier tried endpoints with growing timeouts, the first
// 250 ms; a pod address on the drill's bridge answers or refuses at once).
const dialTimeout = 2 * time.Second

// NewServiceProxy listens on every address of ports (each with the
// Backends of its Service port) and proxies until Close.
func NewServiceProxy(name string, ports map[netip.AddrPort]Backends, log io.Writer) (*ServiceProxy, error) {
	if log == nil {
		log = io.Discard
	}
	sp := &ServiceProxy{Name: name, log: log, conns: map[net.Conn]struct{}{}}
	sp.ctx, sp.cancel = context.WithCancel(context.Background())
	for addr, backends := range ports {
		l, err := net.Listen("tcp", addr.String())
		if err != nil {
			sp.Close()
			return nil, fmt.Errorf("Service %s: listen on %s: %w", name, addr, err)
		}
		sp.listeners = append(sp.listeners, l)
		sp.wg.Add(1)
		go sp.serve(l, backends)
	}
	return sp, nil
}

// Addrs are the addresses the proxy listens on.
func (sp *ServiceProxy) Addrs() []net.Addr {
	var a []net.Addr
	for _, l := range sp.listeners {
		a = append(a, l.Addr())
	}
	return a
}

func (sp *ServiceProxy) serve(l net.Listener, backends Backends) {
	defer sp.wg.Done()
	for {
		c, err := l.Accept()
		if err != nil {
			return // closed
		}
		if !sp.track(c) {
			c.Close()
			return
		}
		sp.wg.Add(1)
		go sp.handle(c, backends)
	}
}

// track records an open connection; false when the proxy is closed.
func (sp *ServiceProxy) track(c net.Conn) bool {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.closed {
		return false
	}
	sp.conns[c] = struct{}{}
	return true
}

func (sp *ServiceProxy) untrack(c net.Conn) {
	sp.mu.Lock()
	delete(sp.conns, c)
	sp.mu.Unlock()
	c.Close()
}

func (sp *ServiceProxy) handle(client net.Conn, backends Backends) {
	defer sp.wg.Done()
	defer sp.untrack(client)
	ctx, cancel := context.WithTimeout(sp.ctx, 10*time.Second)
	defer cancel()
	eps, err := backends(ctx)
	if err != nil {
		fmt.Fprintf(sp.log, "Service %s: endpoints: %v; connection from %s closed\n", sp.Name, err, client.RemoteAddr())
		return
	}
	if len(eps) == 0 {
		fmt.Fprintf(sp.log, "Service %s: no ready endpoint; connection from %s closed\n", sp.Name, client.RemoteAddr())
		return
	}
	sp.mu.Lock()
	start := sp.next
	sp.next++
	sp.mu.Unlock()
	var backend net.Conn
	for i := range eps {
		ep := eps[(start+i)%len(eps)]
		d := net.Dialer{Timeout: dialTimeout}
		c, err := d.DialContext(ctx, "tcp", ep.String())
		if err != nil {
			fmt.Fprintf(sp.log, "Service %s: endpoint %s: %v\n", sp.Name, ep, err)
			continue
		}
		backend = c
		break
	}
	if backend == nil {
		return
	}
	if !sp.track(backend) {
		backend.Close()
		return
	}
	defer sp.untrack(backend)
	done := make(chan struct{}, 2)
	splice := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		// Either direction ending ends both: a Close of both unblocks
		// the other copy.
		dst.Close()
		src.Close()
		done <- struct{}{}
	}
	go splice(backend, client)
	go splice(client, backend)
	<-done
	<-done
}

// Open is the number of connections (client and backend sides) open now.
func (sp *ServiceProxy) Open() int {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return len(sp.conns)
}

// Close stops the listeners, closes every open connection and waits for
// the proxy's goroutines to end.
func (sp *ServiceProxy) Close() error {
	sp.cancel()
	sp.mu.Lock()
	sp.closed = true
	for c := range sp.conns {
		c.Close()
	}
	sp.mu.Unlock()
	var errs []error
	for _, l := range sp.listeners {
		if err := l.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	sp.wg.Wait()
	return errors.Join(errs...)
}

// AddCloser registers f to run first when the harness closes (last
// registered, first run), before the processes are killed.
func (h *Harness) AddCloser(f func() error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closers = append(h.closers, f)
}

// serviceAddr gives a Service a virtual address on the drill's bridge,
// from .2 to .9 of the subnet (the host has .1, pods start at .11).
func (h *Harness) serviceAddr() (netip.Addr, error) {
	if _, err := h.HostAddr(); err != nil { // the route to the pods, for the backends
		return netip.Addr{}, err
	}
	h.mu.Lock()
	if h.vips >= 8 {
		h.mu.Unlock()
		return netip.Addr{}, errors.New("drill: more than 8 Services proxied")
	}
	h.vips++
	a := h.Subnet.Addr().As4()
	a[3] = byte(1 + h.vips)
	h.mu.Unlock()
	addr := netip.AddrFrom4(a)
	if err := ipCmd("addr", "add", netip.PrefixFrom(addr, 32).String(), "dev", h.bridge); err != nil {
		return addr, err
	}
	return addr, nil
}

// ProxyService gives the rendered Service a virtual address on the
// bridge, makes its DNS names (ServiceNames) resolve to it in every pod
// and proxies each of its ports to the Backends backends returns for it.
// The harness closes the proxy.
func (h *Harness) ProxyService(svc *corev1.Service, backends func(corev1.ServicePort) Backends) (*ServiceProxy, error) {
	if len(svc.Spec.Ports) == 0 {
		return nil, fmt.Errorf("Service %s/%s has no port", svc.Namespace, svc.Name)
	}
	vip, err := h.serviceAddr()
	if err != nil {
		return nil, err
	}
	ports := map[netip.AddrPort]Backends{}
	for _, p := range svc.Spec.Ports {
		if p.Protocol != "" && p.Protocol != corev1.ProtocolTCP {
			return nil, fmt.Errorf("Service %s/%s port %s: protocol %s is not proxied by the drill (TCP only)", svc.Namespace, svc.Name, p.Name, p.Protocol)
		}
		ports[netip.AddrPortFrom(vip, uint16(p.Port))] = backends(p)
	}
	sp, err := NewServiceProxy(svc.Namespace+"/"+svc.Name, ports, h.log)
	if err != nil {
		return nil, err
	}
	h.AddCloser(sp.Close)
	for _, n := range ServiceNames(svc.Name, svc.Namespace) {
		if err := h.SetName(n, vip); err != nil {
			return nil, err
		}
	}
	fmt.Fprintf(h.log, "Service %s/%s on %s\n", svc.Namespace, svc.Name, vip)
	return sp, nil
}

// EndpointsBackends reads the ready addresses of the Endpoints object of
// a Service (namespace/name) from the API server, with the port of the
// Service port's name (a Service without a selector, like Patroni's
// read-write Service: Patroni writes those Endpoints). An unnamed port
// matches an Endpoints port without a name, as the endpoints controller
// writes for a single-port Service.
func EndpointsBackends(cs kubernetes.Interface, namespace, name string, port corev1.ServicePort) Backends {
	return func(ctx context.Context) ([]netip.AddrPort, error) {
		if cs == nil {
			return nil, fmt.Errorf("Endpoints %s/%s: no API server to read them from", namespace, name)
		}
		ep, err := cs.CoreV1().Endpoints(namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		var out []netip.AddrPort
		for _, s := range ep.Subsets {
			num := int32(-1)
			for _, p := range s.Ports {
				if p.Name == port.Name && (p.Protocol == "" || p.Protocol == corev1.ProtocolTCP) {
					num = p.Port
				}
			}
			if num < 0 {
				continue
			}
			for _, a := range s.Addresses { // ready ones; NotReadyAddresses are not
				ip, err := netip.ParseAddr(a.IP)
				if err != nil {
					return nil, fmt.Errorf("Endpoints %s/%s: address %q: %w", namespace, name, a.IP, err)
				}
				out = append(out, netip.AddrPortFrom(ip, uint16(num)))
			}
		}
		return out, nil
	}
}

// containerPort resolves a Service port's targetPort against a pod
// template's containers: a number as is, a name through the containers'
// named ports, unset as the Service's port.
func containerPort(spec corev1.PodSpec, port corev1.ServicePort) (int, error) {
	switch {
	case port.TargetPort.IntValue() > 0:
		return port.TargetPort.IntValue(), nil
	case port.TargetPort.StrVal != "":
		for _, c := range spec.Containers {
			for _, p := range c.Ports {
				if p.Name == port.TargetPort.StrVal {
					return int(p.ContainerPort), nil
				}
			}
		}
		return 0, fmt.Errorf("targetPort %q names no container port", port.TargetPort.StrVal)
	default:
		return int(port.Port), nil
	}
}

// portString is a port for messages: its name, else its number.
func portString(p corev1.ServicePort) string {
	if p.Name != "" {
		return p.Name
	}
	return strconv.Itoa(int(p.Port))
}
