package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

// libcoap is the path of one of Debian's libcoap3-bin 4.3.1 programs
// (built without TLS: coap-server-notls, coap-client-notls, coap-rd-notls);
// the test skips without it unless IOTSTACK_REQUIRE_TOOLS is set.
func libcoap(t *testing.T, name string) string {
	t.Helper()
	path := "/usr/bin/" + name + "-notls"
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("IOTSTACK_REQUIRE_TOOLS") != "" {
			t.Fatalf("%s missing (go tool mage deps installs libcoap3-bin): %v", path, err)
		}
		t.Skipf("%s not installed; go tool mage deps installs libcoap3-bin", path)
	}
	return path
}

// freeUDPPort is a loopback UDP port free at the time of the call.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// startLibcoap runs a libcoap server program on a free loopback port and
// returns host:port; it is killed at the end of the test.
func startLibcoap(t *testing.T, name string, args ...string) (string, *bytes.Buffer) {
	t.Helper()
	bin := libcoap(t, name)
	port := freeUDPPort(t)
	var logs bytes.Buffer
	cmd := exec.Command(bin, append([]string{"-A", "127.0.0.1", "-p", fmt.Sprint(port)}, args...)...)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return fmt.Sprintf("127.0.0.1:%d", port), &logs
}

// TestCoAPEncoding: known encodings from RFC 7252 (the header and option
// layout of sections 3 and 3.1) and the extended option fields, both
// ways.
func TestCoAPEncoding(t *testing.T) {
	for _, c := range []struct {
		name string
		m    CoAPMessage
		want []byte
	}{
		// RFC 7252 appendix A, figure 16: CON GET, MID 0x7d34, Uri-Path
		// "temperature", no token.
		{"rfc7252 figure 16", CoAPMessage{Type: CoAPConfirmable, Code: CoAPGet, MessageID: 0x7d34, Options: []CoAPOption{{CoAPOptionURIPath, []byte("temperature")}}},
			append([]byte{0x40, 0x01, 0x7d, 0x34, 0xbb}, "temperature"...)},
		// ACK 2.05 with token and payload "22.3 C" (figure 17's reply shape).
		{"ack with payload", CoAPMessage{Type: CoAPAcknowledgment, Code: CoAPContent, MessageID: 0x7d34, Token: []byte{0x20}, Payload: []byte("22.3 C")},
			append([]byte{0x61, 0x45, 0x7d, 0x34, 0x20, 0xff}, "22.3 C"...)},
		// Delta 13 + 7 = 20 in one extended byte, a 300-byte value's
		// length 269 + 31 in two.
		{"extended fields", CoAPMessage{Type: CoAPNonConfirmable, Code: CoAPPost, MessageID: 1, Options: []CoAPOption{{20, []byte("x")}, {20, bytes.Repeat([]byte("y"), 300)}}},
			append([]byte{0x50, 0x02, 0x00, 0x01, 0xd1, 0x07, 'x', 0x0e, 0x00, 0x1f}, bytes.Repeat([]byte("y"), 300)...)},
	} {
		got, err := c.m.Encode()
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !bytes.Equal(got, c.want) {
			t.Errorf("%s: encoded % x\nwant % x", c.name, got, c.want)
		}
		back, err := DecodeCoAP(c.want)
		if err != nil {
			t.Fatalf("%s: decode: %v", c.name, err)
		}
		again, _ := back.Encode()
		if !bytes.Equal(again, c.want) || back.Code != c.m.Code || back.Type != c.m.Type || back.MessageID != c.m.MessageID {
			t.Errorf("%s: decoded %+v", c.name, back)
		}
	}
	for _, bad := range [][]byte{{0x40, 0x01}, {0x80, 0x01, 0, 0}, {0x49, 0x01, 0, 0}, {0x40, 0x01, 0, 0, 0xff}, {0x40, 0x01, 0, 0, 0xf0}, {0x40, 0x01, 0, 0, 0x13, 'a'}} {
		if m, err := DecodeCoAP(bad); err == nil {
			t.Errorf("% x decoded as %+v; want an error", bad, m)
		}
	}
}

