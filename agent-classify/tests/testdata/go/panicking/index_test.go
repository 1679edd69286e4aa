package index

import "testing"

func TestAtOutOfRange(t *testing.T) {
	if At([]int{1, 2}, 5) != 0 {
		t.Fatal("unreachable")
	}
}
