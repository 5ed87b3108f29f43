package stacktest

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/iotstack/iotstack/stack"
)

// recorder is a testing.TB that records failures instead of failing.
type recorder struct {
	testing.TB
	msgs []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.msgs = append(r.msgs, fmt.Sprintf(format, args...))
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	runtime.Goexit()
}
func (r *recorder) Fatal(args ...any) { r.Fatalf("%s", fmt.Sprint(args...)) }

func golden(t *testing.T, dir string, out *stack.Output, update bool) []string {
	r := &recorder{TB: t}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		Golden(r, dir, out, update, "HOW")
	}()
	wg.Wait()
	return r.msgs
}

func TestGolden(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "g")
	out := &stack.Output{Files: []stack.File{{Name: "a.yaml", Data: []byte("x: 1\n")}, {Name: "b.yaml", Data: []byte("y: 2\n")}}}
	if msgs := golden(t, dir, out, false); len(msgs) != 1 || !strings.Contains(msgs[0], "reading "+dir) {
		t.Fatalf("missing dir: %v", msgs)
	}
	if msgs := golden(t, dir, out, true); len(msgs) != 0 {
		t.Fatalf("after update: %v", msgs)
	}
	if err := os.WriteFile(filepath.Join(dir, "a.yaml"), []byte("x: 9\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "stale.yaml"), []byte("z: 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "b.yaml")); err != nil {
		t.Fatal(err)
	}
	msgs := strings.Join(golden(t, dir, out, false), "\n")
	for _, want := range []string{
		"/a.yaml differs from synthesis (-golden +synth)", `"x: 9"`, `"x: 1"`,
		"/b.yaml is synthesized but missing; HOW",
		"/stale.yaml is no longer synthesized; HOW",
	} {
		if !strings.Contains(msgs, want) {
			t.Errorf("failures do not mention %q:\n%s", want, msgs)
		}
	}
}
