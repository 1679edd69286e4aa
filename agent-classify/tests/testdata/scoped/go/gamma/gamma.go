// Package gamma has no test.
package gamma
