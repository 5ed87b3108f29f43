package stack

import (
	"strings"
	"testing"
)

func TestParseImage(t *testing.T) {
	hex := strings.Repeat("ab", 32)
	good := []struct {
		ref               string
		name, tag, digest string
	}{
		{"zookeeper:3.9.3", "zookeeper", "3.9.3", ""},
		{"zookeeper:3.9.3@sha256:" + hex, "zookeeper", "3.9.3", "sha256:" + hex},
		{"ghcr.io/zalando/spilo-17:4.0-p3", "ghcr.io/zalando/spilo-17", "4.0-p3", ""},
		{"registry.example.org:5000/team/kafka:4.1.0@sha256:" + hex, "registry.example.org:5000/team/kafka", "4.1.0", "sha256:" + hex},
		{"localhost/kafka:4.1.0", "localhost/kafka", "4.1.0", ""},
		{"localhost:5000/kafka:4.1.0", "localhost:5000/kafka", "4.1.0", ""},
		{"dojot/vernemq-dojot:v0.5.0", "dojot/vernemq-dojot", "v0.5.0", ""},
		{"a/b__c:x@sha512:" + strings.Repeat("0f", 64), "a/b__c", "x", "sha512:" + strings.Repeat("0f", 64)},
	}
	for _, g := range good {
		img, err := ParseImage(g.ref)
		if err != nil {
			t.Errorf("%s: %v", g.ref, err)
			continue
		}
		if img.Name != g.name || img.Tag != g.tag || img.Digest != g.digest || img.String() != g.ref {
			t.Errorf("%s: got %+v", g.ref, img)
		}
	}
	bad := []struct{ ref, want string }{
		{"", "empty; want name:tag"},
		{"zookeeper", `"zookeeper" has no tag`},
		{"zookeeper:latest", "tag latest pins nothing"},
		{"zookeeper@sha256:" + hex, "has a digest but no tag"},
		{"zookeeper:3.9.3@sha256:abc", `digest "sha256:abc"; a sha256 digest is 64 lower-case hex digits`},
		{"zookeeper:3.9.3@md5:" + hex[:32], `digest "md5:`},
		{"zookeeper:3.9.3@" + hex, "allowed: sha256:<64 hex digits>"},
		{"zookeeper:3.9.3@sha256:" + strings.ToUpper(hex), "64 lower-case hex digits"},
		{"Zookeeper:3.9.3", `repository path component "Zookeeper"`},
		{"zoo keeper:3.9.3", "contains white space"},
		{" zookeeper:3.9.3", "contains white space"},
		{"zookeeper:.3", `tag ".3"`},
		{"zookeeper:" + strings.Repeat("1", 64), "cannot be the app.kubernetes.io/version label"},
		{"zookeeper:" + strings.Repeat("1", 129), "a tag is 1 to 128"},
		{":3.9.3", "has no repository name"},
		{"a//b:1", `repository path component ""`},
		{"bad_host.example.org/x:1", `registry "bad_host.example.org"`},
		{"registry:5000/", "has no tag"},
	}
	for _, b := range bad {
		_, err := ParseImage(b.ref)
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%q: got %v; want an error containing %q", b.ref, err, b.want)
		}
	}
}

// FuzzParseImage: any string parses or is refused, never panics; what is
// accepted renders back to itself and has a valid version label.
func FuzzParseImage(f *testing.F) {
	for _, s := range []string{"zookeeper:3.9.3", "zookeeper:3.9.3@sha256:" + strings.Repeat("a", 64), "r:1/x:y", "@", ":", "a@b:c", "localhost:5000/a:b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ref string) {
		img, err := ParseImage(ref)
		if err != nil {
			return
		}
		if img.String() != ref {
			t.Fatalf("%q parsed to %+v, renders %q", ref, img, img.String())
		}
		if img.Tag == "" || img.Name == "" || len(img.Tag) > 63 {
			t.Fatalf("%q accepted with %+v", ref, img)
		}
	})
}

func TestMirrorImage(t *testing.T) {
	for _, c := range []struct{ ref, registry, want string }{
		{"zookeeper:3.9.3", "registry.corp:5000", "registry.corp:5000/library/zookeeper:3.9.3"},
		{"apache/kafka:4.1.0", "registry.corp:5000", "registry.corp:5000/apache/kafka:4.1.0"},
		{"ghcr.io/zalando/spilo-17:4.0-p3", "mirror.corp/proxy/", "mirror.corp/proxy/zalando/spilo-17:4.0-p3"},
		{"localhost/x:1", "r.io", "r.io/x:1"},
		{"quay.io/prometheuscommunity/postgres-exporter:v0.17.1@sha256:" + strings.Repeat("a", 64), "r.io", "r.io/prometheuscommunity/postgres-exporter:v0.17.1@sha256:" + strings.Repeat("a", 64)},
		{"zookeeper:3.9.3", "", "zookeeper:3.9.3"},
	} {
		if got := MirrorImage(c.ref, c.registry); got != c.want {
			t.Errorf("MirrorImage(%q, %q) = %q, want %q", c.ref, c.registry, got, c.want)
		}
		if c.registry != "" {
			if _, err := ParseImage(MirrorImage(c.ref, c.registry)); err != nil {
				t.Errorf("mirrored %q does not parse: %v", c.ref, err)
			}
		}
	}
}

func TestCheckRegistry(t *testing.T) {
	for reg, ok := range map[string]bool{"registry.corp:5000": true, "10.0.0.1:5000": true, "harbor.corp/proxy/hub": true,
		"https://r.io": false, "r.io:0": false, "r.io:99999": false, "R_IO": false, "r.io/UPPER": false, "": false} {
		if err := CheckRegistry(reg); (err == nil) != ok {
			t.Errorf("CheckRegistry(%q) = %v, want ok %v", reg, err, ok)
		}
	}
}
