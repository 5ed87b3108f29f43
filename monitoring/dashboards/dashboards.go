package dashboards

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"

	"github.com/iotstack/iotstack/components/grafana"
	"github.com/iotstack/iotstack/stack"
)

// panel is one panel: a title, a unit and its queries.
type panel struct {
	title, unit, description string
	// stat renders a single-value panel instead of a time series.
	stat    bool
	queries []query
}

// query is one PromQL query and its legend.
type query struct{ expr, legend string }

// spec is a dashboard before rendering.
type spec struct {
	uid, title string
	tags       []string
	panels     []panel
}

// builders are the dashboards of each component kind, keyed by the
// component's app name (app.kubernetes.io/name).
var builders = map[string]func(t []stack.ScrapeTarget) spec{
	"zookeeper":    zookeeper,
	"kafka":        kafka,
	"kafka-server": kafka,
	"redis":        redis,
	"cassandra":    cassandra,
	"postgres":     postgres,
	"thingsboard":  thingsboard,
	"vernemq":      func(t []stack.ScrapeTarget) spec { return dojotMQTT(t, nil) },
}

// Kinds returns the component app names that have a dashboard, sorted.
func Kinds() []string {
	var out []string
	for k := range builders {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// For returns the dashboards of the target stack: the overview first,
// then one per component kind with scrape targets, in the order the
// components were added (a kind's dashboard covers every component of
// that kind). The also stacks are parts applied next to the target (a
// load test): their scrape targets feed the target's dashboards (the
// dojot MQTT dashboard shows the Locust exporter's series) but add no
// dashboard of their own.
func For(target *stack.Stack, also ...*stack.Stack) ([]grafana.Dashboard, error) {
	targets, err := target.ScrapeTargets()
	if err != nil {
		return nil, fmt.Errorf("dashboards: %w", err)
	}
	apps := map[string]string{}
	for _, c := range target.Components() {
		apps[c.Name()] = c.Meta().App
	}
	byKind := map[string][]stack.ScrapeTarget{}
	var kinds []string
	for _, t := range targets {
		k := apps[t.Component]
		if _, ok := builders[k]; !ok {
			continue
		}
		if len(byKind[k]) == 0 {
			kinds = append(kinds, k)
		}
		byKind[k] = append(byKind[k], t)
	}
	var extra []stack.ScrapeTarget
	for _, o := range also {
		if o == nil {
			return nil, fmt.Errorf("dashboards: also: a nil stack")
		}
		ts, err := o.ScrapeTargets()
		if err != nil {
			return nil, fmt.Errorf("dashboards: stack %s: %w", o.Name(), err)
		}
		for _, t := range ts {
			if c := o.ComponentByName(t.Component); c != nil && c.Meta().App == LocustApp {
				extra = append(extra, t)
			}
		}
	}
	specs := []spec{overview(target)}
	for _, k := range kinds {
		if k == "vernemq" {
			specs = append(specs, dojotMQTT(byKind[k], extra))
			continue
		}
		specs = append(specs, builders[k](byKind[k]))
	}
	out := make([]grafana.Dashboard, 0, len(specs))
	for _, s := range specs {
		js, err := s.render()
		if err != nil {
			return nil, fmt.Errorf("dashboards: %s: %w", s.uid, err)
		}
		out = append(out, grafana.Dashboard{Name: s.uid, JSON: js})
	}
	return out, nil
}

// render builds the dashboard with the SDK and marshals it, indented.
func (s spec) render() ([]byte, error) {
	ds := common.DataSourceRef{Type: ptr("prometheus"), Uid: ptr(grafana.DatasourceUID)}
	b := dashboard.NewDashboardBuilder(s.title).
		Uid("iotstack-"+s.uid).
		Tags(append([]string{"iotstack"}, s.tags...)).
		Refresh("1m").
		Time("now-6h", "now").
		Timezone(common.TimeZoneBrowser)
	for _, p := range s.panels {
		var w, h uint32 = 12, 8
		if p.stat {
			w, h = 6, 4
		}
		if p.stat {
			pb := stat.NewPanelBuilder().Title(p.title).Datasource(ds).Span(w).Height(h)
			if p.unit != "" {
				pb.Unit(p.unit)
			}
			if p.description != "" {
				pb.Description(p.description)
			}
			for j, q := range p.queries {
				pb.WithTarget(prometheus.NewDataqueryBuilder().Expr(q.expr).LegendFormat(q.legend).RefId(refID(j)).Datasource(ds).Instant())
			}
			b.WithPanel(pb)
			continue
		}
		pb := timeseries.NewPanelBuilder().Title(p.title).Datasource(ds).Span(w).Height(h)
		if p.unit != "" {
			pb.Unit(p.unit)
		}
		if p.description != "" {
			pb.Description(p.description)
		}
		for j, q := range p.queries {
			pb.WithTarget(prometheus.NewDataqueryBuilder().Expr(q.expr).LegendFormat(q.legend).RefId(refID(j)).Datasource(ds))
		}
		b.WithPanel(pb)
	}
	d, err := b.Build()
	if err != nil {
		return nil, err
	}
	return json.MarshalIndent(d, "", "  ")
}

func refID(i int) string { return string(rune('A' + i)) }

func ptr[T any](v T) *T { return &v }

// jobs is the PromQL matcher of the jobs of the targets in their
// namespace: job=~"a|b",namespace="ns".
func jobs(ts []stack.ScrapeTarget) string {
	var names []string
	seen := map[string]bool{}
	ns := ""
	for _, t := range ts {
		if !seen[t.Job] {
			names = append(names, t.Job)
			seen[t.Job] = true
		}
		ns = t.Namespace
	}
	sort.Strings(names)
	re := ""
	for i, n := range names {
		if i > 0 {
			re += "|"
		}
		re += n
	}
	return fmt.Sprintf(`job=~%q,namespace=%q`, re, ns)
}
