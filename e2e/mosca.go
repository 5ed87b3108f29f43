package e2e

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"time"

	"k8s.io/client-go/rest"

	"github.com/iotstack/iotstack/components/dojot"
)

// Mosca's conventions, from dojot/iotagent-mosca v0.5.0 src/mosca.js (the
// image dojot/iotagent-mosca:<version> the small profile runs; 100k's
// v0.5.0-alpha.4 is refused for Mosca by checkAgents):
//   - parseClientIdOrTopic takes tenant and device from a client id
//     matching ^(\w+):(\w+)$, or else from a topic /<tenant>/<device>/...;
//   - authenticate ignores user name and password: it accepts a client
//     whose id names a device device-manager knows (agent.getDevice), over
//     TLS only when the client certificate's CN is <tenant>:<device>;
//   - _checkAuthorization lets that client publish to exactly
//     /<tenant>/<device>/attrs and subscribe to exactly
//     /<tenant>/<device>/config;
//   - _processMessage parses the payload as JSON and hands it to the
//     agent (iotagent-nodejs updateAttrs), which writes it to dojot's
//     device-data subject in Kafka, where persister stores every attribute
//     in MongoDB and history serves it.
//
// Mosca listens for MQTTS on 8883 requiring a client certificate, and for
// plain MQTT on 1883 only with ALLOW_UNSECURED_MODE (insecureMQTT).

// moscaID is one \w+ token of Mosca's client id.
var moscaID = regexp.MustCompile(`^\w+$`)

// MoscaClientID is the client id Mosca identifies a device by,
// <tenant>:<device>; an error when either part is not a \w+ token (Mosca
// would then accept a plain connection without a device and refuse a TLS
// one).
func MoscaClientID(tenant, device string) (string, error) {
	for _, p := range [][2]string{{"tenant", tenant}, {"device", device}} {
		if !moscaID.MatchString(p[1]) {
			return "", fmt.Errorf("mosca: %s %q; Mosca reads <tenant>:<device> from the client id with ^(\\w+):(\\w+)$, so it must be letters, digits and underscores", p[0], p[1])
		}
	}
	return tenant + ":" + device, nil
}

// MoscaTopic is the topic Mosca lets a device publish its data to (kind
// "attrs") or subscribe to its actuations on (kind "config"):
// /<tenant>/<device>/<kind>. VerneMQ's are <tenant>:<device>/<kind>.
func MoscaTopic(tenant, device, kind string) string {
	return "/" + tenant + "/" + device + "/" + kind
}

// Template creates a device template with one dynamic float attribute,
// the way a user does before creating devices: POST /template answers 200
// {"result": "ok", "template": {"id": <int>, ...}} (dojot/device-manager
// v0.5.0 DeviceManager/TemplateHandler.py flask_create_template and
// create_template; SerializationModels.py TemplateSchema: id an integer;
// Kong routes /template to device-manager, components/dojot/kong.go).
func (d *DojotAPI) Template(ctx context.Context, label, attr string) (int, error) {
	var resp struct {
		Result   string `json:"result"`
		Template struct {
			ID int `json:"id"`
		} `json:"template"`
	}
	in := map[string]any{"label": label, "attrs": []map[string]string{{"label": attr, "type": "dynamic", "value_type": "float"}}}
	if err := d.call(ctx, http.MethodPost, "/template", http.StatusOK, in, &resp); err != nil {
		return 0, fmt.Errorf("device-manager: create template %s: %w", label, err)
	}
	if resp.Result != "ok" || resp.Template.ID == 0 {
		return 0, fmt.Errorf("device-manager: create template %s: result %q, template id %d", label, resp.Result, resp.Template.ID)
	}
	return resp.Template.ID, nil
}

// Device creates a device of the template and returns its id: POST
// /device {"label", "templates": [id]} answers 200 {"message": "devices
// created", "devices": [{"id", "label"}]} (dojot/device-manager v0.5.0
// DeviceManager/DeviceHandler.py flask_create_device, create_device with
// the default count 1; DeviceSchema.templates, nested template ids).
func (d *DojotAPI) Device(ctx context.Context, label string, template int) (string, error) {
	var resp struct {
		Devices []struct {
			ID string `json:"id"`
		} `json:"devices"`
	}
	in := map[string]any{"label": label, "templates": []int{template}}
	if err := d.call(ctx, http.MethodPost, "/device", http.StatusOK, in, &resp); err != nil {
		return "", fmt.Errorf("device-manager: create device %s: %w", label, err)
	}
	if len(resp.Devices) != 1 || resp.Devices[0].ID == "" {
		return "", fmt.Errorf("device-manager: create device %s: %d devices in the answer, want 1 with an id", label, len(resp.Devices))
	}
	return resp.Devices[0].ID, nil
}

// errNoHistory is history's 404 for an attribute without data yet.
var errNoHistory = errors.New("no history yet")

