package main

import (
	"fmt"

	"example.com/shop/cart"
)

func main() {
	fmt.Println(cart.Total([]cart.Line{{Name: "pen", Price: 150, Qty: 2}}, 10))
}
