package index

// At returns xs[i].
func At(xs []int, i int) int {
	return xs[i]
}
