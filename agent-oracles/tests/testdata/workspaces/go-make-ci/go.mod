module example.com/makeci

go 1.22
