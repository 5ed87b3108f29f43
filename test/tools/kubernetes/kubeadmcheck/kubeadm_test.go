package kubeadmcheck

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm/v1beta4"
)

// dist is the repository's dist directory, from test/tools/kubernetes/kubeadmcheck.
const dist = "../../../../dist"

// decoder decodes kubeadm.k8s.io/v1beta4 documents strictly: an unknown
// or duplicate field is an error, as it is not for kubeadm itself (which
// only warns).
func decoder(t *testing.T) runtime.Decoder {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := v1beta4.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	return serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()
}

// docs splits a YAML file into its documents.
func docs(t *testing.T, data []byte) [][]byte {
	t.Helper()
	r := utilyaml.NewYAMLReader(bufioReader(data))
	var out [][]byte
	for {
		doc, err := r.Read()
		if err != nil {
			break
		}
		if len(bytes.TrimSpace(stripComments(doc))) > 0 {
			out = append(out, doc)
		}
	}
	return out
}

func stripComments(b []byte) []byte {
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			out = append(out, l)
		}
	}
	return []byte(strings.Join(out, "\n"))
}

// fill replaces the join files' placeholders with values of the shape
// kubeadm token create prints (not credentials of any cluster).
func fill(b []byte) []byte {
	s := strings.ReplaceAll(string(b), "${KUBEADM_TOKEN}", "abcdef.0123456789abcdef")
	s = strings.ReplaceAll(s, "${KUBEADM_CA_CERT_HASH}", "sha256:"+strings.Repeat("0", 64))
	return []byte(s)
}

// TestKubeadmStrict decodes every kubeadm file of the dojot profiles
// strictly against kubeadm v1.34.2's v1beta4 types and checks that each
// join configuration registers its nodes with the group label dojot's
// workloads select, at the control plane's endpoint. kubeadm's own
// loading and validation (cmd/kubeadm/app/util/config,
// apis/kubeadm/validation) need k8s.io/kube-proxy, which this module does
// not require; adding it would change go.sum and rebuild the simulated
// cluster's programs, so they are not run here.
func TestKubeadmStrict(t *testing.T) {
	dec := decoder(t)
	for _, profile := range []string{"small", "100k"} {
		dir := filepath.Join(dist, profile, "cluster")
		files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
		if err != nil || len(files) < 2 {
			t.Fatalf("%s: kubeadm files %v, %v", profile, files, err)
		}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			data = fill(data)
			var kinds []string
			for _, doc := range docs(t, data) {
				obj, gvk, err := dec.Decode(doc, nil, nil)
				if err != nil {
					t.Errorf("%s: %v", f, err)
					continue
				}
				kinds = append(kinds, gvk.Kind)
				if c, ok := obj.(*v1beta4.ClusterConfiguration); ok && (c.ClusterName != "dojot" || c.KubernetesVersion != "v1.34.2" || c.ControlPlaneEndpoint != "192.0.2.2:6443") {
					t.Errorf("%s: cluster %q version %q endpoint %q", f, c.ClusterName, c.KubernetesVersion, c.ControlPlaneEndpoint)
				}
				if j, ok := obj.(*v1beta4.JoinConfiguration); ok {
					if bt := j.Discovery.BootstrapToken; bt == nil || bt.APIServerEndpoint != "192.0.2.2:6443" || bt.Token != "abcdef.0123456789abcdef" || len(bt.CACertHashes) != 1 {
						t.Errorf("%s: discovery %+v", f, j.Discovery)
					}
					group := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "join-"), ".yaml")
					var labels string
					for _, a := range j.NodeRegistration.KubeletExtraArgs {
						if a.Name == "node-labels" {
							labels = a.Value
						}
					}
					if !slices.Contains(strings.Split(labels, ","), "dojot.components/group="+group) {
						t.Errorf("%s: node-labels %q lack dojot.components/group=%s", f, labels, group)
					}
				}
			}
			switch base := filepath.Base(f); {
			case base == "kubeadm.yaml":
				if strings.Join(kinds, ",") != "InitConfiguration,ClusterConfiguration" {
					t.Errorf("%s: kinds %v", f, kinds)
				}
			case strings.HasPrefix(base, "join-"):
				if strings.Join(kinds, ",") != "JoinConfiguration" {
					t.Errorf("%s: kinds %v", f, kinds)
				}
			}
		}
	}
}

// TestStrictRefusesUnknownField shows the decoder is strict: a misspelt
// field of a rendered file fails.
func TestStrictRefusesUnknownField(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(dist, "100k", "cluster", "join-kafka.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	bad := bytes.Replace(fill(data), []byte("kubeletExtraArgs:"), []byte("kubeletExtraArg:"), 1)
	if bytes.Equal(bad, fill(data)) {
		t.Fatal("kubeletExtraArgs not in join-kafka.yaml")
	}
	for _, doc := range docs(t, bad) {
		if _, _, err := decoder(t).Decode(doc, nil, nil); err == nil {
			t.Errorf("strict decoding accepts kubeletExtraArg")
		}
	}
}

func bufioReader(b []byte) *bufio.Reader { return bufio.NewReader(bytes.NewReader(b)) }
