// Package beta is a fixture: its test compares Answer() with 42.
package beta

// Answer is the value under test.
func Answer() int { return 41 }
