module example.com/goreach

go 1.19
