package alertmanager

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"

	montools "github.com/iotstack/iotstack/monitoring/tools"
	"github.com/iotstack/iotstack/stack"
	"github.com/iotstack/iotstack/stack/stacktest"
)

func allReceivers() Config {
	return Config{Receivers: Receivers{
		Webhook:   true,
		Slack:     &Slack{Channel: "#iot-alerts"},
		Email:     &Email{To: "ops@example.com", From: "alerts@example.com", Smarthost: "smtp.example.com:587", Username: "alerts"},
		Telegram:  &Telegram{ChatID: -1001234567890},
		Heartbeat: true,
	}}
}

func build(t *testing.T, cfg Config) (*Handle, *stack.Output) {
	t.Helper()
	var h *Handle
	_, out := stacktest.Build(t, func(s *stack.Stack) error {
		var err error
		h, err = New(s, cfg)
		return err
	})
	return h, out
}

func TestClusterAcrossZones(t *testing.T) {
	h, out := build(t, Config{})
	if len(h.Targets) != 3 {
		t.Fatalf("targets %v; want 3", h.Targets)
	}
	var set *appsv1.StatefulSet
	for _, r := range out.Objects {
		if s, ok := r.Object.(*appsv1.StatefulSet); ok {
			set = s
		}
	}
	if set == nil || *set.Spec.Replicas != 3 {
		t.Fatalf("StatefulSet %+v", set)
	}
	args := strings.Join(set.Spec.Template.Spec.Containers[0].Args, " ")
	for i := 0; i < 3; i++ {
		peer := "--cluster.peer=alertmanager-" + string(rune('0'+i)) + ".alertmanager-headless."
		if !strings.Contains(args, peer) {
			t.Errorf("args %s lack %s", args, peer)
		}
	}
	if sc := set.Spec.Template.Spec.SecurityContext; sc == nil || *sc.RunAsUser != 65534 {
		t.Errorf("pod security context %+v; want the image's nobody (65534)", sc)
	}
	if len(out.Secrets) != 0 {
		t.Errorf("secrets %+v declared without receivers", out.Secrets)
	}
}

func TestReceiversReadSecretsFromFiles(t *testing.T) {
	h, out := build(t, allReceivers())
	if len(out.Secrets) != 1 || out.Secrets[0].Name != "alertmanager-receivers" {
		t.Fatalf("secrets %+v; want alertmanager-receivers", out.Secrets)
	}
	var keys []string
	for _, k := range out.Secrets[0].Keys {
		keys = append(keys, k.Key)
		if k.Kind != stack.UserProvided {
			t.Errorf("key %s is %s; a receiver's secret is only the user's", k.Key, k.Kind)
		}
		if !strings.Contains(h.Config, secretDir+"/"+k.Key) {
			t.Errorf("config reads no file for key %s", k.Key)
		}
	}
	if got := strings.Join(keys, ","); got != "heartbeat-url,slack-api-url,smtp-password,telegram-bot-token,webhook-url" {
		t.Errorf("keys %s", got)
	}
	for _, setting := range []string{"url_file:", "api_url_file:", "auth_password_file:", "bot_token_file:"} {
		if !strings.Contains(h.Config, setting) {
			t.Errorf("config lacks %s", setting)
		}
	}
	for _, f := range out.Files {
		for _, bad := range []string{"api_url:", "bot_token:", "auth_password:", "  url:"} {
			if strings.Contains(string(f.Data), bad) {
				t.Errorf("%s holds an inline secret setting %s", f.Name, bad)
			}
		}
	}
	var mounted bool
	for _, r := range out.Objects {
		if s, ok := r.Object.(*appsv1.StatefulSet); ok {
			for _, v := range s.Spec.Template.Spec.Volumes {
				if v.Secret != nil && v.Secret.SecretName == "alertmanager-receivers" {
					mounted = true
				}
			}
		}
	}
	if !mounted {
		t.Error("the receivers' Secret is not mounted")
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Name: "Alert_Manager"}, `name "Alert_Manager" must be a DNS-1035 label`},
		{Config{Replicas: 12}, "replicas 12; allowed 1 to 9"},
		{Config{GroupWait: 1500 * time.Millisecond}, "groupWait 1.5s; allowed: a whole number of seconds"},
		{Config{GroupInterval: 5 * time.Hour}, "groupInterval 5h0m0s exceeds repeatInterval 4h0m0s"},
		{Config{Receivers: Receivers{Slack: &Slack{}}}, "receivers.slack.channel is empty"},
		{Config{Receivers: Receivers{Email: &Email{To: "a@b"}}}, "receivers.email.from is empty"},
		{Config{Receivers: Receivers{Telegram: &Telegram{}}}, "receivers.telegram.chatID is 0"},
	} {
		err := tc.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%+v) = %v; want %q", tc.cfg, err, tc.want)
		}
	}
}

