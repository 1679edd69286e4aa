go test -count=1 -tags envtest ./pricing/
