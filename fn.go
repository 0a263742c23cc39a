package main

import (
	"context"
	"strings"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/crossplane/function-sdk-go/logging"
	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"github.com/crossplane/function-sdk-go/request"
	"github.com/crossplane/function-sdk-go/resource"
	"github.com/crossplane/function-sdk-go/resource/composed"
	"github.com/crossplane/function-sdk-go/response"

	"github.com/example/function-kms-backend/input/v1beta1"
)

// Condition the function sets on the XR and its claim.
const (
	conditionSpecValid = "SpecValid"
	reasonValid        = "Valid"
	reasonInvalidSpec  = "InvalidSpec"
	reasonInvalidInput = "InvalidInput"
)

// Function composes a KMS Key and Alias from a KmsBackend XR.
type Function struct {
	fnv1.UnimplementedFunctionRunnerServiceServer

	log logging.Logger
}

// RunFunction reads the XR's spec and the observed Key and Alias, and
// answers with the desired Key and Alias and the XR's status; or, for a bad
// claim, with a Fatal result that names every problem and no change.
func (f *Function) RunFunction(_ context.Context, req *fnv1.RunFunctionRequest) (*fnv1.RunFunctionResponse, error) {
	rsp := response.To(req, response.DefaultTTL)

	in := &v1beta1.Input{}
	if err := request.GetInput(req, in); err != nil {
		return invalid(rsp, reasonInvalidInput, "invalid function input in the Composition: "+err.Error()), nil
	}
	settings, errs := ParseInput(in)
	if len(errs) > 0 {
		return invalid(rsp, reasonInvalidInput, "invalid function input in the Composition: "+join(errs)), nil
	}

	oxr, err := request.GetObservedCompositeResource(req)
	if err != nil {
		response.Fatal(rsp, errors.Wrap(err, "cannot get observed composite resource"))
		return rsp, nil
	}
	ocds, err := request.GetObservedComposedResources(req)
	if err != nil {
		response.Fatal(rsp, errors.Wrap(err, "cannot get observed composed resources"))
		return rsp, nil
	}
	observed := ReadObserved(ocds)

	spec, _ := oxr.Resource.Object["spec"].(map[string]any)
	raw, errs := ParseSpec(spec)
	claim, warnings, rerrs := Resolve(raw, settings)
	errs = append(errs, withoutFieldsOf(rerrs, errs)...)
	errs = append(errs, CheckReplacement(claim, observed)...)
	policy, err := KeyPolicy(claim).Marshal()
	if err != nil {
		response.Fatal(rsp, errors.Wrap(err, "cannot marshal key policy"))
		return rsp, nil
	}
	errs = append(errs, CheckPolicySize(policy)...)
	for _, w := range append(warnings, DeletionPolicyWarnings(claim, observed)...) {
		response.Warning(rsp, errors.New(w)).TargetCompositeAndClaim()
	}
	if len(errs) > 0 {
		f.log.Debug("Refusing invalid spec", "xr", oxr.Resource.GetName(), "errors", len(errs))
		return invalid(rsp, reasonInvalidSpec, "invalid spec: "+join(errs)), nil
	}

	target := Target{Namespace: oxr.Resource.GetNamespace()}
	keyID := ""
	if observed.Key != nil {
		keyID = observed.Key.KeyID
	}
	dcds, err := request.GetDesiredComposedResources(req)
	if err != nil {
		response.Fatal(rsp, errors.Wrap(err, "cannot get desired composed resources"))
		return rsp, nil
	}
	for name, d := range map[resource.Name]struct {
		obj   runtime.Object
		ready bool
	}{
		keyName:   {DesiredKey(claim, policy, target), observed.Key != nil && observed.Key.Ready},
		aliasName: {DesiredAlias(claim, keyID, target), observed.Alias != nil && observed.Alias.Ready},
	} {
		u, err := composed.From(d.obj)
		if err != nil {
			response.Fatal(rsp, errors.Wrapf(err, "cannot convert desired %s", name))
			return rsp, nil
		}
		// A typed object carries an empty status, which is the provider's
		// to write, never the function's.
		delete(u.Object, "status")
		dcds[name] = &resource.DesiredComposed{Resource: u, Ready: Readiness(d.ready)}
	}
	if err := response.SetDesiredComposedResources(rsp, dcds); err != nil {
		response.Fatal(rsp, errors.Wrap(err, "cannot set desired composed resources"))
		return rsp, nil
	}

	dxr, err := request.GetDesiredCompositeResource(req)
	if err != nil {
		response.Fatal(rsp, errors.Wrap(err, "cannot get desired composite resource"))
		return rsp, nil
	}
	status := ComputeStatus(claim, observed)
	for k, v := range status.Fields() {
		if err := dxr.Resource.SetValue("status."+k, v); err != nil {
			response.Fatal(rsp, errors.Wrapf(err, "cannot set status.%s", k))
			return rsp, nil
		}
	}
	if !target.Namespaced() {
		for k, v := range status.ConnectionDetails() {
			dxr.ConnectionDetails[k] = v
		}
	}
	if err := response.SetDesiredCompositeResource(rsp, dxr); err != nil {
		response.Fatal(rsp, errors.Wrap(err, "cannot set desired composite resource"))
		return rsp, nil
	}

	response.ConditionTrue(rsp, conditionSpecValid, reasonValid).TargetCompositeAndClaim()
	return rsp, nil
}

// invalid reports a refusal three ways, as SPEC section 6 asks: a Fatal
// result, so that nothing is applied; a SpecValid=False condition; and a
// warning event, both on the XR and its claim.
func invalid(rsp *fnv1.RunFunctionResponse, reason, msg string) *fnv1.RunFunctionResponse {
	response.Fatal(rsp, errors.New(msg))
	response.ConditionFalse(rsp, conditionSpecValid, reason).WithMessage(msg).TargetCompositeAndClaim()
	response.Warning(rsp, errors.New(msg)).WithReason(reason).TargetCompositeAndClaim()
	return rsp
}

// join lists every error, each with its field path, in one message.
func join(errs field.ErrorList) string {
	msgs := make([]string, 0, len(errs))
	for _, e := range errs {
		msgs = append(msgs, e.Error())
	}
	return strings.Join(msgs, "; ")
}
