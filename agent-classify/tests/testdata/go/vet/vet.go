package vet

import "fmt"

// Show prints n.
func Show(n int) string {
	return fmt.Sprintf("%s", n)
}
