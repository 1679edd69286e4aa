package calc

import "strings"

// Add adds two ints.
func Add(a, b int) int {
	var s string = a
	return a + b + offset
}