// TestAmtool checks the configuration with every receiver with the real
// amtool 0.35 (check-config reads the *_file settings: the files exist
// here, relocated into a temporary directory) and walks the route tree.
func TestAmtool(t *testing.T) {
	tl := montools.ForTest(t)
	for _, tc := range []struct {
		name   string
		cfg    Config
		routes map[string][]string // receiver -> labels
	}{
		{"no receivers", Config{}, map[string][]string{
			ReceiverNotify:    {"alertname=RedisDown", "severity=warning"},
			ReceiverHeartbeat: {"alertname=Watchdog", "severity=none"},
			ReceiverNull:      {"alertname=Info", "severity=none"},
		}},
		{"every receiver", allReceivers(), map[string][]string{
			ReceiverNotify:    {"alertname=KafkaOfflinePartitions", "severity=critical", "namespace=thingsboard"},
			ReceiverHeartbeat: {"alertname=Watchdog", "severity=none"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := build(t, tc.cfg)
			dir := t.TempDir()
			secrets := filepath.Join(dir, "secrets")
			if err := os.MkdirAll(secrets, 0o755); err != nil {
				t.Fatal(err)
			}
			for _, k := range secretKeysOf(tc.cfg.Receivers) {
				value := "https://hooks.example.com/x"
				if k.Key == keySMTP || k.Key == keyTelegram {
					value = "not-a-real-credential"
				}
				if err := os.WriteFile(filepath.Join(secrets, k.Key), []byte(value), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			cfgFile := filepath.Join(dir, "alertmanager.yml")
			if err := os.WriteFile(cfgFile, []byte(strings.ReplaceAll(h.Config, secretDir+"/", secrets+"/")), 0o644); err != nil {
				t.Fatal(err)
			}
			amtool(t, tl.Amtool, "check-config", cfgFile)
			for recv, labels := range tc.routes {
				amtool(t, tl.Amtool, append([]string{"config", "routes", "test", "--config.file=" + cfgFile, "--verify.receivers=" + recv}, labels...)...)
			}
		})
	}
}

func amtool(t *testing.T, prog string, args ...string) {
	t.Helper()
	out, err := exec.Command(prog, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("amtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// FuzzConfig: any configuration is refused with an error or synthesizes.
func FuzzConfig(f *testing.F) {
	f.Add("alertmanager", int32(3), int64(30), int64(300), int64(14400), "#a", "to", "from", "h:25", int64(5), true)
	f.Add("", int32(0), int64(0), int64(0), int64(0), "", "", "", "", int64(0), false)
	f.Add("AM", int32(-1), int64(-5), int64(1), int64(0), "", "x", "", "", int64(-1), true)
	f.Fuzz(func(t *testing.T, name string, replicas int32, wait, interval, repeat int64, channel, to, from, host string, chat int64, hook bool) {
		cfg := Config{Name: name, Replicas: replicas, GroupWait: time.Duration(wait) * time.Second,
			GroupInterval: time.Duration(interval) * time.Second, RepeatInterval: time.Duration(repeat) * time.Second}
		cfg.Receivers.Webhook, cfg.Receivers.Heartbeat = hook, hook
		if channel != "" {
			cfg.Receivers.Slack = &Slack{Channel: channel}
		}
		if to != "" || from != "" || host != "" {
			cfg.Receivers.Email = &Email{To: to, From: from, Smarthost: host}
		}
		if chat != 0 {
			cfg.Receivers.Telegram = &Telegram{ChatID: chat}
		}
		stacktest.AcceptedSynthesizes(t, func(s *stack.Stack) error { _, err := New(s, cfg); return err })
	})
}
