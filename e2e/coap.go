package e2e

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"
	"time"
)

// The CoAP message format of RFC 7252 (section 3), as much of it as an
// LwM2M client's registration needs: the fixed 4-byte header (version 1,
// type, token length; code; message ID), the token, the options in order
// of their numbers with delta/length nibbles (13 and 14 extend them by one
// and two bytes, 15 is reserved) and the payload after the 0xFF marker.

// CoAPType is a message type (RFC 7252 section 3).
type CoAPType uint8

// The four message types.
const (
	CoAPConfirmable    CoAPType = 0
	CoAPNonConfirmable CoAPType = 1
	CoAPAcknowledgment CoAPType = 2
	CoAPReset          CoAPType = 3
)

// CoAPCode is a message code, class (3 bits) and detail (5 bits): 2.01 is
// 2<<5 | 1.
type CoAPCode uint8

// The codes the LwM2M registration uses (RFC 7252 section 12.1).
const (
	CoAPEmpty   CoAPCode = 0
	CoAPGet     CoAPCode = 1
	CoAPPost    CoAPCode = 2
	CoAPCreated CoAPCode = 2<<5 | 1
	CoAPContent CoAPCode = 2<<5 | 5
)

// String is the code as RFC 7252 writes it, c.dd.
func (c CoAPCode) String() string { return fmt.Sprintf("%d.%02d", c>>5, c&0x1f) }

// The option numbers used here (RFC 7252 section 5.10).
const (
	CoAPOptionLocationPath  = 8
	CoAPOptionURIPath       = 11
	CoAPOptionContentFormat = 12
	CoAPOptionURIQuery      = 15
)

// CoAPLinkFormat is the Content-Format of application/link-format (RFC
// 7252 section 12.3), the payload of an LwM2M registration.
const CoAPLinkFormat = 40

// CoAPOption is one option; options of the same number keep their order.
type CoAPOption struct {
	Number uint16
	Value  []byte
}

// CoAPMessage is a CoAP message over UDP.
type CoAPMessage struct {
	Type      CoAPType
	Code      CoAPCode
	MessageID uint16
	Token     []byte
	Options   []CoAPOption
	Payload   []byte
}

// CoAPUint is the minimal big-endian encoding of an unsigned option value
// (RFC 7252 section 3.2: no leading zero bytes, 0 is empty).
func CoAPUint(v uint32) []byte {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], v)
	i := 0
	for i < 4 && b[i] == 0 {
		i++
	}
	return b[i:]
}

// Strings are the values of the options numbered n, in order.
func (m CoAPMessage) Strings(n uint16) []string {
	var s []string
	for _, o := range m.Options {
		if o.Number == n {
			s = append(s, string(o.Value))
		}
	}
	return s
}

// nibble splits an option delta or length into its 4-bit field and the
// extended bytes that follow the option's first byte.
func nibble(v int) (byte, []byte) {
	switch {
	case v < 13:
		return byte(v), nil
	case v < 269:
		return 13, []byte{byte(v - 13)}
	default:
		return 14, []byte{byte((v - 269) >> 8), byte(v - 269)}
	}
}

// Encode is the message's bytes. The options are sorted by number
// (stable: repeated options keep their order).
func (m CoAPMessage) Encode() ([]byte, error) {
	if len(m.Token) > 8 {
		return nil, fmt.Errorf("coap: token of %d bytes; allowed 0 to 8", len(m.Token))
	}
	if m.Type > CoAPReset {
		return nil, fmt.Errorf("coap: type %d; allowed 0 to 3", m.Type)
	}
	b := []byte{1<<6 | byte(m.Type)<<4 | byte(len(m.Token)), byte(m.Code), byte(m.MessageID >> 8), byte(m.MessageID)}
	b = append(b, m.Token...)
	opts := append([]CoAPOption(nil), m.Options...)
	sort.SliceStable(opts, func(i, j int) bool { return opts[i].Number < opts[j].Number })
	prev := 0
	for _, o := range opts {
		if len(o.Value) > 65535+269 {
			return nil, fmt.Errorf("coap: option %d of %d bytes; at most %d", o.Number, len(o.Value), 65535+269)
		}
		d, dext := nibble(int(o.Number) - prev)
		l, lext := nibble(len(o.Value))
		b = append(b, d<<4|l)
		b = append(b, dext...)
		b = append(b, lext...)
		b = append(b, o.Value...)
		prev = int(o.Number)
	}
	if len(m.Payload) > 0 {
		b = append(b, 0xff)
		b = append(b, m.Payload...)
	}
	return b, nil
}

