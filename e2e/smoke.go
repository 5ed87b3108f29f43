package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// ThingsBoard is a client of ThingsBoard's REST API (tb-core's port 8080)
// and MQTT device API (tb-mqtt-transport's port 1883).
type ThingsBoard struct {
	// REST is the base URL of the REST API ("http://127.0.0.1:18080").
	REST string
	// MQTT is the broker address ("tcp://127.0.0.1:11883", or
	// "ssl://127.0.0.1:18883" for MQTTS).
	MQTT string
	// TLS configures MQTTS (the CA and server name the transport's
	// certificate is verified against); nil means plain MQTT.
	TLS *tls.Config
	// HTTP is the HTTP client; nil means one with a 10 s timeout.
	HTTP  *http.Client
	token string
}

func (tb *ThingsBoard) http() *http.Client {
	if tb.HTTP != nil {
		return tb.HTTP
	}
	return &http.Client{Timeout: 10 * time.Second}
}

// call sends a JSON request and decodes a JSON answer into out (if not nil);
// any status but 200 is an error carrying the body.
func (tb *ThingsBoard) call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(tb.REST, "/")+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if tb.token != "" {
		req.Header.Set("X-Authorization", "Bearer "+tb.token)
	}
	resp, err := tb.http().Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(b)))
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return nil
}

// Login authenticates (POST /api/auth/login) and keeps the JWT.
func (tb *ThingsBoard) Login(ctx context.Context, user, password string) error {
	var resp struct{ Token string }
	if err := tb.call(ctx, http.MethodPost, "/api/auth/login", map[string]string{"username": user, "password": password}, &resp); err != nil {
		return err
	}
	if resp.Token == "" {
		return fmt.Errorf("login as %s: no token in the answer", user)
	}
	tb.token = resp.Token
	return nil
}

// Device creates a device (POST /api/device) and returns its id and MQTT
// access token (GET /api/device/{id}/credentials).
func (tb *ThingsBoard) Device(ctx context.Context, name string) (id, accessToken string, err error) {
	var dev struct {
		ID struct{ ID string } `json:"id"`
	}
	if err := tb.call(ctx, http.MethodPost, "/api/device", map[string]any{"name": name, "type": "default"}, &dev); err != nil {
		return "", "", err
	}
	var cred struct {
		CredentialsType string `json:"credentialsType"`
		CredentialsID   string `json:"credentialsId"`
	}
	if err := tb.call(ctx, http.MethodGet, "/api/device/"+dev.ID.ID+"/credentials", nil, &cred); err != nil {
		return "", "", err
	}
	if cred.CredentialsType != "ACCESS_TOKEN" || cred.CredentialsID == "" {
		return "", "", fmt.Errorf("device %s: credentials %q, want an access token", name, cred.CredentialsType)
	}
	return dev.ID.ID, cred.CredentialsID, nil
}

// Publish sends one telemetry message as the device: MQTT, user name =
// access token, topic v1/devices/me/telemetry, QoS 1.
func (tb *ThingsBoard) Publish(ctx context.Context, accessToken string, telemetry map[string]any) error {
	payload, err := json.Marshal(telemetry)
	if err != nil {
		return err
	}
	return publish(ctx, tb.MQTT, tb.TLS, "iotstack-smoke", accessToken, "", "v1/devices/me/telemetry", payload)
}

// Latest reads the latest value of a telemetry key
// (GET /api/plugins/telemetry/DEVICE/{id}/values/timeseries).
func (tb *ThingsBoard) Latest(ctx context.Context, deviceID, key string) (string, bool, error) {
	var ts map[string][]struct {
		Value any `json:"value"`
	}
	if err := tb.call(ctx, http.MethodGet, "/api/plugins/telemetry/DEVICE/"+deviceID+"/values/timeseries?keys="+key, nil, &ts); err != nil {
		return "", false, err
	}
	if len(ts[key]) == 0 {
		return "", false, nil
	}
	return fmt.Sprint(ts[key][0].Value), true, nil
}

// SmokeThingsBoard is the ThingsBoard round trip: log in as the demo
// tenant administrator, create a device, publish a unique value over MQTT
// and read it back over REST within the timeout.
func SmokeThingsBoard(ctx context.Context, tb *ThingsBoard, timeout time.Duration) error {
	if err := tb.Login(ctx, "tenant@thingsboard.org", "tenant"); err != nil {
		return err
	}
	id, token, err := tb.Device(ctx, fmt.Sprintf("iotstack-smoke-%d", time.Now().UnixNano()))
	if err != nil {
		return err
	}
	want := fmt.Sprint(time.Now().UnixNano() % 1000000)
	if err := tb.Publish(ctx, token, map[string]any{"iotstackSmoke": want}); err != nil {
		return err
	}
	deadline := time.Now().Add(timeout)
	for {
		got, ok, err := tb.Latest(ctx, id, "iotstackSmoke")
		if err != nil {
			return err
		}
		if ok && got == want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("telemetry published over MQTT not readable over REST after %s (last %q, want %q)", timeout, got, want)
		}
		time.Sleep(time.Second)
	}
}