// LastValue reads the newest stored value of a device's attribute: GET
// /history/device/<id>/history?lastN=1&attr=<attr> (Kong strips /history)
// answers 200 with [{"attr", "value", "ts", ...}], newest first, or 404
// while nothing is stored (dojot/history v0.5.0 history/app.py route
// /device/{device_id}/history; history/api/models.py DeviceHistory.on_get
// with a single attr: HTTPNotFound "Attr not found" for no data,
// parse_request: lastN with the newest first). The value is returned as
// its JSON text.
func (d *DojotAPI) LastValue(ctx context.Context, device, attr string) (string, error) {
	path := "/history/device/" + url.PathEscape(device) + "/history?lastN=1&attr=" + url.QueryEscape(attr)
	var rows []struct {
		Attr  string          `json:"attr"`
		Value json.RawMessage `json:"value"`
	}
	err := d.call(ctx, http.MethodGet, path, http.StatusOK, nil, &rows)
	var status *statusError
	if errors.As(err, &status) && status.code == http.StatusNotFound {
		return "", errNoHistory
	}
	if err != nil {
		return "", fmt.Errorf("history: %w", err)
	}
	if len(rows) == 0 {
		return "", errNoHistory
	}
	return string(rows[0].Value), nil
}

// SmokeMosca is the MQTT check through Mosca: the device (created in
// device-manager beforehand, as Mosca admits only known devices)
// connects as <tenant>:<device> (with tlsCfg over MQTTS, presenting the
// certificate x509-identity-mgmt issued for it), publishes a unique value
// of attr to /<tenant>/<device>/attrs with QoS 1, and the value must come
// back from history: Mosca → Kafka device-data → persister → MongoDB →
// history, dojot's data path, within timeout.
func SmokeMosca(ctx context.Context, api *DojotAPI, broker string, tlsCfg *tls.Config, tenant, device, attr string, timeout time.Duration) error {
	id, err := MoscaClientID(tenant, device)
	if err != nil {
		return err
	}
	value := strconv.FormatInt(time.Now().UnixNano()%1000000, 10)
	payload, err := json.Marshal(map[string]json.Number{attr: json.Number(value)})
	if err != nil {
		return err
	}
	topic := MoscaTopic(tenant, device, "attrs")
	if err := publish(ctx, broker, tlsCfg, id, id, "", topic, payload); err != nil {
		return fmt.Errorf("mosca: %w", err)
	}
	deadline := time.Now().Add(timeout)
	last := ""
	for {
		got, err := api.LastValue(ctx, device, attr)
		switch {
		case err == nil && got == value:
			return nil
		case err == nil:
			last = got
		case !errors.Is(err, errNoHistory):
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("mosca: the value %s published to %s as %s did not reach history within %s (last stored %q)", value, topic, id, timeout, last)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

// moscaSmokeAttr is the attribute the Mosca check publishes.
const moscaSmokeAttr = "iotstackSmoke"

// smokeDojotMosca is dojot's check when the agents include Mosca: log in
// through Kong as the default administrator, create a template and a
// device (Mosca admits only devices device-manager knows), publish over
// plain MQTT (1883, when insecure MQTT serves it) and over MQTTS (8883,
// with the certificate x509-identity-mgmt signs for the device and the
// broker's certificate verified for DojotDomain, the name in Mosca's
// MOSCA_TLS_DNS_LIST) and read each value back from history.
func smokeDojotMosca(ctx context.Context, cfg *rest.Config, ns string, insecure bool, log io.Writer) error {
	api, stop1, err := dojotAdmin(ctx, cfg, ns)
	if err != nil {
		return err
	}
	defer stop1()
	tpl, err := api.Template(ctx, "iotstack-e2e", moscaSmokeAttr)
	if err != nil {
		return err
	}
	device, err := api.Device(ctx, "iotstack-e2e-mosca", tpl)
	if err != nil {
		return err
	}
	sel := "app.kubernetes.io/name=" + dojot.IoTAgentMosca
	if insecure {
		broker, stop, err := forward(ctx, cfg, ns, sel, 1883)
		if err != nil {
			return err
		}
		defer stop()
		if err := SmokeMosca(ctx, api, "tcp://"+broker, nil, DojotTenant, device, moscaSmokeAttr, 2*time.Minute); err != nil {
			return err
		}
		fmt.Fprintf(log, "smoke: a value published to Mosca over MQTT as %s:%s reached history\n", DojotTenant, device)
	}
	caPEM, err := api.CA(ctx)
	if err != nil {
		return err
	}
	cert, err := api.DeviceCertificate(ctx, DojotTenant, device)
	if err != nil {
		return err
	}
	tlsCfg, err := ClientTLS(caPEM, DojotDomain, &cert)
	if err != nil {
		return err
	}
	broker, stop2, err := forward(ctx, cfg, ns, sel, 8883)
	if err != nil {
		return err
	}
	defer stop2()
	if err := SmokeMosca(ctx, api, "ssl://"+broker, tlsCfg, DojotTenant, device, moscaSmokeAttr, 2*time.Minute); err != nil {
		return fmt.Errorf("mqtts: %w", err)
	}
	fmt.Fprintf(log, "smoke: a value published to Mosca over MQTTS as %s:%s with the certificate x509-identity-mgmt issued reached history; Mosca's certificate verified for %s\n", DojotTenant, device, DojotDomain)
	return nil
}
