// Package components holds one package per platform component (kafka,
// zookeeper, cassandra, redis, postgres, thingsboard, vernemq, x509,
// dojot). Each package follows the same shape:
//
//   - a Config struct with documented fields, a Default method that fills
//     zero values, and Validate, whose errors name the field, the value and
//     what is allowed;
//   - a constructor New(s *stack.Stack, cfg Config) (*Handle, error) that
//     adds one stack.Component holding typed k8s.io/api objects, placed
//     through the stack's Topology, with PDBs, probes, resources and a
//     restricted securityContext from the stack helpers;
//   - a Handle with the addresses, ports and Secret references dependents
//     wire from, so no other package types the component's Service names;
//   - golden testdata of its own, table tests of every validation error and
//     a fuzz test of Validate;
//   - its alert rules (alerts.go), added with Component.Alert in New: each
//     on the metric names of the exporter it runs, cited from the
//     exporter's source at the pinned version, with a Why for its for:
//     window; profiles/monitoring_rules_test.go proves each fires on its
//     failure and stays silent through a rolling restart and the zone drill.
//
// prometheus and alertmanager are the monitoring components: they run in
// the monitoring namespace and watch another stack (profiles, when
// monitoring.enabled).
//
// The package doc of each component says which upstream behaviour it
// reproduces and where it deliberately differs.
package components