// publish connects (over TLS with tlsCfg when not nil), publishes one
// message with QoS 1 and disconnects.
func publish(ctx context.Context, broker string, tlsCfg *tls.Config, clientID, user, password, topic string, payload []byte) error {
	c := mqtt.NewClient(clientOptions(broker, tlsCfg, clientID, user).SetPassword(password))
	if err := wait(ctx, c.Connect()); err != nil {
		return fmt.Errorf("mqtt connect to %s as %s: %w", broker, clientID, err)
	}
	defer c.Disconnect(250)
	if err := wait(ctx, c.Publish(topic, 1, false, payload)); err != nil {
		return fmt.Errorf("mqtt publish to %s: %w", topic, err)
	}
	return nil
}

// clientOptions are the options of a smoke client: no reconnects, a
// bounded connect, and the TLS configuration when given (then the broker
// address must be ssl://, paho's scheme for MQTT over TLS).
func clientOptions(broker string, tlsCfg *tls.Config, clientID, user string) *mqtt.ClientOptions {
	opts := mqtt.NewClientOptions().AddBroker(broker).SetClientID(clientID).SetUsername(user).
		SetConnectTimeout(10 * time.Second).SetAutoReconnect(false).SetConnectRetry(false)
	if tlsCfg != nil {
		opts.SetTLSConfig(tlsCfg)
	}
	return opts
}

func wait(ctx context.Context, t mqtt.Token) error {
	select {
	case <-t.Done():
		return t.Error()
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(15 * time.Second):
		return fmt.Errorf("no answer within 15 s")
	}
}

// SmokeDojot is dojot's MQTT round trip. The device connects as
// <tenant>:<device> (dojot's client-id convention), subscribes to its
// actuation topic <tenant>:<device>/config and publishes a unique value to
// its data topic <tenant>:<device>/attrs. With loopback (the 100k profile's
// kafka-loopback), the value must come back on /config: VerneMQ →
// v2k-bridge → Kafka device-data → kafka-loopback → device-manager topic →
// k2v-bridge → VerneMQ. Without it, a second connection subscribed to
// /attrs must receive it (the broker path only). With tlsCfg (MQTTS on
// 8883, broker ssl://...) both connections present its client
// certificate, whose CN VerneMQ takes as the user name, and verify the
// broker's certificate as tlsCfg says.
func SmokeDojot(ctx context.Context, broker string, tlsCfg *tls.Config, tenant, device string, loopback bool, timeout time.Duration) error {
	id := tenant + ":" + device
	data, actuation := id+"/attrs", id+"/config"
	listen, clientID := actuation, id
	if !loopback {
		listen, clientID = data, id+"-reader"
	}
	got := make(chan []byte, 1)
	sub := mqtt.NewClient(clientOptions(broker, tlsCfg, clientID, id))
	if err := wait(ctx, sub.Connect()); err != nil {
		return fmt.Errorf("mqtt connect to %s as %s: %w", broker, clientID, err)
	}
	defer sub.Disconnect(250)
	if err := wait(ctx, sub.Subscribe(listen, 1, func(_ mqtt.Client, m mqtt.Message) {
		select {
		case got <- m.Payload():
		default:
		}
	})); err != nil {
		return fmt.Errorf("mqtt subscribe %s: %w", listen, err)
	}
	value := fmt.Sprint(time.Now().UnixNano() % 1000000)
	payload := []byte(`{"iotstackSmoke":` + value + `}`)
	if loopback {
		// Publish on the subscribing connection: it is the device.
		if err := wait(ctx, sub.Publish(data, 1, false, payload)); err != nil {
			return fmt.Errorf("mqtt publish to %s: %w", data, err)
		}
	} else if err := publish(ctx, broker, tlsCfg, id, id, "", data, payload); err != nil {
		return err
	}
	select {
	case b := <-got:
		if !strings.Contains(string(b), value) {
			return fmt.Errorf("read back %q on %s, want the value %s", b, listen, value)
		}
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("the value published to %s did not come back on %s within %s", data, listen, timeout)
	case <-ctx.Done():
		return ctx.Err()
	}
}