// extended reads the value of a delta or length nibble.
func extended(n byte, b []byte) (int, []byte, error) {
	switch n {
	case 13:
		if len(b) < 1 {
			return 0, nil, errors.New("truncated extended option field")
		}
		return int(b[0]) + 13, b[1:], nil
	case 14:
		if len(b) < 2 {
			return 0, nil, errors.New("truncated extended option field")
		}
		return int(binary.BigEndian.Uint16(b)) + 269, b[2:], nil
	case 15:
		return 0, nil, errors.New("option nibble 15 is reserved outside the payload marker")
	}
	return int(n), b, nil
}

// DecodeCoAP parses a CoAP message; the error says what is malformed.
func DecodeCoAP(b []byte) (CoAPMessage, error) {
	var m CoAPMessage
	if len(b) < 4 {
		return m, fmt.Errorf("coap: %d bytes; the header alone is 4", len(b))
	}
	if v := b[0] >> 6; v != 1 {
		return m, fmt.Errorf("coap: version %d; want 1", v)
	}
	m.Type = CoAPType(b[0] >> 4 & 3)
	tkl := int(b[0] & 0x0f)
	if tkl > 8 {
		return m, fmt.Errorf("coap: token length %d; allowed 0 to 8", tkl)
	}
	m.Code = CoAPCode(b[1])
	m.MessageID = binary.BigEndian.Uint16(b[2:4])
	b = b[4:]
	if len(b) < tkl {
		return m, fmt.Errorf("coap: token of %d bytes, %d left", tkl, len(b))
	}
	m.Token = append([]byte(nil), b[:tkl]...)
	b = b[tkl:]
	num := 0
	for len(b) > 0 {
		if b[0] == 0xff {
			if len(b) == 1 {
				return m, errors.New("coap: payload marker without a payload")
			}
			m.Payload = append([]byte(nil), b[1:]...)
			break
		}
		d, l := b[0]>>4, b[0]&0x0f
		var delta, length int
		var err error
		if delta, b, err = extended(d, b[1:]); err != nil {
			return m, fmt.Errorf("coap: option after %d: %w", num, err)
		}
		if length, b, err = extended(l, b); err != nil {
			return m, fmt.Errorf("coap: option after %d: %w", num, err)
		}
		num += delta
		if num > 65535 {
			return m, fmt.Errorf("coap: option number %d; at most 65535", num)
		}
		if len(b) < length {
			return m, fmt.Errorf("coap: option %d of %d bytes, %d left", num, length, len(b))
		}
		m.Options = append(m.Options, CoAPOption{Number: uint16(num), Value: append([]byte(nil), b[:length]...)})
		b = b[length:]
	}
	return m, nil
}

// ErrCoAPNoAnswer is CoAPExchange's error when the retransmissions end
// without an acknowledgment or a reset.
var ErrCoAPNoAnswer = errors.New("no answer")

// RFC 7252 section 4.8: ACK_TIMEOUT 2 s, MAX_RETRANSMIT 4, the timeout
// doubling at each retransmission.
const (
	coapAckTimeout    = 2 * time.Second
	coapMaxRetransmit = 4
)

// LwM2MRegistration is the LwM2M 1.0 Register operation (OMA-TS-LightweightM2M
// V1.0, section 5.3.1 and 8.2.2): a confirmable POST to /rd with the
// endpoint name, lifetime and version as Uri-Query options and the
// client's objects as a link-format payload.
func LwM2MRegistration(endpoint string, lifetime int, objects []string, id uint16, token []byte) CoAPMessage {
	links := make([]string, len(objects))
	for i, o := range objects {
		links[i] = "<" + o + ">"
	}
	return CoAPMessage{
		Type: CoAPConfirmable, Code: CoAPPost, MessageID: id, Token: token,
		Options: []CoAPOption{
			{CoAPOptionURIPath, []byte("rd")},
			{CoAPOptionContentFormat, CoAPUint(CoAPLinkFormat)},
			{CoAPOptionURIQuery, []byte("ep=" + endpoint)},
			{CoAPOptionURIQuery, []byte(fmt.Sprintf("lt=%d", lifetime))},
			{CoAPOptionURIQuery, []byte("lwm2m=1.0")},
		},
		Payload: []byte(strings.Join(links, ",")),
	}
}

