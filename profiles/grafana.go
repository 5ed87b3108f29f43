package profiles

import (
	"fmt"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/iotstack/iotstack/components/grafana"
	"github.com/iotstack/iotstack/components/prometheus"
	"github.com/iotstack/iotstack/components/thingsboard"
	"github.com/iotstack/iotstack/monitoring/dashboards"
	"github.com/iotstack/iotstack/stack"
)

// GrafanaAccess is how a profile's users reach Grafana: through a path of
// the profile's HTTP ingress (minimal-3az: /grafana/ on the ALB, as in the
// ThingsBoard article), on a NodePort behind the profile's load balancers
// (dojot: the guide's metrics NodePort 30003), or else with kubectl
// port-forward only.
type GrafanaAccess struct {
	// RootURL is Grafana's public URL (GF_SERVER_ROOT_URL); empty means
	// http://localhost:3000/ (port-forward).
	RootURL string
	// Path is the ingress path prefix (e.g. /grafana/).
	Path string
	// Share makes the Ingress for Path beside the profile's own
	// (thingsboard.Handle.ShareIngress); nil for no ingress.
	Share func(name, pathPrefix, service, port, healthPath string) (*networkingv1.Ingress, error)
	// NodePort is the NodePort Grafana's Service listens on; 0 for none.
	NodePort int32
}

// GrafanaPath is the ThingsBoard article's ALB path of Grafana.
const GrafanaPath = "/grafana/"

// minimal3AZGrafana serves Grafana under /grafana/ on the ThingsBoard
// Ingress' host and load balancer. Without a host the root URL takes
// the browser's host (Grafana's %(protocol)s and %(domain)s), so links
// and redirects stay under /grafana/.
func minimal3AZGrafana(v *Minimal3AZValues, tb *thingsboard.Handle) GrafanaAccess {
	root := "%(protocol)s://%(domain)s" + GrafanaPath
	if h := v.ThingsBoard.Host; h != "" {
		scheme := "http"
		if v.ThingsBoard.CertificateARN != "" || v.ThingsBoard.TLSSecret != "" {
			scheme = "https"
		}
		root = scheme + "://" + h + GrafanaPath
	}
	return GrafanaAccess{RootURL: root, Path: GrafanaPath, Share: tb.ShareIngress}
}

// buildGrafana adds Grafana with the target stack's dashboards to the
// monitoring stack, reachable as the profile says (b.Grafana).
func buildGrafana(mon *stack.Stack, b *Built, prom *prometheus.Handle, cfg grafana.Config) error {
	ds, err := dashboards.For(b.Stack, partStacks(b, LoadTestDir)...)
	if err != nil {
		return fmt.Errorf("monitoring: %w", err)
	}
	a := b.Grafana
	url := fmt.Sprintf("http://%s.%s.svc:%d", prom.Service, mon.Namespace(), prom.Port)
	cfg.RootURL, cfg.NodePort, cfg.Dashboards = a.RootURL, a.NodePort, ds
	g, err := grafana.New(mon, grafana.Prometheus{URL: url, Web: prom.Component.Pods("").Port("web")}, cfg)
	if err != nil {
		return fmt.Errorf("monitoring: %w", err)
	}
	if a.Share != nil {
		ing, err := a.Share(g.Service, a.Path, g.Service, "http", g.SubPath+"api/health")
		if err != nil {
			return fmt.Errorf("monitoring: grafana: %w", err)
		}
		g.Component.Add(ing)
	}
	return nil
}
