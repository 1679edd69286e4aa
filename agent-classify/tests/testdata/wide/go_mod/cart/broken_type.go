//go:build broken_type

package cart

// Count is the number of items, returned as the wrong type.
func Count(lines []Line) int {
	var n int64
	for _, l := range lines {
		n += l.Qty
	}
	return n
}
