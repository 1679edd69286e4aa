module example.com/makedeps

go 1.22
