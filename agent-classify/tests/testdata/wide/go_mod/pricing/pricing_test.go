package pricing

import "testing"

func TestDiscountNone(t *testing.T) {
	if got := Discount(1000, 0); got != 1000 {
		t.Errorf("Discount(1000, 0) = %d, want 1000", got)
	}
}

func TestDiscountHalf(t *testing.T) {
	if got := Discount(1000, 50); got != 500 {
		t.Errorf("Discount(1000, 50) = %d, want 500", got)
	}
}
