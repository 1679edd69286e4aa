//go:build slow

package pricing

import (
	"testing"
	"time"
)

func TestDiscountWaitsForRates(t *testing.T) {
	time.Sleep(time.Minute)
	if Discount(100, 10) != 90 {
		t.Fatal("wrong discount")
	}
}
