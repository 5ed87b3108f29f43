package plan

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Formats are the output formats of Write, in the order the CLI lists them.
var Formats = []string{"table", "markdown", "json", "svg"}

// Write writes the plan in format: "table" (terminal), "markdown", "json"
// or "svg". An unknown format is an error naming the allowed ones.
func (p *Plan) Write(w io.Writer, format string) error {
	var b []byte
	var err error
	switch format {
	case "table":
		b = p.Table()
	case "markdown":
		b = p.Markdown()
	case "json":
		b, err = p.JSON()
	case "svg":
		b = p.SVG()
	default:
		return fmt.Errorf("output format %q: allowed %s", format, strings.Join(Formats, ", "))
	}
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// JSON is the plan as indented JSON (the Plan type's field tags), ending
// in a newline.
func (p *Plan) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// section is a titled table with notes under it.
type section struct {
	title  string
	header []string
	rows   [][]string
	notes  []string
}

func pct(a, b int64) string {
	if b <= 0 {
		return "-"
	}
	return strconv.FormatInt((a*100+b/2)/b, 10) + "%"
}

func fraction(f float64) string { return strconv.FormatFloat(f*100, 'f', 0, 64) + "%" }

func dollars(x float64) string { return "$" + strconv.FormatFloat(x, 'f', -1, 64) }

// sections is the plan's content, shared by Table and Markdown.
func (p *Plan) sections() []section {
	var out []section
	// The article's pod table: workloads per zone.
	pods := section{title: "Pods per zone (requests and limits per pod)", header: []string{"workload", "part"}}
	pods.header = append(pods.header, p.Zones...)
	pods.header = append(pods.header, "cpu req", "cpu limit", "mem req", "mem limit")
	for _, w := range p.Workloads {
		row := []string{w.Kind + "/" + w.Name, w.Part}
		for _, z := range p.Zones {
			n := 0
			for _, pod := range w.Pods {
				if pod.Zone == z {
					n++
				}
			}
			row = append(row, strconv.Itoa(n))
		}
		cpuLim, memLim := w.Limits.CPU(), w.Limits.Memory()
		for _, u := range w.Unlimited {
			if u == "cpu" {
				cpuLim = "none"
			} else {
				memLim = "none"
			}
		}
		row = append(row, w.Requests.CPU(), cpuLim, w.Requests.Memory(), memLim)
		pods.rows = append(pods.rows, row)
	}
	if len(p.Transient) > 0 {
		pods.notes = append(pods.notes, "Run to completion, not counted on the nodes: "+strings.Join(p.Transient, ", ")+".")
	}
	for _, u := range p.Unplaced {
		pods.notes = append(pods.notes, fmt.Sprintf("UNPLACED %s (%s): %s", u.Pod, u.Workload, u.Reason))
	}
	out = append(out, pods)

	nodes := section{title: "Nodes (requests against allocatable)", header: []string{"node", "zone", "pool", "instance", "pods", "cpu req/alloc", "cpu", "mem req/alloc", "mem", "cpu limits", "mem limits"}}
	for _, n := range p.Nodes {
		it := n.InstanceType
		if it == "" {
			it = "-"
		}
		nodes.rows = append(nodes.rows, []string{n.Name, n.Zone, n.Pool, it, strconv.Itoa(len(n.Pods)),
			n.Requests.CPU() + "/" + n.Allocatable.CPU(), pct(n.Requests.CPUMilli, n.Allocatable.CPUMilli),
			n.Requests.Memory() + "/" + n.Allocatable.Memory(), pct(n.Requests.MemoryBytes, n.Allocatable.MemoryBytes),
			n.Limits.CPU(), n.Limits.Memory()})
	}
	out = append(out, nodes)

	zl := section{title: "Zone loss"}
	if p.Zone == nil {
		zl.notes = append(zl.notes, "Single-zone topology: losing the zone stops everything; no zone-loss check.")
	} else {
		zl.header = []string{"lost zone", "ok", "rescheduled", "blocked by own rules", "no room", "components down", "budgets broken", "headroom cpu", "headroom mem", "max avg cpu"}
		for _, l := range p.Zone.Losses {
			ok := "yes"
			if !l.OK {
				ok = "NO"
			}
			zl.rows = append(zl.rows, []string{l.Zone, ok, strconv.Itoa(len(l.Rescheduled)), strconv.Itoa(len(l.Blocked)), strconv.Itoa(len(l.NoRoom)),
				strconv.Itoa(len(l.Down)), strconv.Itoa(len(l.Budgets)), l.Headroom.CPU(), l.Headroom.Memory(), fraction(l.MaxAverageCPU)})
			for _, s := range l.NoRoom {
				zl.notes = append(zl.notes, "zone "+l.Zone+" lost: no room for "+s)
			}
			for _, s := range l.Down {
				zl.notes = append(zl.notes, "zone "+l.Zone+" lost: down: "+s)
			}
			for _, s := range l.Budgets {
				zl.notes = append(zl.notes, "zone "+l.Zone+" lost: PodDisruptionBudget below its minimum: "+s)
			}
		}
		verdict := "every zone's loss is survived"
		if !p.Zone.OK {
			verdict = "a zone's loss is NOT survived"
		}
		zl.notes = append(zl.notes, fmt.Sprintf("%s. Keep the average CPU load below %s of the allocatable so that the surviving zones can carry it (the ThingsBoard article's 2/3 on three zones); the article adds CPUs at %s.",
			verdict, fraction(p.Zone.MaxAverageCPU), fraction(p.Zone.AddCPUsAt)))
		zl.notes = append(zl.notes, "Pods blocked by their own rules (one per host, zone spread) wait for the zone to come back; the rest of the workload keeps serving.")
	}
	out = append(out, zl)

	c := p.Cost
	cost := section{title: "Cost per month (US dollars)", header: []string{"pool", "instance", "nodes", "price/node", "monthly", "status"}}
	for _, pc := range c.Pools {
		price, monthly := "-", "-"
		if pc.Status == Priced {
			price, monthly = dollars(pc.Price), dollars(pc.Monthly)
		}
		it := pc.InstanceType
		if it == "" {
			it = "-"
		}
		cost.rows = append(cost.rows, []string{pc.Pool, it, strconv.Itoa(pc.Nodes), price, monthly, pc.Status})
	}
	if c.Nodes > 0 {
		line := fmt.Sprintf("Nodes %s + %s%% overhead = %s, about $%d per month ($%d per zone)",
			dollars(c.Nodes), strconv.FormatFloat(c.OverheadPercent, 'f', -1, 64), dollars(c.Monthly), c.MonthlyRounded, c.PerZoneRounded)
		if c.Devices > 0 {
			line += fmt.Sprintf("; %s cents per device per month at %d devices", strconv.FormatFloat(c.PerDeviceCentsRounded, 'f', 1, 64), c.Devices)
		}
		cost.notes = append(cost.notes, line+".")
	} else {
		cost.notes = append(cost.notes, "No priced pool: no cost figure.")
	}
	if !c.Complete {
		cost.notes = append(cost.notes, "No price for "+strings.Join(c.Unpriced, ", ")+": left out of the figures; add the instance types to plan.prices (a pool needs topology.pools[].instanceType first).")
	}
	for _, pc := range c.Pools {
		if pc.Status == Idle {
			cost.notes = append(cost.notes, "Pool "+pc.Pool+" is idle: no planned workload needs it (DaemonSets aside); it serves parts left out of the plan. Not costed.")
		}
	}
	out = append(out, cost)
	return out
}

func (p *Plan) heading() string {
	h := fmt.Sprintf("Plan for %s: parts %s", p.Profile, strings.Join(p.Parts, ", "))
	if len(p.Excluded) > 0 {
		h += "; left out: " + strings.Join(p.Excluded, "; ")
	}
	return h
}

// Table is the plan for a terminal: aligned columns.
func (p *Plan) Table() []byte {
	var b bytes.Buffer
	b.WriteString(p.heading() + "\n")
	for _, s := range p.sections() {
		b.WriteString("\n" + strings.ToUpper(s.title) + "\n")
		if len(s.header) > 0 {
			tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, strings.Join(s.header, "\t"))
			for _, r := range s.rows {
				fmt.Fprintln(tw, strings.Join(r, "\t"))
			}
			tw.Flush()
		}
		for _, n := range s.notes {
			b.WriteString(n + "\n")
		}
	}
	return b.Bytes()
}

