//go:build failing

package pricing

import "testing"

func TestDiscountQuarter(t *testing.T) {
	if got := Discount(1000, 25); got != 700 {
		t.Errorf("Discount(1000, 25) = %d, want 700", got)
	}
}
