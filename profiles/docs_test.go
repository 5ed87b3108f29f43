package profiles

import (
	"testing"

	"github.com/iotstack/iotstack/values/docgen"
)

// valuesDocs are the packages whose types the profiles' values documents
// hold, with the types documented: their zz_values_docs.go files register
// the doc comments that iotstack values prints and the schema carries.
// Regenerate with go generate ./... (each file names its command).
var valuesDocs = []docgen.Config{
	{Dir: "../stack", Types: []string{"Resources", "Storage"}},
	{Dir: "../components/zookeeper", Types: []string{"Config"}},
	{Dir: "../components/kafka", Types: []string{"Config"}},
	{Dir: "../components/redis", Types: []string{"Config"}},
	{Dir: "../components/cassandra", Types: []string{"Config", "Backup"}},
	{Dir: "../components/postgres", Types: []string{"Config", "Tuning", "Backup", "Restore"}},
	{Dir: "../components/thingsboard", Types: []string{"ServiceConfig", "LoadTestConfig", "PeakConfig", "MQTTS", "CertManager"}},
	{Dir: "../components/dojot", Types: []string{"NodePorts", "Backends", "Email"}},
	{Dir: "../components/x509", Types: []string{"Config"}},
	{Dir: "../components/vernemq", Types: []string{"Config"}},
	{Dir: "../components/backup", Types: []string{"Store"}},
	{Dir: "../components/reaper", Types: []string{"Config"}},
	{Dir: "../components/kafkaui", Types: []string{"Config"}},
	{Dir: "../components/pgadmin", Types: []string{"Config"}},
	{Dir: "../components/redisinsight", Types: []string{"Config"}},
	{Dir: "../components/dojotbackup", Types: []string{"Config"}},
	{Dir: ".", Files: []string{"values.go", "minimal3az_values.go", "dojot_values.go", "monitoring.go", "ui_values.go", "dojot_backup_values.go", "cluster.go"}},
}

func TestValuesDocsCurrent(t *testing.T) {
	for _, c := range valuesDocs {
		c.Output = docgen.DefaultOutput
		if err := docgen.Check(c); err != nil {
			t.Errorf("%s: %v", c.Dir, err)
		}
	}
}
