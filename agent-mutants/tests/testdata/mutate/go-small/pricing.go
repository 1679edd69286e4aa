// Package pricing is a tiny shop-pricing package: the mutation-testing fixture.
package pricing

import (
	"errors"
	"fmt"
)

// IsAdult reports whether a customer of this age may buy alcohol.
func IsAdult(age int) bool {
	return age >= 18
}

// Discounted is the price in cents after a percentage discount (at most 100 %).
func Discounted(price, percent int) int {
	if percent > 100 {
		percent = 100
	}
	return price - price*percent/100
}

// Shipping is the shipping cost in cents: free from 5000 cents, else a flat fee.
func Shipping(total int) int {
	if total >= 5000 {
		return 0
	}
	return 499
}

// Bucket is the size bucket of an order by item count.
func Bucket(items int) string {
	switch {
	case items == 0:
		return "empty"
	case items <= 3:
		return "small"
	default:
		return "large"
	}
}

// Line is one order line.
type Line struct {
	Price, Qty int
}

// Total sums price × quantity over the lines.
func Total(lines []Line) int {
	sum := 0
	for _, l := range lines {
		sum += l.Price * l.Qty
	}
	return sum
}

// ErrEmpty is returned by ParseCoupon for an empty code.
var ErrEmpty = errors.New("empty coupon")

// ParseCoupon checks a coupon code: 8 characters starting with "SAVE" ("SAVE == ok").
func ParseCoupon(code string) (string, error) {
	if len(code) == 0 {
		return "", ErrEmpty
	}
	if len(code) != 8 || code[:4] != "SAVE" {
		return "", fmt.Errorf("bad coupon %q", code)
	}
	return code[4:], nil
}

// MaxPrice is the larger of two prices.
func MaxPrice(a, b int) int {
	if a > b {
		return a
	}
	return b
}
