//go:build broken_syntax

package pricing

// Markup adds percent to price.
func Markup(price int64, percent int64) int64 {
	return price * (100 + percent) / 100
