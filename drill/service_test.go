package drill

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// echoServer answers every line with its name, a colon and the line, on
// loopback, until closed.
type echoServer struct {
	name string
	l    net.Listener
	wg   sync.WaitGroup
	mu   sync.Mutex
	cs   []net.Conn
}

func newEchoServer(t *testing.T, name string) *echoServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &echoServer{name: name, l: l}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.cs = append(s.cs, c)
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if _, err := io.WriteString(c, s.name+":"+line); err != nil {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(s.Close)
	return s
}

func (s *echoServer) addr() netip.AddrPort { return netip.MustParseAddrPort(s.l.Addr().String()) }

// Close stops the server and closes its connections (a backend lost).
func (s *echoServer) Close() {
	s.l.Close()
	s.mu.Lock()
	for _, c := range s.cs {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

type testClient struct {
	c net.Conn
	r *bufio.Reader
}

func dialProxy(t *testing.T, sp *ServiceProxy) *testClient {
	t.Helper()
	c, err := net.Dial("tcp", sp.Addrs()[0].String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	// A bound, not an assertion on time: a broken proxy fails the test
	// instead of hanging it.
	if err := c.SetDeadline(time.Now().Add(20 * time.Second)); err != nil {
		t.Fatal(err)
	}
	return &testClient{c: c, r: bufio.NewReader(c)}
}

// ask sends a line and returns the answer (without its newline), or the
// error reading it.
func (tc *testClient) ask(line string) (string, error) {
	if _, err := io.WriteString(tc.c, line+"\n"); err != nil {
		return "", err
	}
	s, err := tc.r.ReadString('\n')
	return strings.TrimSuffix(s, "\n"), err
}

// closed says whether the proxy closed the connection: a read ends with
// EOF (or a reset) rather than the deadline.
func (tc *testClient) closed() bool {
	_, _ = io.WriteString(tc.c, "anyone?\n")
	_, err := tc.r.ReadString('\n')
	var ne net.Error
	return err != nil && !(errors.As(err, &ne) && ne.Timeout())
}

func TestServiceProxySwitchesBackends(t *testing.T) {
	base := runtime.NumGoroutine()
	a, b := newEchoServer(t, "a"), newEchoServer(t, "b")
	dead := newEchoServer(t, "dead")
	deadAddr := dead.addr()
	dead.Close()

	var mu sync.Mutex
	var current []netip.AddrPort
	var fail error
	set := func(eps []netip.AddrPort, err error) {
		mu.Lock()
		current, fail = eps, err
		mu.Unlock()
	}
	backends := func(ctx context.Context) ([]netip.AddrPort, error) {
		mu.Lock()
		defer mu.Unlock()
		return append([]netip.AddrPort(nil), current...), fail
	}
	sp, err := NewServiceProxy("ns/svc", map[netip.AddrPort]Backends{netip.MustParseAddrPort("127.0.0.1:0"): backends}, testLog{t})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			sp.Close()
		}
	})

	set([]netip.AddrPort{a.addr()}, nil)
	c1 := dialProxy(t, sp)
	if got, err := c1.ask("1"); got != "a:1" {
		t.Fatalf("first connection: got %q, %v; want a:1", got, err)
	}
	// The endpoints change: the spliced connection keeps its backend,
	// the next connection goes to the new one.
	set([]netip.AddrPort{b.addr()}, nil)
	if got, err := c1.ask("2"); got != "a:2" {
		t.Errorf("spliced connection after the switch: got %q, %v; want a:2", got, err)
	}
	c2 := dialProxy(t, sp)
	if got, err := c2.ask("3"); got != "b:3" {
		t.Errorf("new connection after the switch: got %q, %v; want b:3", got, err)
	}
	// No endpoint: the client's connection is closed (kube-proxy rejects).
	set(nil, nil)
	if c3 := dialProxy(t, sp); !c3.closed() {
		t.Error("a connection without endpoints was not closed")
	}
	// Endpoints unreadable: closed too.
	set([]netip.AddrPort{b.addr()}, errors.New("API server down"))
	if c4 := dialProxy(t, sp); !c4.closed() {
		t.Error("a connection with unreadable endpoints was not closed")
	}
	// An endpoint refusing connections is skipped for a ready one.
	set([]netip.AddrPort{deadAddr, b.addr()}, nil)
	for i := 0; i < 2; i++ { // round-robin starts at each in turn
		c := dialProxy(t, sp)
		if got, err := c.ask("4"); got != "b:4" {
			t.Errorf("with a refusing endpoint first (try %d): got %q, %v; want b:4", i, got, err)
		}
	}
	// Only refusing endpoints: closed.
	set([]netip.AddrPort{deadAddr}, nil)
	if c5 := dialProxy(t, sp); !c5.closed() {
		t.Error("a connection whose only endpoint refuses was not closed")
	}
	// The backend goes away: its spliced client is closed.
	a.Close()
	if !c1.closed() {
		t.Error("the client of a lost backend was not closed")
	}
	// Close ends the remaining spliced connections and every goroutine.
	closed = true
	if err := sp.Close(); err != nil {
		t.Fatal(err)
	}
	if !c2.closed() {
		t.Error("a spliced connection survived Close")
	}
	if n := sp.Open(); n != 0 {
		t.Errorf("%d connections still tracked after Close", n)
	}
	if _, err := net.Dial("tcp", sp.Addrs()[0].String()); err == nil {
		t.Error("the proxy still accepts connections after Close")
	}
	b.Close()
	// Goroutines end asynchronously after their connections close: poll,
	// bounded, for the count to come back to where it started.
	n := 0
	for i := 0; i < 100; i++ {
		if n = runtime.NumGoroutine(); n <= base {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n > base {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines after Close, %d before:\n%s", n, base, buf[:runtime.Stack(buf, true)])
	}
}

// The proxy on the bridge: a pod resolves the Service's names to the
// virtual address and reaches the backend pod the endpoints name, after
// the host has its own bridge address already (as StartPatroni gives it).
func TestServiceProxyBetweenPods(t *testing.T) {
	needDrill(t, "/usr/bin/python3", "/usr/bin/curl")
	h := newHarness(t)
	if _, err := h.HostAddr(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	client, err := h.AddPod("client", "ns", "")
	if err != nil {
		t.Fatal(err)
	}
	pods := map[string]*Pod{}
	for _, name := range []string{"web-a", "web-b"} {
		p, err := h.AddPod(name, "ns", "")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(p.Dir, "index.html"), []byte(name), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := h.Start(p, StartOptions{Name: "http", Argv: []string{"/usr/bin/python3", "-m", "http.server", "8080", "--bind", "0.0.0.0", "--directory", p.Dir}}); err != nil {
			t.Fatal(err)
		}
		pods[name] = p
	}
	get := func(url string) (string, error) {
		return h.Exec(ctx, client, StartOptions{Argv: []string{"curl", "-sS", "--max-time", "5", url}, Env: []string{"PATH=/usr/bin:/bin"}})
	}
	for name, p := range pods { // the servers are up
		for i := 0; ; i++ {
			out, err := get("http://" + p.Addr.String() + ":8080/")
			if err == nil && out == name {
				break
			}
			if i == 100 {
				t.Fatalf("%s not serving: %v %s", name, err, out)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	var mu sync.Mutex
	current := "web-a"
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns"}, Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}}}}
	sp, err := h.ProxyService(svc, func(p corev1.ServicePort) Backends {
		return func(context.Context) ([]netip.AddrPort, error) {
			mu.Lock()
			defer mu.Unlock()
			if current == "" {
				return nil, nil
			}
			return []netip.AddrPort{netip.AddrPortFrom(pods[current].Addr, uint16(p.TargetPort.IntValue()))}, nil
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"web-a", "web-b", ""} {
		mu.Lock()
		current = want
		mu.Unlock()
		for _, name := range ServiceNames("web", "ns") {
			out, err := get("http://" + name + "/")
			switch {
			case want == "" && err == nil:
				t.Errorf("%s without endpoints answered %q", name, out)
			case want != "" && (err != nil || out != want):
				t.Errorf("%s with endpoint %s: %v %q", name, want, err, out)
			}
		}
	}
	// The proxy ends its side of a connection as the server closes it,
	// asynchronously to curl's exit: poll, bounded.
	n := 0
	for i := 0; i < 100; i++ {
		if n = sp.Open(); n == 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n != 0 {
		t.Errorf("%d connections open after the clients ended", n)
	}
}
