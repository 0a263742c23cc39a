// Command noopfn serves the no-op function (internal/noop) with the same
// SDK options as this function's main.go, as the floor `make bench`
// measures through gRPC. With --response it serves noop.Fixed instead,
// which answers every request with the response in that file.
package main

import (
	"flag"
	"log"
	"os"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/crossplane/function-sdk-go"
	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"

	"github.com/example/function-kms-backend/internal/noop"
)

func main() {
	address := flag.String("address", ":9443", "Address at which to listen for gRPC connections.")
	fixed := flag.String("response", "", "File holding a RunFunctionResponse as JSON, the answer to every request.")
	flag.Parse()
	var fn fnv1.FunctionRunnerServiceServer = noop.Function{}
	if *fixed != "" {
		b, err := os.ReadFile(*fixed)
		if err != nil {
			log.Fatal(err)
		}
		rsp := &fnv1.RunFunctionResponse{}
		if err := protojson.Unmarshal(b, rsp); err != nil {
			log.Fatalf("cannot read %s: %v", *fixed, err)
		}
		fn = noop.Fixed{Response: rsp}
	}
	log.Fatal(function.Serve(fn,
		function.Listen("tcp", *address),
		function.Insecure(true),
		function.MaxRecvMessageSize(4*1024*1024),
		function.WithMetricsServer("")))
}
