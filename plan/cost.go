package plan

import (
	"fmt"
	"math"
	"strings"

	"github.com/iotstack/iotstack/profiles"
	"github.com/iotstack/iotstack/stack"
)

// Cost is the monthly cost estimate, the ThingsBoard article's way
// ("Total ownership cost"): the nodes' prices, plus an overhead percentage
// for everything else the cloud bills, per month, per device and per zone.
//
// Rounding rule: the exact figures are kept (Monthly, PerDeviceCents,
// PerZone); the rounded ones are what the article prints: the monthly
// total and the cost per zone to whole dollars, halves away from zero
// (405 x 1.5 = 607.5 -> $608), and the cost per device to a tenth of a
// cent, from the exact total (607.5 / 100000 devices = 0.6075 cents ->
// 0.6 cents).
type Cost struct {
	// Currency is "USD": plan.prices are US dollars per month.
	Currency string `json:"currency"`
	// Pools are the costed pools and the pools without a price or
	// without any planned pod, in topology order.
	Pools []PoolCost `json:"pools"`
	// Nodes is the priced nodes' monthly price.
	Nodes float64 `json:"nodes"`
	// OverheadPercent is plan.overheadPercent.
	OverheadPercent float64 `json:"overheadPercent"`
	// Monthly is Nodes plus the overhead; MonthlyRounded to whole dollars.
	Monthly        float64 `json:"monthly"`
	MonthlyRounded int64   `json:"monthlyRounded"`
	// PerZone is Monthly divided by the zones; PerZoneRounded in whole
	// dollars.
	PerZone        float64 `json:"perZone"`
	PerZoneRounded int64   `json:"perZoneRounded"`
	// Devices is plan.devices; 0 leaves the per-device figures at 0.
	Devices int `json:"devices"`
	// PerDeviceCents is Monthly in cents per device;
	// PerDeviceCentsRounded to a tenth of a cent.
	PerDeviceCents        float64 `json:"perDeviceCents"`
	PerDeviceCentsRounded float64 `json:"perDeviceCentsRounded"`
	// Complete is false when a pool that runs planned pods has no price:
	// the figures leave it out (Unpriced names them).
	Complete bool     `json:"complete"`
	Unpriced []string `json:"unpriced"`
}

// PoolCost is one pool's share.
type PoolCost struct {
	// Pool and InstanceType name the pool.
	Pool         string `json:"pool"`
	InstanceType string `json:"instanceType"`
	// Nodes is the pool's node count (nodesPerZone x zones).
	Nodes int `json:"nodes"`
	// Price is one node's monthly price (0 without one); Monthly is
	// Nodes x Price.
	Price   float64 `json:"price"`
	Monthly float64 `json:"monthly"`
	// Status is "priced", "no price" (its instance type is not in
	// plan.prices) or "idle" (no planned pod but DaemonSets' runs on it:
	// minimal-3az's client pool exists for the opt-in load test, which the
	// article's cost leaves out too; it deletes that node group after the
	// test).
	Status string `json:"status"`
}

// Pool statuses.
const (
	Priced  = "priced"
	NoPrice = "no price"
	Idle    = "idle"
)

// RoundDollars rounds to whole dollars, halves away from zero, saturating
// at the int64 range (NaN gives 0).
func RoundDollars(x float64) int64 {
	r := math.Round(x)
	switch {
	case math.IsNaN(r):
		return 0
	case r >= math.MaxInt64:
		return math.MaxInt64
	case r <= math.MinInt64:
		return math.MinInt64
	}
	return int64(r)
}

// RoundTenthCent rounds cents to a tenth of a cent, halves away from zero.
func RoundTenthCent(cents float64) float64 { return math.Round(cents*10) / 10 }

func estimate(topo stack.Topology, nodes []Node, workloads []Workload, in profiles.Plan) (Cost, error) {
	c := Cost{Currency: "USD", OverheadPercent: in.OverheadPercent, Devices: in.Devices, Complete: true, Pools: []PoolCost{}, Unpriced: []string{}}
	// A pool is busy when a planned pod other than a DaemonSet's runs on
	// it: DaemonSet pods (the node exporter) follow the nodes there are.
	poolOf := map[string]string{}
	for _, n := range nodes {
		poolOf[n.Name] = n.Pool
	}
	busy := map[string]bool{}
	for _, w := range workloads {
		if w.Kind == "DaemonSet" {
			continue
		}
		for _, pod := range w.Pods {
			if pod.Node != "" {
				busy[poolOf[pod.Node]] = true
			}
		}
	}
	for _, p := range topo.Pools {
		pc := PoolCost{Pool: p.Name, InstanceType: p.InstanceType, Nodes: p.Nodes(topo)}
		price, ok := in.Prices[p.InstanceType]
		switch {
		case !busy[p.Name]:
			pc.Status = Idle
		case !ok || p.InstanceType == "":
			pc.Status = NoPrice
			c.Complete = false
			it := p.InstanceType
			if it == "" {
				it = "no instanceType"
			}
			c.Unpriced = append(c.Unpriced, fmt.Sprintf("%s (%s)", p.Name, it))
		default:
			pc.Status, pc.Price, pc.Monthly = Priced, price, price*float64(pc.Nodes)
			c.Nodes += pc.Monthly
		}
		c.Pools = append(c.Pools, pc)
	}
	if !c.Complete && in.RequireCost {
		return c, fmt.Errorf("plan.requireCost: no price for pool(s) %s; add their instance types to plan.prices (monthly US dollars per node; a pool needs topology.pools[].instanceType first)", strings.Join(c.Unpriced, ", "))
	}
	c.Monthly = c.Nodes * (1 + in.OverheadPercent/100)
	c.MonthlyRounded = RoundDollars(c.Monthly)
	if len(topo.Zones) > 0 {
		c.PerZone = c.Monthly / float64(len(topo.Zones))
		c.PerZoneRounded = RoundDollars(c.PerZone)
	}
	if in.Devices > 0 {
		c.PerDeviceCents = c.Monthly * 100 / float64(in.Devices)
		c.PerDeviceCentsRounded = RoundTenthCent(c.PerDeviceCents)
	}
	return c, nil
}
