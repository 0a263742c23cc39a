package main

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/types/known/structpb"
)

func TestWriteJSONValue(t *testing.T) {
	cases := map[string]any{
		"Object": map[string]any{
			"z": "last", "a": "first", "m": map[string]any{"b": true, "a": nil},
		},
		"Numbers":  []any{0.0, math.Copysign(0, -1), 1.0, 30.0, 123456789.0, 1e20, 1e21, 1.5e300, 0.5, 1e-6, 1e-7, -42.25},
		"Strings":  []any{"", "plain", `quote " and \ backslash`, "<html> & co", "tab\tnewline\n", "ünïcödé", "\u2028"},
		"Nested":   []any{[]any{}, map[string]any{}, []any{map[string]any{"k": []any{"v"}}}},
		"Booleans": []any{true, false},
	}
	for name, v := range cases {
		t.Run(name, func(t *testing.T) {
			pv, err := structpb.NewValue(v)
			if err != nil {
				t.Fatal(err)
			}
			want, err := json.Marshal(pv.AsInterface())
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			writeJSONValue(&b, pv)
			if diff := cmp.Diff(string(want), b.String()); diff != "" {
				t.Errorf("writeJSONValue differs from json.Marshal of AsInterface (-want +got):\n%s", diff)
			}
		})
	}
}

// TestInputsRemembered checks that remembering the inputs changes nothing
// of what reading them gives, however often and in whatever order they come.
func TestInputsRemembered(t *testing.T) {
	input := func(tb testing.TB, y string) *structpb.Struct {
		tb.Helper()
		return reqFromYAML(tb, "input:"+y).GetInput()
	}
	eu := input(t, `
  apiVersion: kmsbackend.fn.example.org/v1beta1
  kind: Input
  defaults: {region: eu-west-1, deletionWindowInDays: 14, tags: {team: a}}`)
	us := input(t, `
  apiVersion: kmsbackend.fn.example.org/v1beta1
  kind: Input
  defaults: {region: us-east-1, deletionWindowInDays: 14, tags: {team: a}}`)
	unknown := input(t, `
  apiVersion: kmsbackend.fn.example.org/v1beta1
  kind: Input
  default: {region: eu-west-1}`)
	invalid := input(t, `
  apiVersion: kmsbackend.fn.example.org/v1beta1
  kind: Input
  defaults: {region: mars-1}`)

	type read struct {
		Settings Settings
		Err      string
	}
	fresh := func(in *structpb.Struct) read {
		var c inputs
		s, err := c.settings(in)
		r := read{Settings: s}
		if err != nil {
			r.Err = err.Error()
		}
		return r
	}
	var c inputs
	for round := range 3 {
		for name, in := range map[string]*structpb.Struct{"eu": eu, "us": us, "unknown": unknown, "invalid": invalid, "none": nil} {
			s, err := c.settings(in)
			got := read{Settings: s}
			if err != nil {
				got.Err = err.Error()
			}
			if diff := cmp.Diff(fresh(in), got); diff != "" {
				t.Errorf("round %d, input %s: remembered read differs from a fresh one (-fresh +remembered):\n%s", round, name, diff)
			}
		}
	}
	if got := fresh(eu).Settings.Region; got != "eu-west-1" {
		t.Errorf("eu input: region %q, want eu-west-1", got)
	}
	if got := fresh(us).Settings.Region; got != "us-east-1" {
		t.Errorf("us input: region %q, want us-east-1", got)
	}
	if got := fresh(unknown).Err; !strings.Contains(got, `unknown field "default"`) {
		t.Errorf("unknown field: error %q, want it to name the field", got)
	}
	if got := fresh(invalid).Err; !strings.Contains(got, "input.defaults.region") {
		t.Errorf("invalid region: error %q, want it to name the field", got)
	}

	for i := range 3 * maxInputs {
		if _, err := c.settings(input(t, fmt.Sprintf(`
  defaults: {deletionWindowInDays: %d}`, 7+i%24))); err != nil {
			t.Fatal(err)
		}
		if len(c.read) > maxInputs {
			t.Fatalf("remembers %d inputs, want at most %d", len(c.read), maxInputs)
		}
	}
}