// Markdown is the plan as Markdown: a heading per section, pipe tables.
func (p *Plan) Markdown() []byte {
	var b bytes.Buffer
	b.WriteString("### " + mdEscape(p.heading()) + "\n")
	for _, s := range p.sections() {
		b.WriteString("\n#### " + s.title + "\n\n")
		if len(s.header) > 0 {
			b.WriteString("| " + strings.Join(mdCells(s.header), " | ") + " |\n|")
			for range s.header {
				b.WriteString("---|")
			}
			b.WriteString("\n")
			for _, r := range s.rows {
				b.WriteString("| " + strings.Join(mdCells(r), " | ") + " |\n")
			}
			if len(s.notes) > 0 {
				b.WriteString("\n")
			}
		}
		for _, n := range s.notes {
			b.WriteString("- " + mdEscape(n) + "\n")
		}
	}
	return b.Bytes()
}

func mdCells(cells []string) []string {
	out := make([]string, len(cells))
	for i, c := range cells {
		out[i] = mdEscape(c)
	}
	return out
}

func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "*", `\*`, "_", `\_`).Replace(s)
}

// SVG is a chart of each node's requests against its allocatable, CPU and
// memory, grouped by zone: one column per zone, one pair of bars per node,
// with the zone-loss limit of the average CPU load marked. The bytes
// depend on the plan only.
func (p *Plan) SVG() []byte {
	const (
		colW, barW, barH, rowH, top, left = 300, 240, 14, 56, 70, 20
	)
	zones := p.Zones
	if len(zones) == 0 {
		zones = []string{""}
	}
	perZone := map[string][]Node{}
	rows := 0
	for _, n := range p.Nodes {
		perZone[n.Zone] = append(perZone[n.Zone], n)
		rows = max(rows, len(perZone[n.Zone]))
	}
	width := left*2 + colW*len(zones)
	height := top + rows*rowH + 40
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">`+"\n", width, height, width, height)
	fmt.Fprintf(&b, `<title>%s</title>`+"\n", esc("Plan for "+p.Profile+": requests per node against allocatable"))
	fmt.Fprintf(&b, `<rect x="0" y="0" width="%d" height="%d" fill="#ffffff"/>`+"\n", width, height)
	fmt.Fprintf(&b, `<text x="%d" y="22" font-size="14" font-weight="bold">%s</text>`+"\n", left, esc("Plan for "+p.Profile+": requests / allocatable per node"))
	limit := 0.0
	if p.Zone != nil {
		limit = p.Zone.MaxAverageCPU
		fmt.Fprintf(&b, `<text x="%d" y="40">%s</text>`+"\n", left, esc(fmt.Sprintf("dashed line: keep average CPU load below %s to survive a zone loss", fraction(limit))))
	}
	for zi, z := range zones {
		x := left + zi*colW
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-weight="bold">%s</text>`+"\n", x, top-8, esc(zoneTitle(z)))
		for ni, n := range perZone[z] {
			y := top + ni*rowH
			fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`+"\n", x, y+10, esc(fmt.Sprintf("%s (%d pods)", n.Name, len(n.Pods))))
			bar := func(dy int, label string, used, alloc int64, usedS, allocS, color string) {
				fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="#e8e8e8"/>`+"\n", x, y+dy, barW, barH)
				w := 0
				if alloc > 0 {
					w = int(min(used, alloc) * barW / alloc)
				}
				fill := color
				if used > alloc {
					fill = "#d62728"
				}
				fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="%s"/>`+"\n", x, y+dy, w, barH, fill)
				fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`+"\n", x+4, y+dy+11, esc(fmt.Sprintf("%s %s/%s %s", label, usedS, allocS, pct(used, alloc))))
			}
			bar(14, "cpu", n.Requests.CPUMilli, n.Allocatable.CPUMilli, n.Requests.CPU(), n.Allocatable.CPU(), "#9ecae1")
			bar(32, "mem", n.Requests.MemoryBytes, n.Allocatable.MemoryBytes, n.Requests.Memory(), n.Allocatable.Memory(), "#a1d99b")
			if limit > 0 {
				lx := x + int(limit*barW)
				fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#000000" stroke-dasharray="3,2"/>`+"\n", lx, y+12, lx, y+14+barH+2)
			}
		}
	}
	b.WriteString("</svg>\n")
	return b.Bytes()
}

func zoneTitle(z string) string {
	if z == "" {
		return "nodes"
	}
	return "zone " + z
}

func esc(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s)) // writes to a buffer: cannot fail
	return b.String()
}
