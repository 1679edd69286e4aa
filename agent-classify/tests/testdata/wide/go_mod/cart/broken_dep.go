//go:build broken_dep

package cart

import "github.com/google/uuid"

// NewID makes an order id.
func NewID() string {
	return uuid.NewString()
}
