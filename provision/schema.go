package provision

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"sigs.k8s.io/yaml"
)

// eksSchemaJSON is the JSON Schema of the eksctl ClusterConfig fields
// iotstack renders, derived from eksctl v0.215.0's v1alpha5 types (its
// $comment names the files). eksctl itself is not a dependency: building
// its API package pulls the AWS SDK and took over four minutes to fetch
// here.
//
//go:embed schema/eksctl-v1alpha5.schema.json
var eksSchemaJSON []byte

const eksSchemaID = "https://iotstack.io/schemas/provision/eksctl-v1alpha5.schema.json"

var eksSchema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(eksSchemaJSON))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(eksSchemaID, doc); err != nil {
		return nil, err
	}
	return c.Compile(eksSchemaID)
})

// CheckEKSClusterConfig validates an eksctl ClusterConfig (YAML) strictly
// against the schema of the fields iotstack renders: an unknown or
// misspelt field, a wrong type or a value out of eksctl's enums fails,
// naming the field's location.
func CheckEKSClusterConfig(data []byte) error {
	s, err := eksSchema()
	if err != nil {
		return fmt.Errorf("eksctl schema: %w", err)
	}
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		return fmt.Errorf("eksctl.yaml: %w", err)
	}
	js, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("eksctl.yaml: %w", err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(js))
	if err != nil {
		return fmt.Errorf("eksctl.yaml: %w", err)
	}
	if err := s.Validate(inst); err != nil {
		return fmt.Errorf("eksctl.yaml: not a ClusterConfig iotstack renders (eksctl v0.215.0 v1alpha5): %w", err)
	}
	return nil
}
