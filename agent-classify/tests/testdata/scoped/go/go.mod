module example.com/scoped

go 1.19
