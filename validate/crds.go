package validate

import (
	"bytes"
	"embed"
	"io/fs"
	"os"
	"path/filepath"
)

// crdSchemas are the schemas of the custom resources iotstack renders
// whose CRDs are not in any stack (cert-manager's Certificate), in
// kubeconform's layout (<kind>-<group prefix>-<version>.json). They are
// checked strictly like the built-in kinds; a custom resource without one
// is still a finding.
//
//go:embed crds/*.json
var crdSchemas embed.FS

// crdSchemaDir writes crdSchemas into the crds directory beside a
// version's schema directory (rewriting a file only when it differs) and
// returns it.
func crdSchemaDir(versionDir string) (string, error) {
	dir := filepath.Join(filepath.Dir(versionDir), "crds")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	err := fs.WalkDir(crdSchemas, "crds", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := crdSchemas.ReadFile(path)
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, d.Name())
		if old, err := os.ReadFile(dst); err == nil && bytes.Equal(old, data) {
			return nil
		}
		tmp := dst + ".tmp"
		if err := os.WriteFile(tmp, data, 0o644); err != nil {
			return err
		}
		return os.Rename(tmp, dst)
	})
	return dir, err
}
