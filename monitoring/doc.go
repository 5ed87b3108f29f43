// Package monitoring holds the end-to-end test of the rendered alerting
// (siren_test.go): the alert rules a profile renders for Redis and
// PostgreSQL, loaded into a real Prometheus that scrapes Debian's exporters
// in front of real servers on loopback, delivered by a real Alertmanager to
// a local webhook when a datastore stops, and resolved when it is back.
// Its subpackage tools builds the pinned Prometheus programs.
package monitoring
