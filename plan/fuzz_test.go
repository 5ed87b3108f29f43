package plan

import (
	"strings"
	"testing"

	"github.com/iotstack/iotstack/profiles"
)

// FuzzPlanValues: any prices and overhead either validate or give errors
// naming their path under plan; never a panic. Valid inputs give finite
// figures with the documented rounding.
func FuzzPlanValues(f *testing.F) {
	f.Add("r7g.xlarge", 135.0, 50.0, 100000)
	f.Add("", -1.0, -5.0, -1)
	f.Add("m7g.xlarge", 1e308, 1000.0, 1)
	f.Add("m7g.xlarge", 9.3e18, 0.0, 1)
	f.Fuzz(func(t *testing.T, instance string, price, overhead float64, devices int) {
		pl := profiles.Plan{Prices: map[string]float64{instance: price}, OverheadPercent: overhead, Devices: devices}
		for _, e := range pl.Validate() {
			if e.Path == "" || !(strings.HasPrefix(e.Path, "prices") || strings.HasPrefix(e.Path, "overheadPercent")) {
				t.Errorf("error without a plan path: %+v", e)
			}
		}
		if r := RoundDollars(price); price >= 0 && (r < 0 || (price < 9e18 && float64(r) < price-1)) {
			t.Errorf("RoundDollars(%v) = %d", price, r)
		}
		if price > profiles.MaxPrice && len(pl.Validate()) == 0 {
			t.Errorf("price %v above MaxPrice validates", price)
		}
	})
}
