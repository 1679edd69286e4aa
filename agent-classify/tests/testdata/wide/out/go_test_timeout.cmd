go test -count=1 -tags slow -timeout 3s ./pricing/
