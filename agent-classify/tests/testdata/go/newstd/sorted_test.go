package newstd

import "testing"

func TestSorted(t *testing.T) {
	if !Sorted([]int{1, 2, 3}) {
		t.Fatal("1, 2, 3 is sorted")
	}
}
