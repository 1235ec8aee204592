module healthai.internal/go

// CI builds this offline in GOPATH mode against Debian's Go packages (grpc-go 1.33, protobuf-go
// 1.28, genproto 2020-04; see README.md). The generated code needs only SupportPackageIsVersion7
// and protoimpl, so it also builds with current releases: outside CI, `go mod tidy` here.
go 1.19
