// Package money holds the cent arithmetic the shop uses. It has no tests
// of its own: only the cart's and the command's tests exercise it.
package money

// Percent returns pct percent of cents, rounded down.
func Percent(cents int, pct int) int {
	return cents * pct / 100
}
