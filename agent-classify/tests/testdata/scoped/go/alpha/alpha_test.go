package alpha

import "testing"

func TestIt(t *testing.T) {
	if Answer() != 42 {
		t.Fatalf("got %d", Answer())
	}
}
