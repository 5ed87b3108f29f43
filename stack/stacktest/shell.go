package stacktest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/iotstack/iotstack/stack"
)

// CheckScripts parses every *.sh value of the output's ConfigMaps with
// `bash -n`, so a syntax error in a generated script fails the tests
// instead of a pod. It skips when bash is not installed.
func CheckScripts(t testing.TB, out *stack.Output) {
	t.Helper()
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash not installed")
	}
	dir := t.TempDir()
	n := 0
	for _, o := range out.Objects {
		cm, ok := o.Object.(*corev1.ConfigMap)
		if !ok {
			continue
		}
		for key, script := range cm.Data {
			if !strings.HasSuffix(key, ".sh") {
				continue
			}
			n++
			p := filepath.Join(dir, cm.Name+"-"+key)
			if err := os.WriteFile(p, []byte(script), 0o644); err != nil {
				t.Fatal(err)
			}
			if msg, err := exec.Command(bash, "-n", p).CombinedOutput(); err != nil {
				t.Errorf("ConfigMap %s key %s: bash -n: %v\n%s", cm.Name, key, err, msg)
			}
			if !strings.HasPrefix(script, "#!/bin/bash\n") && !strings.HasPrefix(script, "#!/bin/sh\n") {
				t.Errorf("ConfigMap %s key %s has no #!/bin/bash or #!/bin/sh line", cm.Name, key)
			}
		}
	}
	if n == 0 {
		t.Errorf("no scripts found to check")
	}
}
