// Command noopfn serves the no-op function (internal/noop) with the same
// SDK options as this function's main.go, as the floor `make bench`
// measures through gRPC. With --response it serves noop.Fixed instead,
// which answers every request with the response in that file; with
// --responses, noop.Replay, which answers each claim with the responses
// recorded for it (the floor of `make scale`).
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
	replay := flag.String("responses", "", "File of responses recorded by claim (noop.WriteRecording), each claim's answer.")
	certs := flag.String("tls-certs-dir", "", "Serve with mTLS, as the function does, with the certificates in this directory (tls.crt, tls.key, ca.crt); without it, serve without TLS.")
	metrics := flag.String("metrics-address", "", "Address at which to serve Prometheus metrics, as the function does; empty turns the metrics server off.")
	flag.Parse()
	var fn fnv1.FunctionRunnerServiceServer = noop.Function{}
	switch {
	case *fixed != "":
		b, err := os.ReadFile(*fixed)
		if err != nil {
			log.Fatal(err)
		}
		rsp := &fnv1.RunFunctionResponse{}
		if err := protojson.Unmarshal(b, rsp); err != nil {
			log.Fatalf("cannot read %s: %v", *fixed, err)
		}
		fn = noop.Fixed{Response: rsp}
	case *replay != "":
		rs, err := noop.ReadRecording(*replay)
		if err != nil {
			log.Fatalf("cannot read %s: %v", *replay, err)
		}
		fn = noop.Replay{Responses: rs}
	}
	log.Fatal(function.Serve(fn,
		function.Listen("tcp", *address),
		function.MTLSCertificates(*certs),
		function.Insecure(*certs == ""),
		function.MaxRecvMessageSize(4*1024*1024),
		function.WithMetricsServer(*metrics)))
}
