// Command checkout prints the total of the prices given as arguments.
package main

import (
	"fmt"
	"os"
	"strconv"

	"example.com/goreach/cart"
)

func main() {
	var prices []int
	for _, arg := range os.Args[1:] {
		p, err := strconv.Atoi(arg)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		prices = append(prices, p)
	}
	fmt.Println(line(prices))
}

func line(prices []int) string {
	return "total: " + strconv.Itoa(cart.Total(prices))
}
