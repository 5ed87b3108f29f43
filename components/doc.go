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
//     a fuzz test of Validate.
//
// The package doc of each component says which upstream behaviour it
// reproduces and where it deliberately differs.
package components
