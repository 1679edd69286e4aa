// Package cart totals a shopping cart.
package cart

import (
	"example.com/shop/internal/money"
	"example.com/shop/pricing"
)

// Line is one item of a cart.
type Line struct {
	Name  string
	Price money.Cents
	Qty   int64
}

// Total is the sum of the lines after a discount.
func Total(lines []Line, percent int64) money.Cents {
	var sum money.Cents
	for _, l := range lines {
		sum += l.Price * money.Cents(l.Qty)
	}
	return pricing.Discount(sum, percent)
}

// Cheapest is the cheapest line.
func Cheapest(lines []Line) Line {
	best := lines[0]
	for _, l := range lines[1:] {
		if l.Price < best.Price {
			best = l
		}
	}
	return best
}
