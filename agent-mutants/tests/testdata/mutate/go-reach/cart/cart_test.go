package cart_test

import (
	"testing"

	"example.com/goreach/cart"
)

// Deliberately weak: no cart here reaches the discount, so no mutant of
// package money fails this test.
func TestTotalKeepsSmallCarts(t *testing.T) {
	if got := cart.Total([]int{100, 200}); got != 300 {
		t.Fatalf("Total = %d, want 300", got)
	}
}
