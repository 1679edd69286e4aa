//go:build broken_import

package cart

import "example.com/shop/inventory"

// InStock reports whether every line is in stock.
func InStock(lines []Line) bool {
	return inventory.Has(len(lines))
}
