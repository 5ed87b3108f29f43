package profiles

import (
	"github.com/iotstack/iotstack/components/kafkaui"
	"github.com/iotstack/iotstack/components/pgadmin"
	"github.com/iotstack/iotstack/components/redisinsight"
)

// UIs are minimal-3az's operators' web UIs (the ThingsBoard article's "UI
// tools"), each reachable with kubectl port-forward to its Service and,
// where it has a login of its own and path is set, under that path of
// ThingsBoard's HTTP ingress (the same host and load balancer). Grafana is
// under monitoring.
type UIs struct {
	// Kafka is Kafka UI (kafbat/kafka-ui, Apache-2.0): read-only unless
	// readWrite, login form with the user admin and the password in the
	// Secret kafka-ui-auth (key password). On by default, as in the
	// ThingsBoard article's pod table.
	Kafka kafkaui.Config `json:"kafka"`
	// PgAdmin is pgAdmin 4 (PostgreSQL licence) with the stack's
	// PostgreSQL pre-registered; login email (default admin@iotstack.io)
	// with the password in the Secret pgadmin-auth (key password).
	PgAdmin pgadmin.Config `json:"pgadmin"`
	// RedisInsight is RedisInsight with the Redis Cluster pre-configured.
	// Its licence is the Server Side Public License (SSPL v1), not an
	// open-source licence: enabling it needs acceptTerms. It has no login,
	// so it is reachable with kubectl port-forward only.
	RedisInsight redisinsight.Config `json:"redisInsight"`
}

// DojotUIs are the dojot profiles' operators' web UIs, reachable with
// kubectl port-forward only (dojot's load balancers forward fixed
// NodePorts; there is no HTTP ingress to share): path must stay empty.
// Unset resources are dojot's: Kafka UI 0.5 CPU / 512 MiB, pgAdmin 0.5
// CPU / 256 MiB, with memory requests of half the limits under lean. They
// run on the kafka group's pool unless pool is set (100k: the Kafka node,
// which has room beside the monitoring). small's single 6 GB worker has
// no room left for them once the monitoring runs (monitoring.enabled,
// the default): turn the monitoring off or add a node to the pool.
// dojot's Redis is each service's private cache, so there is no
// RedisInsight.
type DojotUIs struct {
	// Kafka is Kafka UI (kafbat/kafka-ui, Apache-2.0) for kafka-server:
	// read-only unless readWrite, login form with the user admin and the
	// password in the Secret kafka-ui-auth (key password). Off by default.
	Kafka kafkaui.Config `json:"kafka"`
	// PgAdmin is pgAdmin 4 (PostgreSQL licence) with dojot's PostgreSQL
	// pre-registered (Kong's, auth's and device-manager's databases);
	// login email (default admin@iotstack.io) with the password in the
	// Secret pgadmin-auth (key password). Off by default.
	PgAdmin pgadmin.Config `json:"pgadmin"`
}
