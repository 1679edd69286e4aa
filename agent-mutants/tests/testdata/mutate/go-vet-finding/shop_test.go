package shop

import "testing"

func TestCounterCountsVisits(t *testing.T) {
	var c Counter
	c.Add()
	c.Add()
	if got := c.Value(); got != 2 {
		t.Fatalf("Value() = %d, want 2", got)
	}
}

func TestGreeting(t *testing.T) {
	if got := Greeting("Ada"); got != "Hello, Ada" {
		t.Fatalf("Greeting = %q", got)
	}
}

func TestDiscounted(t *testing.T) {
	if got := Discounted(1000, 15); got != 850 {
		t.Fatalf("Discounted(1000, 15) = %d, want 850", got)
	}
}

func TestLevelIsCappedAtTheTop(t *testing.T) {
	if got := Level(300); got != 255 {
		t.Fatalf("Level(300) = %d, want 255", got)
	}
	if got := Level(7); got != 7 {
		t.Fatalf("Level(7) = %d, want 7", got)
	}
}
