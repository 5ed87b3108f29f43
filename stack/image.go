package stack

import (
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// Image is a parsed container image reference, name:tag or
// name:tag@digest.
type Image struct {
	// Name is the repository, with its registry if any
	// ("ghcr.io/zalando/spilo-17").
	Name string
	// Tag is the tag ("4.0-p3"); the app.kubernetes.io/version label.
	Tag string
	// Digest is the content digest ("sha256:<64 hex>"), or empty.
	Digest string
}

// String returns the reference as given: name:tag[@digest].
func (i Image) String() string {
	s := i.Name + ":" + i.Tag
	if i.Digest != "" {
		s += "@" + i.Digest
	}
	return s
}

// The grammar of distribution/reference (reference.go in
// github.com/distribution/reference v0.6.0): path components of lower-case
// alphanumerics joined by '.', '_', '__' or dashes; a registry host
// (with an optional port) first when it has a '.' or ':' or is localhost;
// tags of at most 128 word characters, dots and dashes; digests algorithm:hex.
var (
	imageComponent = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$`)
	imageHost      = regexp.MustCompile(`^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?$`)
	imageTag       = regexp.MustCompile(`^[\w][\w.-]{0,127}$`)
	// The digest algorithms the OCI image spec registers
	// (opencontainers/image-spec v1.1.0, descriptor.md "Registered algorithms").
	imageDigests = map[string]int{"sha256": 64, "sha512": 128}
	lowerHex     = regexp.MustCompile(`^[a-f0-9]+$`)
)

// ParseImage parses an image reference for a container. It accepts
// name:tag and name:tag@sha256:<64 hex> (a tag pinned to its content);
// the tag becomes the app.kubernetes.io/version label, so it must also be
// a valid label value, and "latest" is refused because it pins nothing.
//
// A digest without a tag (name@sha256:...) is refused: the stack labels
// every object with the version it runs, and a digest names no version a
// reviewer can read. Pin by digest and keep the tag it was published as
// (zookeeper:3.9.3@sha256:...).
func ParseImage(ref string) (Image, error) {
	const want = "name:tag or name:tag@sha256:<64 hex digits>"
	if ref == "" {
		return Image{}, fmt.Errorf("empty; want %s", want)
	}
	if strings.TrimSpace(ref) != ref || strings.ContainsAny(ref, " \t\r\n") {
		return Image{}, fmt.Errorf("%q contains white space; want %s", ref, want)
	}
	var img Image
	rest := ref
	if i := strings.Index(rest, "@"); i >= 0 {
		rest, img.Digest = ref[:i], ref[i+1:]
		alg, hex, ok := strings.Cut(img.Digest, ":")
		n := imageDigests[alg]
		if !ok || n == 0 {
			return Image{}, fmt.Errorf("%q: digest %q; allowed: sha256:<64 hex digits> or sha512:<128 hex digits>", ref, img.Digest)
		}
		if len(hex) != n || !lowerHex.MatchString(hex) {
			return Image{}, fmt.Errorf("%q: digest %q; a %s digest is %d lower-case hex digits", ref, img.Digest, alg, n)
		}
	}
	// The tag follows the last ':' that is after the last '/'; a ':'
	// before it belongs to a registry port.
	slash := strings.LastIndex(rest, "/")
	colon := strings.LastIndex(rest, ":")
	if colon <= slash {
		if img.Digest != "" {
			return Image{}, fmt.Errorf("%q has a digest but no tag; the tag is the version label, so pin as name:tag@%s", ref, img.Digest)
		}
		return Image{}, fmt.Errorf("%q has no tag; want %s", ref, want)
	}
	img.Name, img.Tag = rest[:colon], rest[colon+1:]
	if !imageTag.MatchString(img.Tag) {
		return Image{}, fmt.Errorf("%q: tag %q; a tag is 1 to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'", ref, img.Tag)
	}
	if img.Tag == "latest" {
		return Image{}, fmt.Errorf("%q: tag latest pins nothing; use a version tag", ref)
	}
	if errs := validation.IsValidLabelValue(img.Tag); len(errs) > 0 {
		return Image{}, fmt.Errorf("%q: tag %q cannot be the %s label (%s)", ref, img.Tag, LabelVersion, joinOr(errs, ""))
	}
	if img.Name == "" {
		return Image{}, fmt.Errorf("%q has no repository name; want %s", ref, want)
	}
	parts := strings.Split(img.Name, "/")
	first := 0
	if len(parts) > 1 && (strings.ContainsAny(parts[0], ".:") || parts[0] == "localhost" || parts[0] != strings.ToLower(parts[0])) {
		if !imageHost.MatchString(parts[0]) {
			return Image{}, fmt.Errorf("%q: registry %q is not a host name or host:port", ref, parts[0])
		}
		first = 1
	}
	for _, p := range parts[first:] {
		if !imageComponent.MatchString(p) {
			return Image{}, fmt.Errorf("%q: repository path component %q; allowed: lower-case letters and digits, joined by '.', '_', '__' or '-'", ref, p)
		}
	}
	if len(img.Name) > 255 {
		return Image{}, fmt.Errorf("%q: repository name of %d characters; at most 255", ref, len(img.Name))
	}
	return img, nil
}

// CheckRegistry checks a registry mirror's address: a host name or IP
// address with an optional port and path ("registry.corp:5000",
// "harbor.corp/proxy"), without a scheme.
func CheckRegistry(registry string) error {
	if strings.Contains(registry, "://") {
		return fmt.Errorf("%q has a scheme; give the registry as host[:port][/path]", registry)
	}
	host, path, _ := strings.Cut(registry, "/")
	h, port, hasPort := strings.Cut(host, ":")
	if errs := validation.IsDNS1123Subdomain(h); len(errs) > 0 && net.ParseIP(h) == nil {
		return fmt.Errorf("%q: host %q is not a DNS name or IP address", registry, h)
	}
	if hasPort {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("%q: port %q; allowed 1 to 65535", registry, port)
		}
	}
	if path != "" && !imagePath.MatchString(path) {
		return fmt.Errorf("%q: path %q; allowed lower-case letters, digits and . _ - separated by /", registry, path)
	}
	return nil
}

var imagePath = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$`)

// MirrorImage rewrites ref to pull from registry: the image's own registry
// (Docker Hub when it names none) is replaced and its repository path
// kept, Docker Hub's official images under library/ (zookeeper:3.9.3 →
// <registry>/library/zookeeper:3.9.3). An empty registry returns ref.
func MirrorImage(ref, registry string) string {
	if registry == "" {
		return ref
	}
	path := ref
	if first, rest, ok := strings.Cut(ref, "/"); ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
		path = rest // drop the image's own registry
	} else if !ok {
		path = "library/" + ref
	}
	return strings.TrimSuffix(registry, "/") + "/" + path
}
