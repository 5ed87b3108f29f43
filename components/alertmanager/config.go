package alertmanager

import (
	"sort"

	"sigs.k8s.io/yaml"

	"github.com/iotstack/iotstack/stack"
)

// The Secret keys the receivers read (files under secretDir). Setting
// names are those of prometheus/alertmanager v0.35.0: notify/webhook/config.go
// url_file, notify/slack/config.go api_url_file, notify/email/config.go
// auth_password_file, notify/telegram/config.go bot_token_file.
const (
	keyWebhook   = "webhook-url"
	keySlack     = "slack-api-url"
	keySMTP      = "smtp-password"
	keyTelegram  = "telegram-bot-token"
	keyHeartbeat = "heartbeat-url"
)

// Receiver names in the rendered configuration; the route tree test
// (amtool config routes test) checks which one an alert reaches.
const (
	// ReceiverNotify gets the critical and warning alerts.
	ReceiverNotify = "notify"
	// ReceiverHeartbeat gets the Watchdog.
	ReceiverHeartbeat = "heartbeat"
	// ReceiverNull drops what it gets (severity none other than the
	// Watchdog, and everything when no receiver is configured).
	ReceiverNull = "null"
)

func secretKeysOf(r Receivers) []stack.SecretKey {
	var keys []string
	if r.Webhook {
		keys = append(keys, keyWebhook)
	}
	if r.Slack != nil {
		keys = append(keys, keySlack)
	}
	if r.Email != nil {
		keys = append(keys, keySMTP)
	}
	if r.Telegram != nil {
		keys = append(keys, keyTelegram)
	}
	if r.Heartbeat {
		keys = append(keys, keyHeartbeat)
	}
	sort.Strings(keys)
	out := make([]stack.SecretKey, len(keys))
	for i, k := range keys {
		out[i] = stack.SecretKey{Key: k, Kind: stack.UserProvided}
	}
	return out
}

type amConfig struct {
	Route        amRoute     `json:"route"`
	InhibitRules []amInhibit `json:"inhibit_rules"`
	Receivers    []amRecv    `json:"receivers"`
}

type amRoute struct {
	Receiver       string    `json:"receiver"`
	GroupBy        []string  `json:"group_by,omitempty"`
	Matchers       []string  `json:"matchers,omitempty"`
	GroupWait      string    `json:"group_wait,omitempty"`
	GroupInterval  string    `json:"group_interval,omitempty"`
	RepeatInterval string    `json:"repeat_interval,omitempty"`
	Continue       bool      `json:"continue,omitempty"`
	Routes         []amRoute `json:"routes,omitempty"`
}

type amInhibit struct {
	SourceMatchers []string `json:"source_matchers"`
	TargetMatchers []string `json:"target_matchers"`
	Equal          []string `json:"equal"`
}

type amRecv struct {
	Name     string           `json:"name"`
	Webhook  []map[string]any `json:"webhook_configs,omitempty"`
	Slack    []map[string]any `json:"slack_configs,omitempty"`
	Email    []map[string]any `json:"email_configs,omitempty"`
	Telegram []map[string]any `json:"telegram_configs,omitempty"`
}

// renderConfig renders alertmanager.yml from a defaulted Config.
func renderConfig(cfg Config) (string, error) {
	r := cfg.Receivers
	file := func(key string) string { return secretDir + "/" + key }
	notify := amRecv{Name: ReceiverNotify}
	if r.Webhook {
		notify.Webhook = append(notify.Webhook, map[string]any{"url_file": file(keyWebhook), "send_resolved": true})
	}
	if s := r.Slack; s != nil {
		notify.Slack = append(notify.Slack, map[string]any{"api_url_file": file(keySlack), "channel": s.Channel, "send_resolved": true})
	}
	if e := r.Email; e != nil {
		m := map[string]any{"to": e.To, "from": e.From, "smarthost": e.Smarthost, "auth_password_file": file(keySMTP), "send_resolved": true}
		if e.Username != "" {
			m["auth_username"] = e.Username
		}
		notify.Email = append(notify.Email, m)
	}
	if t := r.Telegram; t != nil {
		notify.Telegram = append(notify.Telegram, map[string]any{"bot_token_file": file(keyTelegram), "chat_id": t.ChatID, "send_resolved": true})
	}
	heartbeat := amRecv{Name: ReceiverHeartbeat}
	if r.Heartbeat {
		heartbeat.Webhook = append(heartbeat.Webhook, map[string]any{"url_file": file(keyHeartbeat), "send_resolved": false})
	}
	c := amConfig{
		Route: amRoute{
			Receiver:       ReceiverNull,
			GroupBy:        []string{"alertname", "namespace", "component"},
			GroupWait:      stack.PromDuration(cfg.GroupWait),
			GroupInterval:  stack.PromDuration(cfg.GroupInterval),
			RepeatInterval: stack.PromDuration(cfg.RepeatInterval),
			Routes: []amRoute{
				// The Watchdog fires always; the heartbeat receiver must
				// hear it every minute, or the outside switch raises the
				// alarm that the alerting pipeline is down.
				{Receiver: ReceiverHeartbeat, Matchers: []string{`alertname="Watchdog"`}, GroupWait: "0s", GroupInterval: "1m", RepeatInterval: "1m"},
				{Receiver: ReceiverNotify, Matchers: []string{`severity="critical"`}, RepeatInterval: "1h"},
				{Receiver: ReceiverNotify, Matchers: []string{`severity="warning"`}},
			},
		},
		// A critical alert silences the warnings of the same component in
		// the same namespace: a quorum lost needs no "quorum at risk".
		InhibitRules: []amInhibit{{
			SourceMatchers: []string{`severity="critical"`},
			TargetMatchers: []string{`severity="warning"`},
			Equal:          []string{"namespace", "component"},
		}},
		Receivers: []amRecv{{Name: ReceiverNull}, notify, heartbeat},
	}
	b, err := yaml.Marshal(c)
	if err != nil {
		return "", err
	}
	return string(b), nil
}
