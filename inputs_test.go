package main

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/crossplane/function-sdk-go/logging"
)

// platformInput is an input with every kind of setting, the shared slices
// and maps included.
const platformInput = `
  apiVersion: kmsbackend.fn.example.org/v1beta1
  kind: Input
  defaults:
    region: eu-central-1
    tags: {env: dev, managed-by: crossplane}
  policy: {accountId: "111111111111"}
  guardrails:
    allowedAccountIds: ["111111111111", "222222222222"]`

func TestInputsRemembered(t *testing.T) {
	cases := map[string]*structpb.Struct{
		"None":     nil,
		"Platform": inputOf(t, platformInput),
		"Invalid":  inputOf(t, "\n  apiVersion: kmsbackend.fn.example.org/v1beta1\n  kind: Input\n  defaults: {region: mars-1}"),
		"Unknown":  inputOf(t, "\n  apiVersion: kmsbackend.fn.example.org/v1beta1\n  kind: Input\n  defualts: {}\n  polcy: {}"),
	}
	var c inputs
	parsed := map[string]int{}
	for range 3 {
		for name, in := range cases {
			got := c.get(in, func(in *structpb.Struct) parsedInput {
				parsed[name]++
				return parseInput(in)
			})
			if diff := cmp.Diff(parseInput(in), got, cmp.AllowUnexported(parsedInput{})); diff != "" {
				t.Errorf("%s: remembered input: -parsed, +remembered:\n%s", name, diff)
			}
		}
	}
	for name := range cases {
		if parsed[name] != 1 {
			t.Errorf("%s: parsed %d times in 3 calls, want once", name, parsed[name])
		}
	}
}

func TestInputsBounded(t *testing.T) {
	var c inputs
	parses := 0
	parse := func(in *structpb.Struct) parsedInput { parses++; return parseInput(in) }
	first := inputOf(t, "\n  apiVersion: kmsbackend.fn.example.org/v1beta1\n  kind: Input\n  defaults: {region: eu-west-1}")
	c.get(first, parse)
	for i := range maxInputs + 1 {
		c.get(inputOf(t, fmt.Sprintf("\n  apiVersion: kmsbackend.fn.example.org/v1beta1\n  kind: Input\n  defaults: {deletionWindowInDays: %d}", 7+i%24)+fmt.Sprintf("\n  policy: {accountId: \"%012d\"}", i)), parse)
		if len(c.m) > maxInputs {
			t.Fatalf("%d inputs remembered, want at most %d", len(c.m), maxInputs)
		}
	}
	before := parses
	c.get(first, parse)
	if parses != before+1 {
		t.Errorf("the first input, forgotten when the cache started afresh, was not parsed again")
	}
}

// TestRememberedInputUnchanged runs claims that read every shared part of
// the remembered settings (tags merged with the claim's, allowed accounts)
// and checks that the settings are still what the input gives.
func TestRememberedInputUnchanged(t *testing.T) {
	f := &Function{log: logging.NewNopLogger()}
	r := req(t, `
    aliasName: app
    adminUsers: [arn:aws:iam::111111111111:role/admin, arn:aws:iam::222222222222:role/admin]
    standardUsers: [arn:aws:iam::333333333333:role/app, arn:aws:iam::111111111111:role/app]
    tags: {env: prod, team: payments}`, "", platformInput)
	for range 3 {
		if _, err := f.RunFunction(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	if len(f.inputs.m) != 1 {
		t.Fatalf("want the input remembered once, got %d entries", len(f.inputs.m))
	}
	for _, got := range f.inputs.m {
		if diff := cmp.Diff(parseInput(r.GetInput()), got, cmp.AllowUnexported(parsedInput{})); diff != "" {
			t.Errorf("remembered settings changed by RunFunction: -input, +remembered:\n%s", diff)
		}
	}
}

// inputOf returns an input written in YAML under a request's input:.
func inputOf(t *testing.T, y string) *structpb.Struct {
	t.Helper()
	return req(t, " {}", "", y).GetInput()
}
