package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	xpv1 "github.com/crossplane/crossplane-runtime/v2/apis/common/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/crossplane/function-sdk-go/logging"
	"github.com/crossplane/function-sdk-go/request"
	"github.com/crossplane/function-sdk-go/resource/composed"
	"github.com/crossplane/function-sdk-go/response"

	"github.com/example/function-kms-backend/input/v1beta1"
)

// BenchmarkHandWritten measures each path the function writes by hand, or
// with a cheaper library call, against the SDK helper or standard call it
// replaces, on the requests of BenchmarkRunFunction, beside the whole
// function (path=whole): code is hand-written only where it saves at least
// a tenth of the function's own CPU. docs/performance.md gives the figures.
//
//   - path=xr: converting the whole observed XR with
//     request.GetObservedCompositeResource before parsing the spec, against
//     reading it field by field from the request (ReadXR);
//   - path=observed: reading the observed resources' fields with the SDK's
//     fieldpath getters and their conditions with GetValueInto and
//     GetCondition, against apimachinery's getters and a walk of the
//     conditions (ReadObserved); how=jsonconditions is ReadObserved with
//     the SDK's conditions, to tell the two apart;
//   - path=status: setting each status field with the SDK's SetValue,
//     against apimachinery's SetNestedField;
//   - path=arn: splitting each ARN of the claim with strings.Split, against
//     splitARN;
//   - path=input: decoding the function's input with request.GetInput
//     (protojson, then Kubernetes' JSON decoder), or how=json with
//     json.Marshal of the input's map and the strict decoder, as the function
//     did before, against reading each distinct input once (inputs);
//   - path=policy: marshalling the key policy with json.Marshal, against
//     PolicyDocument.Marshal.
func BenchmarkHandWritten(b *testing.B) {
	for _, c := range benchClaims {
		if c.name == "invalid" {
			continue
		}
		r := c.build(b)
		run := func(path, how string, fn func()) {
			b.Run("claim="+c.name+"/path="+path+"/how="+how, func(b *testing.B) {
				b.ReportAllocs()
				cpu := processCPU(b)
				for b.Loop() {
					fn()
				}
				b.ReportMetric(float64(processCPU(b)-cpu)/float64(b.N), "cpu-ns/op")
			})
		}
		f := &Function{log: logging.NewNopLogger()}
		run("whole", "function", func() { _, _ = f.RunFunction(context.Background(), r) })

		run("xr", "sdk", func() {
			oxr, _ := request.GetObservedCompositeResource(r)
			sinkName = oxr.Resource.GetName()
			_, _ = ParseSpec(r.GetObserved().GetComposite().GetResource().GetFields()["spec"].GetStructValue().GetFields())
		})
		run("xr", "function", func() {
			xr := ReadXR(r.GetObserved().GetComposite().GetResource())
			sinkName = xr.Name
			_, _ = ParseSpec(xr.Spec)
		})

		run("observed", "sdk", func() {
			ocds, _ := request.GetObservedComposedResources(r)
			for _, ocd := range ocds {
				u := ocd.Resource
				for _, p := range []string{"spec.forProvider.region", "spec.providerConfigRef.name", "status.atProvider.keyId", "status.atProvider.arn", "status.atProvider.policy"} {
					sinkName, _ = u.GetString(p)
				}
				_, _ = u.GetBool("status.atProvider.enableKeyRotation")
				_, _ = u.GetInteger("status.atProvider.deletionWindowInDays")
				sinkConditions = sdkConditions(u)
			}
		})
		run("observed", "jsonconditions", func() {
			ocds, _ := request.GetObservedComposedResources(r)
			_ = ReadObserved(ocds, "eu-west-1")
			for _, ocd := range ocds {
				sinkConditions = sdkConditions(ocd.Resource)
			}
		})
		run("observed", "function", func() {
			ocds, _ := request.GetObservedComposedResources(r)
			_ = ReadObserved(ocds, "eu-west-1")
		})

		ocds, _ := request.GetObservedComposedResources(r)
		xr := ReadXR(r.GetObserved().GetComposite().GetResource())
		raw, _ := ParseSpec(xr.Spec)
		backend, _, _ := Resolve(raw, defaultSettings())
		fields := ComputeStatus(backend, ReadObserved(ocds, backend.Region), Adoptions{}, RecordedKey{}, false).Fields()
		run("status", "sdk", func() {
			dxr, _ := request.GetDesiredCompositeResource(r)
			for name, v := range fields {
				_ = dxr.Resource.SetValue("status."+name, v)
			}
			_ = response.SetDesiredCompositeResource(response.To(r, response.DefaultTTL), dxr)
		})
		run("status", "function", func() {
			dxr, _ := request.GetDesiredCompositeResource(r)
			for name, v := range fields {
				_ = unstructured.SetNestedField(dxr.Resource.Object, v, "status", name)
			}
			_ = response.SetDesiredCompositeResource(response.To(r, response.DefaultTTL), dxr)
		})

		arns := append(append([]string{}, raw.AdminUsers...), raw.StandardUsers...)
		run("arn", "sdk", func() {
			for _, a := range arns {
				sinkName = strings.Split(a, ":")[4]
			}
		})
		run("arn", "function", func() {
			for _, a := range arns {
				parts, _ := splitARN(a)
				sinkName = parts[4]
			}
		})

		run("input", "sdk", func() {
			in := &v1beta1.Input{}
			_ = request.GetInput(r, in)
			_, _ = ParseInput(in)
		})
		run("input", "json", func() {
			b, _ := json.Marshal(r.GetInput().AsMap())
			_, _ = readSettings(b)
		})
		run("input", "function", func() {
			_, _ = f.inputs.settings(r.GetInput())
		})

		policy := KeyPolicy(backend)
		run("policy", "sdk", func() {
			b, _ := json.Marshal(policy)
			sinkName = string(b)
		})
		run("policy", "function", func() {
			sinkName, _ = policy.Marshal()
		})
	}
}

// Sinks keep the compiler from optimizing the measured calls away.
var (
	sinkName       string
	sinkConditions Conditions
)

// sdkConditions reads the conditions provider-aws sets as the SDK's
// helpers would: status.conditions decoded through JSON, then GetCondition
// per type.
func sdkConditions(u *composed.Unstructured) Conditions {
	var cs xpv1.ConditionedStatus
	_ = u.GetValueInto("status.conditions", &cs.Conditions)
	out := make(Conditions, 3)
	for _, t := range []string{conditionReady, conditionSynced, conditionLastAsync} {
		c := cs.GetCondition(xpv1.ConditionType(t))
		out[t] = Condition{Status: string(c.Status), Reason: string(c.Reason), Message: c.Message}
	}
	return out
}
