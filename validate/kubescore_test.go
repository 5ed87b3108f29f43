package validate

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/iotstack/iotstack/profiles"
)

// kubeScoreVersion is the kube-score the yardstick runs (go install).
const kubeScoreVersion = "v1.20.0"

// kubeScoreAccepted are the CRITICAL kube-score checks left on purpose,
// each with the reason the README's validation section gives; a check
// limited to some objects lists them.
var kubeScoreAccepted = map[string]struct {
	reason  string
	objects []string
}{
	"container-image-pull-policy":                       {reason: "tags are pinned; IfNotPresent (the default for a tag) keeps a restart independent of the registry, which Always would make every restart during a zone outage depend on"},
	"container-security-context-user-group-id":          {reason: "the maintained images run as their own users (Kafka and ZooKeeper 1000, Valkey and Cassandra 999, Spilo 101, ThingsBoard 799, ...); another UID breaks ownership inside the image; runAsNonRoot and Pod Security restricted hold"},
	"container-security-context-readonlyrootfilesystem": {reason: "only images that write their configuration in place keep a writable root (Spilo, the Cassandra exporter, VerneMQ, EJBCA, dojot's images); every other container is read-only"},
	"pod-probes-identical":                              {reason: "services whose only health signal is their listening port (PgBouncer, dojot's Node.js and Python services)"},
	"pod-probes":                                        {reason: "dojot's bridges, persister and kafka2ftp serve no port to probe (documented exceptions of the probes rule)"},
	"service-targets-pod":                               {reason: "the read-only PostgreSQL Service selects Patroni's runtime role label", objects: []string{"postgres-repl"}},
}

func kubeScore(t *testing.T) string {
	t.Helper()
	cache, err := SchemaCache()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(filepath.Dir(cache), "bin", kubeScoreVersion)
	exe := filepath.Join(bin, "kube-score")
	if _, err := os.Stat(exe); err == nil {
		return exe
	}
	cmd := exec.Command("go", "install", "github.com/zegl/kube-score/cmd/kube-score@"+kubeScoreVersion)
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GOBIN="+bin, "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		if os.Getenv("IOTSTACK_REQUIRE_TOOLS") != "" {
			t.Fatalf("go install kube-score: %v\n%s", err, out)
		}
		t.Skipf("kube-score could not be built: %v", err)
	}
	return exe
}

// TestKubeScore runs kube-score, the outside yardstick, on every profile
// in dist/: no CRITICAL finding but the documented ones.
func TestKubeScore(t *testing.T) {
	exe := kubeScore(t)
	for _, name := range profiles.Names() {
		files, _ := filepath.Glob(filepath.Join("..", "dist", name, "*.yaml"))
		var yamls []string
		for _, f := range files {
			if !strings.HasSuffix(f, "kustomization.yaml") {
				yamls = append(yamls, f)
			}
		}
		out, _ := exec.Command(exe, append([]string{"score", "-o", "json"}, yamls...)...).Output()
		var objects []struct {
			ObjectMeta struct{ Name string } `json:"object_meta"`
			Checks     []struct {
				Check struct {
					ID string `json:"id"`
				} `json:"check"`
				Grade   int  `json:"grade"`
				Skipped bool `json:"skipped"`
			} `json:"checks"`
		}
		if err := json.Unmarshal(out, &objects); err != nil {
			t.Fatalf("%s: kube-score output: %v\n%s", name, err, out)
		}
		if len(objects) == 0 {
			t.Fatalf("%s: kube-score scored nothing", name)
		}
		var unexpected []string
		for _, o := range objects {
			for _, c := range o.Checks {
				if c.Grade != 1 || c.Skipped {
					continue
				}
				ok, known := kubeScoreAccepted[c.Check.ID]
				allowed := known && (len(ok.objects) == 0 || contains(ok.objects, o.ObjectMeta.Name))
				if !allowed {
					unexpected = append(unexpected, c.Check.ID+" on "+o.ObjectMeta.Name)
				}
			}
		}
		sort.Strings(unexpected)
		if len(unexpected) > 0 {
			t.Errorf("%s: kube-score CRITICAL findings without a documented reason:\n  %s", name, strings.Join(unexpected, "\n  "))
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
