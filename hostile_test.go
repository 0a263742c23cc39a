package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/crossplane/function-sdk-go/logging"
	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
)

// recvLimit is the largest request the server accepts: main.go's default
// --max-recv-message-size of 4 MB, the SDK's default too.
const recvLimit = 4 << 20

// hostile is a request built to cost the function as much as a claim can,
// and what its refusal must say.
type hostile struct {
	reason string
	req    *fnv1.RunFunctionRequest
	want   []string // substrings of the Fatal message
}

// hostileRequests are inputs built to cost the function: each is refused with a
// Fatal result that names the field and the limit, after work bounded by a
// limit rather than by the request's size where a limit exists.
func hostileRequests(t testing.TB) map[string]hostile {
	t.Helper()
	arns := func(n int) []any {
		l := make([]any, n)
		for i := range l {
			l[i] = fmt.Sprintf("arn:aws:iam::123456789012:user/u%d", i)
		}
		return l
	}
	valid := func() map[string]any {
		return map[string]any{
			"aliasName": "app", "region": "eu-west-1",
			"adminUsers": []any{"arn:aws:iam::123456789012:role/admin"}, "standardUsers": []any{"arn:aws:iam::123456789012:role/app"},
		}
	}
	nearLimit := func(field string, fill func(spec map[string]any, n int)) *fnv1.RunFunctionRequest {
		// Grow the field in proportion to what is left, until the request
		// lands just under the limit.
		spec, n := valid(), recvLimit/40
		for range 5 {
			fill(spec, n)
			r := hostileRequest(t, spec)
			s := proto.Size(r)
			if s <= recvLimit && s > recvLimit-64<<10 {
				return r
			}
			n = n * (recvLimit - 16<<10) / s
		}
		t.Fatalf("cannot fill %s to just under %d bytes", field, recvLimit)
		return nil
	}

	tenThousand := valid()
	tenThousand["adminUsers"] = arns(10000)
	garbage := valid()
	garbage["adminUsers"] = make([]any, 10000)
	for i := range garbage["adminUsers"].([]any) {
		garbage["adminUsers"].([]any)[i] = "arn:aws:iam::123456789012:group/g"
	}
	manyBad := valid()
	manyBad["adminUsers"] = make([]any, maxPrincipals-1)
	manyDup := valid()
	manyDup["adminUsers"] = make([]any, maxPrincipals-1)
	for i := range maxPrincipals - 1 {
		manyBad["adminUsers"].([]any)[i] = fmt.Sprintf("arn:aws:iam::123456789012:group/g%d", i)
		manyDup["adminUsers"].([]any)[i] = "arn:aws:iam::123456789012:group/g"
	}
	deepAlias := valid()
	deepAlias["aliasName"] = deep(100000)

	return map[string]hostile{
		"NearRecvLimitDescription": {
			reason: "A description of almost 4 MB is refused by its length, not echoed.",
			req: nearLimit("description", func(spec map[string]any, n int) {
				spec["description"] = strings.Repeat("x", n)
			}),
			want: []string{"spec.description: Too long: may not be more than 8192 characters"},
		},
		"NearRecvLimitARNs": {
			reason: "Almost 4 MB of ARNs is refused by the list's length before one is parsed.",
			req: nearLimit("standardUsers", func(spec map[string]any, n int) {
				spec["standardUsers"] = arns(n / 36)
			}),
			want: []string{"spec.standardUsers: Too many: ", "must have at most 1000 items"},
		},
		"NearRecvLimitTags": {
			reason: "Almost 4 MB of tags is refused by their count before one is checked.",
			req: nearLimit("tags", func(spec map[string]any, n int) {
				tags := make(map[string]any, n/16)
				for i := range n / 16 {
					tags[fmt.Sprintf("k%07d", i)] = "v"
				}
				spec["tags"] = tags
			}),
			want: []string{"spec.tags: Too many: ", "must have at most 47 items"},
		},
		"TenThousandARNs": {
			reason: "10,000 valid ARNs could never fit a key policy: refused by count.",
			req:    hostileRequest(t, tenThousand),
			want:   []string{"spec.adminUsers: Too many: 10000: must have at most 1000 items"},
		},
		"TenThousandBadARNs": {
			reason: "10,000 entries are refused by count, not with 10,000 messages.",
			req:    hostileRequest(t, garbage),
			want:   []string{"spec.adminUsers: Too many: 10000: must have at most 1000 items"},
		},
		"ManyBadARNs": {
			reason: "999 bad ARNs, under the count limit, give one message of 20 problems and a count of the rest.",
			req:    hostileRequest(t, manyBad),
			want:   []string{"spec.adminUsers[0]: Invalid value", "; and 979 more problems"},
		},
		"ManyDuplicates": {
			reason: "998 duplicates give 20 warning events and a count of the rest.",
			req:    hostileRequest(t, manyDup),
			want:   []string{"spec.adminUsers[0]: Invalid value"},
		},
		"DeepNestingInField": {
			reason: "An object nested 100,000 deep where a string belongs is a type error, not a walk.",
			req:    hostileRequest(t, deepAlias),
			want:   []string{`spec.aliasName: Invalid value: "<object>": must be a string`},
		},
		"DeepNestingGarbage": {
			reason: "A spec of nothing but nested garbage lacks every required field.",
			req:    hostileRequest(t, map[string]any{"x": deep(100000)}),
			want:   []string{"spec.aliasName: Required value", "spec.adminUsers: Required value", "spec.region: Required value"},
		},
	}
}

