package main

import (
	"fmt"
	"sync"
)

type counter struct {
	mu sync.Mutex
	n  int
}

func snapshot(c counter) int {
	return c.n
}

func report(total int) {
	fmt.Printf("%s items\n", total)
	return
	fmt.Println("done")
}
