package cart

import "testing"

func TestTotal(t *testing.T) {
	lines := []Line{{"pen", 150, 2}, {"pad", 300, 1}}
	if got := Total(lines, 0); got != 600 {
		t.Errorf("Total = %d, want 600", got)
	}
}
