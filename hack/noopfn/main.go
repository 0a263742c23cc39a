// Command noopfn serves the no-op function (internal/noop) with the same
// SDK options as this function's main.go, as the floor `make bench`
// measures through gRPC.
package main

import (
	"flag"
	"log"

	"github.com/crossplane/function-sdk-go"

	"github.com/example/function-kms-backend/internal/noop"
)

func main() {
	address := flag.String("address", ":9443", "Address at which to listen for gRPC connections.")
	flag.Parse()
	log.Fatal(function.Serve(noop.Function{},
		function.Listen("tcp", *address),
		function.Insecure(true),
		function.MaxRecvMessageSize(4*1024*1024),
		function.WithMetricsServer("")))
}
