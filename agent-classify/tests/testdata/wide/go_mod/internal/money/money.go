// Package money holds amounts in cents.
package money

import "fmt"

// Cents is an amount of money in cents.
type Cents int64

// String formats c as dollars.
func (c Cents) String() string {
	return fmt.Sprintf("$%d.%02d", c/100, c%100)
}
