package drill

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// needDrill skips (or, with IOTSTACK_REQUIRE_TOOLS set, fails) when the
// drill cannot run here.
func needDrill(t *testing.T, programs ...string) {
	t.Helper()
	err := Preflight()
	for _, p := range programs {
		if err == nil {
			if _, e := os.Stat(p); e != nil {
				err = e
			}
		}
	}
	if err != nil {
		if os.Getenv("IOTSTACK_REQUIRE_TOOLS") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
}

func newHarness(t *testing.T) *Harness {
	t.Helper()
	h, err := NewHarness(testLog{t})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := h.Close(); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return h
}

type testLog struct{ t *testing.T }

func (l testLog) Write(b []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

func TestZooKeeperZoneLoss(t *testing.T) {
	needDrill(t, zkDebianBin+"/zkServer.sh")
	r, err := Render("minimal-3az")
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	res, err := ZooKeeperDrill(ctx, h, r, "zookeeper")
	if err != nil {
		t.Fatal(err)
	}
	t.Log(res)
	if res.Lost != 0 || res.Acknowledged == 0 || len(res.Killed) != 1 {
		t.Errorf("unexpected result: %+v", res)
	}
}
