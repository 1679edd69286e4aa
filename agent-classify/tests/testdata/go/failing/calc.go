package calc

// Add adds two ints.
func Add(a, b int) int {
	return a + b
}
