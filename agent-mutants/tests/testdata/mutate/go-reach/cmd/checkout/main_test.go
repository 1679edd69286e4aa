package main

import "testing"

func TestLine(t *testing.T) {
	if got := line([]int{20000}); got != "total: 18000" {
		t.Fatalf("line = %q", got)
	}
}
