package thingsboard

import (
	"os"
	"os/exec"
	"testing"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o755); err != nil {
		t.Fatal(err)
	}
}

func runBash(t *testing.T, script string, env ...string) error {
	t.Helper()
	cmd := exec.Command("bash", "-c", script)
	cmd.Env = env
	return cmd.Run()
}
