module example.com/panicking

go 1.19
