package apply

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/iotstack/iotstack/stack"
)

func TestGenerate(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 100; i++ {
		p, err := Generate(stack.SecretKey{Key: "password", Kind: stack.RandomPassword})
		if err != nil {
			t.Fatal(err)
		}
		if len(p) != 32 || strings.Trim(p, passwordAlphabet) != "" || seen[p] {
			t.Fatalf("password %q: want 32 fresh characters of [A-Za-z0-9]", p)
		}
		seen[p] = true
	}
	if p, _ := Generate(stack.SecretKey{Kind: stack.RandomPassword, Length: 64}); len(p) != 64 {
		t.Fatalf("length 64: %q", p)
	}
	id, err := Generate(stack.SecretKey{Kind: stack.ClusterID})
	if err != nil {
		t.Fatal(err)
	}
	if b, err := base64.RawURLEncoding.DecodeString(id); err != nil || len(id) != 22 || len(b) != 16 {
		t.Fatalf("cluster ID %q: want 16 bytes as 22 base64url characters (%v)", id, err)
	}
	for _, bad := range []stack.SecretKey{{Kind: "uuid"}, {Kind: stack.RandomPassword, Length: 8}} {
		if _, err := Generate(bad); err == nil {
			t.Errorf("%+v: want an error", bad)
		}
	}
}

func TestLineDiff(t *testing.T) {
	a := strings.Split("a\nb\nc\nd\ne\nf\ng", "\n")
	b := strings.Split("a\nb\nc\nD\ne\nf\ng\nh", "\n")
	got := lineDiff(a, b, 1)
	want := "  ' c\n  - d\n  + D\n  ' e\n    ...\n  ' g\n  + h\n"
	want = strings.ReplaceAll(want, "'", " ")
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	if lineDiff(a, a, 2) != "" {
		t.Fatal("equal inputs must give no diff")
	}
}

// A user-provided key (a receiver's URL) is never invented: applying
// without the user's Secret fails naming the key.
func TestGenerateRefusesUserProvided(t *testing.T) {
	v, err := Generate(stack.SecretKey{Key: "slack-api-url", Kind: stack.UserProvided})
	if err == nil || v != "" || !strings.Contains(err.Error(), "slack-api-url") || !strings.Contains(err.Error(), "create the Secret") {
		t.Fatalf("Generate = %q, %v; want an error naming the key and asking for the Secret", v, err)
	}
}
