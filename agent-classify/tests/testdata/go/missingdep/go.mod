module example.com/missingdep

go 1.19