// CoAPExchange sends the confirmable request req to addr over UDP and
// returns its response: piggybacked on the ACK of req's message ID, or
// separate (an empty ACK, then a message with req's token, acknowledged
// when confirmable). The request is retransmitted as RFC 7252 section
// 4.2 says (2 s, doubling, 4 times) while neither comes; a Reset, or
// nothing within the retransmissions or ctx, is an error.
func CoAPExchange(ctx context.Context, addr string, req CoAPMessage) (CoAPMessage, error) {
	if req.Type != CoAPConfirmable {
		return CoAPMessage{}, fmt.Errorf("coap: exchange of a type %d message; only confirmable requests are retransmitted", req.Type)
	}
	raw, err := req.Encode()
	if err != nil {
		return CoAPMessage{}, err
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "udp", addr)
	if err != nil {
		return CoAPMessage{}, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	acked := false
	timeout := coapAckTimeout
	buf := make([]byte, 2048)
	for attempt := 0; ; attempt++ {
		if !acked {
			if _, err := conn.Write(raw); err != nil {
				return CoAPMessage{}, fmt.Errorf("coap: send to %s: %w", addr, err)
			}
		}
		deadline := time.Now().Add(timeout)
		if acked {
			// A separate response may take longer than the ACK
			// timeout; wait out the whole exchange lifetime's share.
			deadline = time.Now().Add(coapAckTimeout << coapMaxRetransmit)
		}
		conn.SetReadDeadline(deadline)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				if ctx.Err() != nil {
					return CoAPMessage{}, ctx.Err()
				}
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					break
				}
				// An ICMP port unreachable (nothing listens yet) reads
				// as a refused connection: wait for the next attempt.
				select {
				case <-ctx.Done():
					return CoAPMessage{}, ctx.Err()
				case <-time.After(time.Until(deadline)):
				}
				break
			}
			m, err := DecodeCoAP(buf[:n])
			if err != nil {
				continue // not CoAP: not ours
			}
			switch {
			case m.Type == CoAPReset && m.MessageID == req.MessageID:
				return m, fmt.Errorf("coap: %s reset message %#04x", addr, req.MessageID)
			case m.Type == CoAPAcknowledgment && m.MessageID == req.MessageID && m.Code == CoAPEmpty:
				acked = true
				conn.SetReadDeadline(time.Now().Add(coapAckTimeout << coapMaxRetransmit))
			case m.Type == CoAPAcknowledgment && m.MessageID == req.MessageID:
				if string(m.Token) != string(req.Token) {
					return m, fmt.Errorf("coap: %s acknowledged message %#04x with token %x; sent %x", addr, req.MessageID, m.Token, req.Token)
				}
				return m, nil
			case acked && (m.Type == CoAPConfirmable || m.Type == CoAPNonConfirmable) && string(m.Token) == string(req.Token) && m.Code != CoAPEmpty:
				if m.Type == CoAPConfirmable {
					ack, _ := CoAPMessage{Type: CoAPAcknowledgment, MessageID: m.MessageID}.Encode()
					if _, err := conn.Write(ack); err != nil {
						return m, fmt.Errorf("coap: acknowledge the response to %s: %w", addr, err)
					}
				}
				return m, nil
			}
		}
		if acked {
			return CoAPMessage{}, fmt.Errorf("coap: %s acknowledged message %#04x but sent no response", addr, req.MessageID)
		}
		if attempt == coapMaxRetransmit {
			return CoAPMessage{}, fmt.Errorf("coap: %w from %s to message %#04x after %d retransmissions", ErrCoAPNoAnswer, addr, req.MessageID, coapMaxRetransmit)
		}
		timeout *= 2
	}
}

// RegisterLwM2M registers the LwM2M client endpoint (lifetime in
// seconds, objects such as "/1/0" and "/3/0") at the CoAP server addr
// (host:port): the response must be 2.01 Created, and the returned
// location (its Location-Path options joined by "/") is where the
// registration lives.
func RegisterLwM2M(ctx context.Context, addr, endpoint string, lifetime int, objects []string) (string, error) {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	req := LwM2MRegistration(endpoint, lifetime, objects, binary.BigEndian.Uint16(b[:2]), b[2:])
	resp, err := CoAPExchange(ctx, addr, req)
	if err != nil {
		return "", fmt.Errorf("lwm2m register %s at %s: %w", endpoint, addr, err)
	}
	if resp.Code != CoAPCreated {
		return "", fmt.Errorf("lwm2m register %s at %s: response %s %q; want 2.01 Created", endpoint, addr, resp.Code, resp.Payload)
	}
	loc := resp.Strings(CoAPOptionLocationPath)
	if len(loc) == 0 {
		return "", fmt.Errorf("lwm2m register %s at %s: 2.01 Created without a Location-Path", endpoint, addr)
	}
	return "/" + strings.Join(loc, "/"), nil
}
