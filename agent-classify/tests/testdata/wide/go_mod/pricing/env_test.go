//go:build envtest

package pricing

import (
	"os"
	"testing"
)

func TestPricesFromFixture(t *testing.T) {
	data, err := os.ReadFile("testdata/prices.csv")
	if err != nil {
		t.Fatalf("reading fixture: %v", err)
	}
	if len(data) == 0 {
		t.Fatal("empty fixture")
	}
}
