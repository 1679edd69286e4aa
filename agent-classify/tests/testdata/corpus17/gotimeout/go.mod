module example.com/gotimeout

go 1.19
