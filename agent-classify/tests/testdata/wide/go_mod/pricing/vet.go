//go:build vetbad

package pricing

import "fmt"

// Label formats a discount label.
func Label(name string, percent int64) string {
	return fmt.Sprintf("%s: %d%% off", percent, name)
}
