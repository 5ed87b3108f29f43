// Package dashboards builds the Grafana dashboards of a stack as Go code
// with the Grafana Foundation SDK (github.com/grafana/grafana-foundation-sdk/go):
// a cluster overview that shows the ThingsBoard article's pod table live
// (pods per zone, CPU and memory against limits, headroom for the loss of
// a zone) and one dashboard per monitored component kind (ZooKeeper,
// Kafka, Redis, Cassandra, PostgreSQL, ThingsBoard, VerneMQ). Every panel names the
// Prometheus datasource by its fixed uid (grafana.DatasourceUID), so
// nothing is left to fill in at import; no dashboard is copied from
// grafana.com.
//
// Why a package keyed by component instead of a hook on stack.Component
// (like Component.Alert): a dashboard needs the SDK, and the components
// should not all depend on it; the dashboards read only what the stack
// already publishes (Stack.ScrapeTargets: job, component and the
// component's app.kubernetes.io/name, which is a stable public name), so
// a component's dashboard follows a renamed or duplicated component. A
// component kind without a builder here gets no dashboard of its own: the
// overview still shows its pods. VerneMQ's dashboard is the published
// dojot 100k dashboard rebuilt (dojot.go), with the load test's Locust
// exporter series when For is given the load test part; the dojot
// services themselves export no metrics in v0.5.0 and have none.
//
// Metric names: those of Redis and PostgreSQL are checked against name
// lists taken from the real exporters (testdata/); the others cite the
// exporter sources next to the queries, as the alert rules do.
package dashboards
