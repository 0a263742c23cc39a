// Package noop is the floor the benchmarks compare this function with: a
// composition function that does nothing but echo the request through the
// SDK.
package noop

import (
	"context"

	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"github.com/crossplane/function-sdk-go/response"
)

// Function answers every request with its desired state and context
// unchanged, as response.To makes them.
type Function struct {
	fnv1.UnimplementedFunctionRunnerServiceServer
}

// RunFunction returns the SDK's default response to the request.
func (Function) RunFunction(_ context.Context, req *fnv1.RunFunctionRequest) (*fnv1.RunFunctionResponse, error) {
	return response.To(req, response.DefaultTTL), nil
}

// Fixed answers every request with the same response: the floor of a
// function whose answer is as big as a real one but costs nothing to
// compute, so that the cost of sending the answer through the SDK's stack
// is measured apart from the cost of computing it.
type Fixed struct {
	fnv1.UnimplementedFunctionRunnerServiceServer

	Response *fnv1.RunFunctionResponse
}

// RunFunction returns the fixed response.
func (f Fixed) RunFunction(context.Context, *fnv1.RunFunctionRequest) (*fnv1.RunFunctionResponse, error) {
	return f.Response, nil
}
