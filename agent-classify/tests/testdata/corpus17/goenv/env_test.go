package goenv

import (
	"net"
	"os"
	"testing"
)

func TestReadsFixture(t *testing.T) {
	data, err := os.ReadFile("testdata/users.json")
	if err != nil {
		t.Fatal(err)
	}
	_ = data
}

func TestBindsBusyPort(t *testing.T) {
	first, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	second, err := net.Listen("tcp", first.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	second.Close()
}
