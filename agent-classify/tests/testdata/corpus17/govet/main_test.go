package main

import "testing"

func TestGreet(t *testing.T) {
	if greet("x") == "" {
		t.Fatalf("empty")
	}
}
