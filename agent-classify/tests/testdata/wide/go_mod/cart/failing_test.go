//go:build failing

package cart

import "testing"

func TestTotalWithDiscount(t *testing.T) {
	lines := []Line{{"pen", 150, 2}, {"pad", 300, 1}}
	if got := Total(lines, 10); got != 500 {
		t.Fatalf("Total with 10%% off = %d, want 500", got)
	}
}

func TestCheapestOfNone(t *testing.T) {
	if got := Cheapest(nil); got.Name != "" {
		t.Errorf("Cheapest(nil) = %v", got)
	}
}