// TestRegisterLwM2MWithLibcoap: the registration the smoke test sends,
// answered by libcoap's own CoRE Resource Directory (coap-rd, which
// takes POST /rd?ep=... with a link-format payload as an LwM2M server
// takes a Register): 2.01 Created with the Location-Path rd/<id>.
// Against coap-server, whose default resources include none at /rd: the
// decoded code is 4.04 (or 4.05), not 2.01, and RegisterLwM2M says so;
// and with nothing listening, the retransmissions end with the context.
func TestRegisterLwM2MWithLibcoap(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rd, logs := startLibcoap(t, "coap-rd")
	loc, err := RegisterLwM2M(ctx, rd, "iotstack-e2e", 60, []string{"/1/0", "/3/0"})
	if err != nil {
		t.Fatalf("%v\ncoap-rd logged:\n%s", err, logs)
	}
	if !regexp.MustCompile(`^/rd/[0-9a-f-]+$`).MatchString(loc) {
		t.Errorf("location %q; want /rd/<id>", loc)
	}

	server, logs := startLibcoap(t, "coap-server")
	// GET / is coap-server's default resource: 2.05 with its banner.
	resp, err := CoAPExchange(ctx, server, CoAPMessage{Type: CoAPConfirmable, Code: CoAPGet, MessageID: 0x1234, Token: []byte{1, 2, 3, 4}})
	if err != nil {
		t.Fatalf("%v\ncoap-server logged:\n%s", err, logs)
	}
	if resp.Code != CoAPContent || !bytes.Contains(resp.Payload, []byte("libcoap")) || !bytes.Equal(resp.Token, []byte{1, 2, 3, 4}) {
		t.Errorf("GET / answered %s %x %q; want 2.05 with token 01020304 and libcoap's banner", resp.Code, resp.Token, resp.Payload)
	}
	_, err = RegisterLwM2M(ctx, server, "iotstack-e2e", 60, []string{"/1/0", "/3/0"})
	if err == nil || !strings.Contains(err.Error(), "want 2.01 Created") || !regexp.MustCompile(`response 4\.0[45]`).MatchString(err.Error()) {
		t.Errorf("register at coap-server (no /rd): %v; want a 4.04 or 4.05 refusal", err)
	}

	short, cancel2 := context.WithTimeout(ctx, 3*time.Second)
	defer cancel2()
	if _, err := RegisterLwM2M(short, fmt.Sprintf("127.0.0.1:%d", freeUDPPort(t)), "x", 60, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("register with nothing listening: %v; want the context's deadline", err)
	}
}

// TestDecodeLibcoapRegistration: coap-client's own encoding of the
// registration, caught by a Go UDP listener, decodes to the request
// RegisterLwM2M sends (coap-client adds Uri-Port for a port other than
// 5683, nothing else), and re-encodes to the same bytes; the listener's
// piggybacked 2.01 with Location-Path rd/abc is what coap-client then
// prints.
func TestDecodeLibcoapRegistration(t *testing.T) {
	bin := libcoap(t, "coap-client")
	l, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.LocalAddr().(*net.UDPAddr).Port
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-B", "5", "-m", "post", "-t", "40", "-e", "</1/0>,</3/0>",
		fmt.Sprintf("coap://127.0.0.1:%d/rd?ep=iotstack-e2e&lt=60&lwm2m=1.0", port))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	l.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 2048)
	n, from, err := l.ReadFrom(buf)
	if err != nil {
		cmd.Process.Kill()
		t.Fatalf("no datagram from coap-client: %v\n%s", err, out.String())
	}
	raw := append([]byte(nil), buf[:n]...)
	m, err := DecodeCoAP(raw)
	if err != nil {
		cmd.Process.Kill()
		t.Fatalf("decode % x: %v", raw, err)
	}
	again, _ := m.Encode()
	if !bytes.Equal(again, raw) {
		t.Errorf("re-encoded % x\nreceived   % x", again, raw)
	}
	want := LwM2MRegistration("iotstack-e2e", 60, []string{"/1/0", "/3/0"}, m.MessageID, m.Token)
	want.Options = append([]CoAPOption{{7, CoAPUint(uint32(port))}}, want.Options...) // Uri-Port
	if m.Type != want.Type || m.Code != want.Code || !reflect.DeepEqual(m.Options, want.Options) || !bytes.Equal(m.Payload, want.Payload) {
		t.Errorf("coap-client sent %+v\nwant %+v", m, want)
	}
	wantRaw, _ := want.Encode()
	if !bytes.Equal(wantRaw, raw) {
		t.Errorf("LwM2MRegistration (with Uri-Port) encodes % x\ncoap-client sent          % x", wantRaw, raw)
	}
	ack, _ := CoAPMessage{Type: CoAPAcknowledgment, Code: CoAPCreated, MessageID: m.MessageID, Token: m.Token,
		Options: []CoAPOption{{CoAPOptionLocationPath, []byte("rd")}, {CoAPOptionLocationPath, []byte("abc")}}}.Encode()
	if _, err := l.WriteTo(ack, from); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("coap-client: %v\n%s", err, out.String())
	}
}
