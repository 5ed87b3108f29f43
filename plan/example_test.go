package plan_test

import (
	"fmt"

	"github.com/iotstack/iotstack/plan"
	"github.com/iotstack/iotstack/profiles"
)

// The ThingsBoard article's cost, computed from minimal-3az's stack and
// its default values.
func ExampleCompute() {
	p, _ := profiles.Get("minimal-3az")
	v := p.Defaults()
	b, err := p.BuildValues(v)
	if err != nil {
		panic(err) // the defaults build
	}
	pl, err := plan.Compute(p.Name, b, v)
	if err != nil {
		panic(err)
	}
	c := pl.Cost
	fmt.Printf("$%d per month, %.1f cents per device at %d devices\n", c.MonthlyRounded, c.PerDeviceCentsRounded, c.Devices)
	fmt.Printf("survives a zone loss: %v, below %.0f%% average CPU\n", pl.Zone.OK, pl.Zone.MaxAverageCPU*100)
	// Output:
	// $608 per month, 0.6 cents per device at 100000 devices
	// survives a zone loss: true, below 67% average CPU
}
