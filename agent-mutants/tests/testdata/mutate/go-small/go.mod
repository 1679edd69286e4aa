module example.com/gosmall

go 1.19
