package noop

import (
	"context"
	"encoding/json"
	"os"

	"google.golang.org/protobuf/encoding/protojson"

	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"github.com/crossplane/function-sdk-go/response"
)

// Recorded is what a function answered for one claim: to a request that
// did not carry Crossplane's answer to the function's requirements (the
// first call of a reconcile, and a reconcile's only call when the function
// required nothing), and to one that did.
type Recorded struct {
	Asking   *fnv1.RunFunctionResponse
	Answered *fnv1.RunFunctionResponse
}

// Replay answers each request with the response recorded for its claim, or
// for its XR where there is no claim: the floor `make scale` measures, a
// function whose answers are as big as the real one's, and change as
// little, but cost nothing to compute. A request for a claim with no
// recording gets the no-op's answer.
type Replay struct {
	fnv1.UnimplementedFunctionRunnerServiceServer

	Responses map[string]Recorded // by ClaimKey
}

// RunFunction returns the response recorded for the request's claim.
func (r Replay) RunFunction(_ context.Context, req *fnv1.RunFunctionRequest) (*fnv1.RunFunctionResponse, error) {
	rec := r.Responses[ClaimKey(req)]
	rsp := rec.Asking
	if Answered(req) {
		rsp = rec.Answered
	}
	if rsp == nil {
		return response.To(req, response.DefaultTTL), nil
	}
	return rsp, nil
}

// ClaimKey names the claim a request is for, as namespace/name: the claim
// labels Crossplane puts on a claim's XR, or the XR's own namespace and name
// (a namespaced XR has no claim). It stays the same when the claim is
// deleted and made again, unlike the XR's generated name.
func ClaimKey(req *fnv1.RunFunctionRequest) string {
	md := req.GetObserved().GetComposite().GetResource().GetFields()["metadata"].GetStructValue().GetFields()
	labels := md["labels"].GetStructValue().GetFields()
	if name := labels["crossplane.io/claim-name"].GetStringValue(); name != "" {
		return labels["crossplane.io/claim-namespace"].GetStringValue() + "/" + name
	}
	return md["namespace"].GetStringValue() + "/" + md["name"].GetStringValue()
}

// Answered reports whether a request carries Crossplane's answer to the
// function's requirements, in either generation of the API.
func Answered(req *fnv1.RunFunctionRequest) bool {
	return len(req.GetRequiredResources()) > 0 || len(req.GetExtraResources()) > 0 //nolint:staticcheck // Crossplane before v2.2 answers there.
}

// recording is a file of recorded responses: each as protojson, by claim.
type recording map[string]struct {
	Asking   json.RawMessage `json:"asking,omitempty"`
	Answered json.RawMessage `json:"answered,omitempty"`
}

// WriteRecording writes the responses, by ClaimKey, to a file that
// ReadRecording reads.
func WriteRecording(path string, responses map[string]Recorded) error {
	out := make(recording, len(responses))
	for k, r := range responses {
		e := out[k]
		var err error
		if r.Asking != nil {
			if e.Asking, err = protojson.Marshal(r.Asking); err != nil {
				return err
			}
		}
		if r.Answered != nil {
			if e.Answered, err = protojson.Marshal(r.Answered); err != nil {
				return err
			}
		}
		out[k] = e
	}
	b, err := json.Marshal(out)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

// ReadRecording reads the responses WriteRecording wrote.
func ReadRecording(path string) (map[string]Recorded, error) {
	b, err := os.ReadFile(path) //nolint:gosec // The operator names the file.
	if err != nil {
		return nil, err
	}
	in := recording{}
	if err := json.Unmarshal(b, &in); err != nil {
		return nil, err
	}
	out := make(map[string]Recorded, len(in))
	for k, e := range in {
		var r Recorded
		for _, f := range []struct {
			raw json.RawMessage
			to  **fnv1.RunFunctionResponse
		}{{e.Asking, &r.Asking}, {e.Answered, &r.Answered}} {
			if len(f.raw) == 0 {
				continue
			}
			*f.to = &fnv1.RunFunctionResponse{}
			if err := protojson.Unmarshal(f.raw, *f.to); err != nil {
				return nil, err
			}
		}
		out[k] = r
	}
	return out, nil
}