// deep returns {"x": {"x": ... {}}}, depth objects deep.
func deep(depth int) map[string]any {
	m := map[string]any{}
	for range depth - 1 {
		m = map[string]any{"x": m}
	}
	return m
}

// hostileRequest wraps a spec, as decoded JSON, in a request for a legacy XR.
func hostileRequest(t testing.TB, spec map[string]any) *fnv1.RunFunctionRequest {
	t.Helper()
	xr, err := structpb.NewStruct(map[string]any{
		"apiVersion": "kms.example.org/v1alpha1", "kind": "XKmsBackend",
		"metadata": map[string]any{"name": "hostile"}, "spec": spec,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &fnv1.RunFunctionRequest{Observed: &fnv1.State{Composite: &fnv1.Resource{Resource: xr}}}
}

func TestHostileInput(t *testing.T) {
	f := &Function{log: logging.NewNopLogger()}
	for name, tc := range hostileRequests(t) {
		t.Run(name, func(t *testing.T) {
			rsp, err := f.RunFunction(context.Background(), tc.req)
			if err != nil {
				t.Fatalf("%s\nRunFunction(...): want no error, got %v", tc.reason, err)
			}
			rs := rsp.GetResults()
			if len(rs) == 0 || rs[len(rs)-1].GetSeverity() != fnv1.Severity_SEVERITY_FATAL {
				t.Fatalf("%s\nwant a Fatal result last, got %v", tc.reason, rs)
			}
			msg := rs[len(rs)-1].GetMessage()
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("%s\nFatal message %q does not say %q", tc.reason, msg, w)
				}
			}
			if n := len(rs); n > maxReported+3 {
				t.Errorf("%s\n%d results: each is an event; want at most %d warnings, a count of the rest, and the refusal", tc.reason, n, maxReported)
			}
			if n := proto.Size(rsp); n > maxMessageBytes*4 {
				t.Errorf("%s\nresponse of %d bytes: a refusal must not echo the request", tc.reason, n)
			}
			checkRefusal(t, rsp)
		})
	}
}

// BenchmarkHostile measures what each hostile request costs, next to a valid
// claim's: time, bytes and allocations per call, with the request built
// before the timer starts. (The request itself, as decoded by gRPC, is the
// caller's memory, not counted.)
func BenchmarkHostile(b *testing.B) {
	f := &Function{log: logging.NewNopLogger()}
	cases := hostileRequests(b)
	cases["ValidClaim"] = hostile{req: req(b, exampleSpec, "", "")}
	for _, name := range []string{"ValidClaim", "NearRecvLimitDescription", "NearRecvLimitARNs", "NearRecvLimitTags", "TenThousandARNs", "TenThousandBadARNs", "ManyBadARNs", "ManyDuplicates", "DeepNestingInField", "DeepNestingGarbage"} {
		r := cases[name].req
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.ReportMetric(float64(proto.Size(r)), "req-bytes")
			for b.Loop() {
				if _, err := f.RunFunction(context.Background(), r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
