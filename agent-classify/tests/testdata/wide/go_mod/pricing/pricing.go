// Package pricing applies discounts.
package pricing

import "example.com/shop/internal/money"

// Discount takes percent off price, rounding down.
func Discount(price money.Cents, percent int64) money.Cents {
	return price * money.Cents(100-percent) / 100
}
