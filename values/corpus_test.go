package values_test

// corpusCase is one values document with what the Go decoder and the JSON
// Schema must say about it.
type corpusCase struct {
	name string
	doc  string
	// path is the values path of the error the Go decoder must report;
	// empty for a valid document.
	path string
	// root marks an error about the document itself (path "").
	root bool
	// validateOnly marks a document that only a Validate method rejects:
	// the schema accepts it, the Go decoder does not.
	validateOnly bool
}

// corpus is shared by the schema agreement test and the fuzz seeds.
var corpus = []corpusCase{
	// Valid documents.
	{name: "empty", doc: ""},
	{name: "comments only", doc: "# nothing here\n"},
	{name: "namespace", doc: "namespace: prod\n"},
	{name: "full topology", doc: `
topology:
  zones: [us-east-1a, us-east-1b, us-east-1c]
  pools:
    - name: tb
      instanceType: m7g.xlarge
      arch: arm64
      cpu: 4
      memory: 16Gi
      nodesPerZone: 2
      labels: {role: tb, "kubernetes.io/arch": arm64}
      taints: [{key: dedicated, value: tb, effect: NoSchedule}]
`},
	{name: "quantity forms", doc: "topology: {pools: [{name: a, arch: amd64, nodesPerZone: 1, cpu: 0.5, memory: 512Mi}, {name: b, arch: arm64, nodesPerZone: 1, cpu: 500m, memory: 1e9}]}\n"},
	{name: "null resets pointer", doc: "kafka: {storage: null}\n"},
	{name: "null deletes map entry", doc: "images: {tags: {kafka: null, redis: '7.4'}}\n"},
	{name: "null on a struct without required keys", doc: "exposure: null\n"},
	{name: "null resets scalar", doc: "namespace: null\nexposure: {requestScale: null}\n"},
	{name: "duration", doc: "kafka: {retention: 1h30m}\n"},
	{name: "zero duration", doc: "kafka: {retention: \"0\"}\n"},
	{name: "integral float for integer", doc: "kafka: {brokers: 3.0}\n"},
	{name: "bounds inclusive", doc: "kafka: {brokers: 255, replicationFactor: 1}\nexposure: {requestScale: 0}\n"},
	{name: "text type", doc: "exposure: {address: 10.0.0.1, tls: true}\n"},
	{name: "enum", doc: "images: {pullPolicy: Always}\n"},
	{name: "json", doc: "{\n\t\"namespace\": \"prod\",\n\t\"kafka\": {\"brokers\": 5, \"replicationFactor\": 3}\n}\n"},
	{name: "anchors and merge keys", doc: "topology:\n  zones: &z [a, b]\n  pools: [&p {name: a, arch: arm64, nodesPerZone: 1, labels: &l {x: y}}, {<<: *p, name: b, labels: *l}]\n"},
	{name: "a default map entry merges", doc: "kafka: {topics: {events: {compact: true}}}\n"},
	{name: "a new map entry with its required key", doc: "kafka: {topics: {audit: {partitions: 1}}}\n"},
	{name: "a default map entry deleted", doc: "kafka: {topics: {events: null}}\n"},
	{name: "timestamp-looking string", doc: "namespace: 2001-12-14\n"},

	// Unknown keys.
	{name: "unknown top key", doc: "namespce: prod\n", path: "namespce"},
	{name: "unknown nested key", doc: "kafka: {replicas: 3}\n", path: "kafka.replicas"},
	{name: "unknown key in list item", doc: "topology: {pools: [{name: a}, {name: b, cpus: 4}]}\n", path: "topology.pools[1].cpus"},

	// Wrong types.
	{name: "number for string", doc: "namespace: 42\n", path: "namespace"},
	{name: "list for string", doc: "namespace: [a]\n", path: "namespace"},
	{name: "string for integer", doc: "kafka: {brokers: \"3\"}\n", path: "kafka.brokers"},
	{name: "string for boolean", doc: "exposure: {tls: \"yes\"}\n", path: "exposure.tls"},
	{name: "string for list", doc: "topology: {zones: a}\n", path: "topology.zones"},
	{name: "number for mapping", doc: "kafka: 3\n", path: "kafka"},
	{name: "list for document", doc: "[a, b]\n", root: true},
	{name: "boolean for quantity", doc: "topology: {pools: [{name: a, cpu: true}]}\n", path: "topology.pools[0].cpu"},
	{name: "number for duration", doc: "kafka: {retention: 10}\n", path: "kafka.retention"},
	{name: "fraction for integer", doc: "kafka: {brokers: 2.5}\n", path: "kafka.brokers"},
	{name: "list for map", doc: "images: {tags: [a]}\n", path: "images.tags"},
	{name: "number in map", doc: "images: {tags: {kafka: 4}}\n", path: "images.tags.kafka"},

	// Bounds.
	{name: "below min", doc: "kafka: {brokers: 0}\n", path: "kafka.brokers"},
	{name: "above max", doc: "kafka: {brokers: 256}\n", path: "kafka.brokers"},
	{name: "float below min", doc: "exposure: {requestScale: -0.1}\n", path: "exposure.requestScale"},
	{name: "float above max", doc: "exposure: {requestScale: 1.5}\n", path: "exposure.requestScale"},
	{name: "nested above max", doc: "topology: {pools: [{name: a, nodesPerZone: 101}]}\n", path: "topology.pools[0].nodesPerZone"},
	{name: "too few items", doc: "topology: {zones: []}\n", path: "topology.zones"},
	{name: "null list below min items", doc: "topology: {zones: null}\n", path: "topology.zones"},
	{name: "null below min", doc: "kafka: {brokers: null}\n", path: "kafka.brokers"},
	{name: "null outside enum", doc: "topology: {pools: [{name: a, arch: null}]}\n", path: "topology.pools[0].arch"},
	{name: "beyond the Go type", doc: "kafka: {replicationFactor: 1e30}\n", path: "kafka.replicationFactor"},

	// Enums.
	{name: "bad type enum", doc: "topology: {pools: [{name: a, arch: x86}]}\n", path: "topology.pools[0].arch"},
	{name: "bad tag enum", doc: "images: {pullPolicy: always}\n", path: "images.pullPolicy"},
	{name: "bad enum in nested list", doc: "topology: {pools: [{name: a, taints: [{key: k, effect: NoWay}]}]}\n", path: "topology.pools[0].taints[0].effect"},

	// Patterns.
	{name: "bad quantity", doc: "topology: {pools: [{name: a, cpu: 4 cores}]}\n", path: "topology.pools[0].cpu"},
	{name: "bad quantity unit", doc: "kafka: {storage: {size: 16GB}}\n", path: "kafka.storage.size"},
	{name: "bad duration", doc: "kafka: {retention: 1 hour}\n", path: "kafka.retention"},
	{name: "duration without unit", doc: "kafka: {retention: \"10\"}\n", path: "kafka.retention"},
	{name: "missing required key in a new item", doc: "topology: {pools: [{name: a, arch: arm64}]}\n", path: "topology.pools[0].nodesPerZone"},
	{name: "missing required key in the second item", doc: "topology: {pools: [{name: a, arch: arm64, nodesPerZone: 1}, {name: b, nodesPerZone: 1}]}\n", path: "topology.pools[1].arch"},
	{name: "a new map entry without its required key", doc: "kafka: {topics: {audit: {compact: true}}}\n", path: "kafka.topics.audit.partitions"},
	{name: "a default map entry out of bounds", doc: "kafka: {topics: {events: {partitions: 0}}}\n", path: "kafka.topics.events.partitions"},
	{name: "null on a struct with required keys", doc: "kafka: null\nimages: null\n", path: "images"},
	{name: "null list item", doc: "topology: {zones: [a, null]}\n", path: "topology.zones[1]"},

	// Only a Validate method sees it.
	{name: "replication factor above brokers", doc: "kafka: {replicationFactor: 4}\n", path: "kafka.replicationFactor", validateOnly: true},
}
