// Package shop counts visits and prices baskets.
package shop

import "sync"

// Counter counts visits; it is safe for concurrent use.
type Counter struct {
	mu sync.Mutex
	n  int
}

// Add records one visit.
func (c *Counter) Add() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
}

// Value is the number of visits so far. Its value receiver copies the
// lock: `go vet` reports it (copylocks), before any mutant.
func (c Counter) Value() int {
	return c.n
}

// Greeting greets a customer by name.
func Greeting(name string) string {
	return "Hello, " + name
}

// Level is the loyalty level earned by a number of visits, at most 255:
// levels are stored in a byte.
func Level(visits int) uint8 {
	if visits > 255 {
		return 255
	}
	return uint8(visits)
}

// Discounted is price less percent of it, rounded down.
func Discounted(price, percent int) int {
	return price - price*percent/100
}
