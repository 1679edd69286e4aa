// Package alpha is a fixture: its test compares Answer() with 42.
package alpha

// Answer is the value under test.
func Answer() int { return 42 }
