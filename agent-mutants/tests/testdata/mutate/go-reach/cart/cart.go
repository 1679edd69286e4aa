// Package cart totals a shopping cart through package money.
package cart

import (
	"example.com/goreach/internal/money"
)

// Total is the sum of the prices with a 10% discount at 10000 cents or more.
func Total(prices []int) int {
	sum := 0
	for _, p := range prices {
		sum += p
	}
	if sum >= 10000 {
		sum -= money.Percent(sum, 10)
	}
	return sum
}
