package newstd

import "slices"

// Sorted reports whether xs is in increasing order.
func Sorted(xs []int) bool {
	return slices.IsSorted(xs)
}
