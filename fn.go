package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strings"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"google.golang.org/protobuf/types/known/structpb"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apimachinery/pkg/util/validation/field"
	kjson "sigs.k8s.io/json"

	"github.com/crossplane/function-sdk-go/logging"
	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"github.com/crossplane/function-sdk-go/request"
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
	if err := getInput(req, in); err != nil {
		return invalid(rsp, reasonInvalidInput, "invalid function input in the Composition: "+err.Error()), nil
	}
	settings, errs := ParseInput(in)
	if len(errs) > 0 {
		return invalid(rsp, reasonInvalidInput, "invalid function input in the Composition: "+join(errs)), nil
	}

	// Only the Key and the Alias are read: the resources of other steps of
	// the pipeline are not converted.
	objs := make(map[string]map[string]any, 2)
	for _, name := range []string{keyName, aliasName} {
		if r, ok := req.GetObserved().GetResources()[name]; ok {
			objs[name] = r.GetResource().AsMap()
		}
	}
	observed := ReadObserved(objs)

	// Of the observed XR only the spec, name and namespace matter: converting
	// the whole XR to a map, metadata and status included, as
	// request.GetObservedCompositeResource does, costs as much again.
	xr := req.GetObserved().GetComposite().GetResource().GetFields()
	meta := xr["metadata"].GetStructValue().GetFields()
	xrName, xrNamespace := meta["name"].GetStringValue(), meta["namespace"].GetStringValue()
	raw, errs := ParseSpec(xr["spec"].GetStructValue().GetFields())
	claim, warnings, rerrs := Resolve(raw, settings)
	errs = append(errs, withoutFieldsOf(rerrs, errs)...)
	errs = append(errs, CheckReplacement(claim, observed)...)
	policy, err := KeyPolicy(claim).Marshal()
	if err != nil {
		response.Fatal(rsp, errors.Wrap(err, "cannot marshal key policy"))
		return rsp, nil
	}
	errs = append(errs, CheckPolicySize(policy)...)

	// The Alias is composed only once Crossplane has answered which Aliases
	// carry the claim's alias id; an Alias that exists stays desired.
	target := Target{Namespace: xrNamespace}
	id := aliasID(claim)
	labelled, answered := requiredAliases(req)
	if len(errs) == 0 {
		rsp.Requirements = aliasRequirements(req, id, target)
		if answered {
			errs = append(errs, CheckAliasOwner(claim, xrName, xrNamespace, observed.Alias, labelled)...)
		}
	}

	warnings = append(ChangeWarnings(claim, observed), warnings...)
	if observed.Key != nil {
		warnings = append(warnings, DeletedPrincipals(claim, observed.Key.Policy)...)
	}
	for _, w := range capped(warnings) {
		response.Warning(rsp, errors.New(w)).TargetCompositeAndClaim()
	}
	if len(errs) > 0 {
		f.log.Debug("Refusing invalid spec", "xr", xrName, "errors", len(errs))
		// A refusal changes nothing: a key that exists is as available as
		// it was. (Crossplane marks a condition a refusal leaves out as
		// Unknown.)
		if observed.Key != nil || observed.Alias != nil {
			setAvailability(rsp, observed, xr)
		}
		return invalid(rsp, reasonInvalidSpec, "invalid spec: "+join(errs)), nil
	}

	// The resources of earlier steps of the pipeline stay as they are, where
	// request.GetDesiredComposedResources and
	// response.SetDesiredComposedResources would convert each of them to a
	// map and back.
	if rsp.Desired == nil {
		rsp.Desired = &fnv1.State{}
	}
	if rsp.Desired.Resources == nil {
		rsp.Desired.Resources = map[string]*fnv1.Resource{}
	}
	keyConditions, aliasConditions := observed.conditions()
	rsp.Desired.Resources[keyName] = desired(DesiredKey(claim, policy, target), keyConditions.True(conditionReady))
	if answered || observed.Alias != nil {
		rsp.Desired.Resources[aliasName] = desired(DesiredAlias(claim, id, observed.KeyID(), target), aliasConditions.True(conditionReady))
	}

	status := ComputeStatus(claim, observed)
	var details map[string][]byte
	if !target.Namespaced() {
		details = status.ConnectionDetails()
	}
	if err := setDesiredXR(rsp, status.Fields(), details); err != nil {
		response.Fatal(rsp, errors.Wrap(err, "cannot set desired composite resource"))
		return rsp, nil
	}

	setAvailability(rsp, observed, xr)
	response.ConditionTrue(rsp, conditionSpecValid, reasonValid).TargetCompositeAndClaim()
	return rsp, nil
}

// requiredAliases returns the Aliases Crossplane returned for
// aliasRequirements, and whether it has answered at all: in
// required_resources, or, asked in extra_resources, there.
func requiredAliases(req *fnv1.RunFunctionRequest) ([]LabelledAlias, bool) {
	answer, answered := req.GetRequiredResources()[aliasesRequirement]
	if !answered {
		answer, answered = req.GetExtraResources()[aliasesRequirement] //nolint:staticcheck // Crossplane before v2.2 answers here.
	}
	if !answered {
		return nil, false
	}
	objs := make([]map[string]any, 0, len(answer.GetItems()))
	for _, r := range answer.GetItems() {
		objs = append(objs, r.GetResource().AsMap())
	}
	return ReadLabelledAliases(objs), true
}

// aliasRequirements asks Crossplane for the Aliases of the target's group,
// in every namespace, that carry the alias id. A Crossplane that
// advertises the required resources capability (v2.2 and later) is asked in
// requirements.resources; an older one, which may know only
// requirements.extra_resources (v1.15 to v1.20), there.
func aliasRequirements(req *fnv1.RunFunctionRequest, id string, t Target) *fnv1.Requirements {
	selectors := map[string]*fnv1.ResourceSelector{
		aliasesRequirement: {
			ApiVersion: t.apiVersion(),
			Kind:       "Alias",
			Match:      &fnv1.ResourceSelector_MatchLabels{MatchLabels: &fnv1.MatchLabels{Labels: map[string]string{aliasIDLabel: id}}},
		},
	}
	if request.HasCapability(req, fnv1.Capability_CAPABILITY_REQUIRED_RESOURCES) {
		return &fnv1.Requirements{Resources: selectors}
	}
	return &fnv1.Requirements{ExtraResources: selectors} //nolint:staticcheck // For Crossplane before v2.2.
}

// setAvailability sets the KeyAvailable condition on the XR and its claim,
// and, when it turns to ProviderError or the error changes from the one the
// observed XR carries, a warning event with the same text: an event, unlike
// a condition, is listed with its time by kubectl describe.
func setAvailability(rsp *fnv1.RunFunctionResponse, o Observed, xr map[string]*structpb.Value) {
	a := KeyAvailability(o)
	if a.Available {
		response.ConditionTrue(rsp, conditionKeyAvailable, a.Reason).TargetCompositeAndClaim()
		return
	}
	response.ConditionFalse(rsp, conditionKeyAvailable, a.Reason).WithMessage(a.Message).TargetCompositeAndClaim()
	if a.Reason != reasonProviderError {
		return
	}
	// Of the observed XR only its conditions are converted.
	previous := readConditions(map[string]any{"status": xr["status"].GetStructValue().AsMap()})[conditionKeyAvailable]
	if previous.Reason != a.Reason || previous.Message != a.Message {
		response.Warning(rsp, errors.New(a.Message)).WithReason(a.Reason).TargetCompositeAndClaim()
	}
}

// getInput decodes the function's input, refusing fields it does not know.
// It does what request.GetInput does, but with Kubernetes' JSON decoder,
// whose messages, unlike the SDK's decoder, are the same on every call: a
// refusal's condition message must not change between reconciles.
func getInput(req *fnv1.RunFunctionRequest, in *v1beta1.Input) error {
	if req.GetInput() == nil {
		return nil
	}
	// encoding/json rather than protojson: several times faster, and it
	// writes the keys in order, so that a message listing unknown fields
	// lists them in the same order on every call.
	b, err := json.Marshal(req.GetInput().AsMap())
	if err != nil {
		return errors.Wrap(err, "cannot encode the input as JSON")
	}
	strict, err := kjson.UnmarshalStrict(b, in)
	if err != nil {
		return err
	}
	return kerrors.NewAggregate(strict)
}

// desired wraps a composed resource for the response, ready once the
// provider reports the observed one Ready.
func desired(obj *structpb.Struct, ready bool) *fnv1.Resource {
	r := fnv1.Ready_READY_FALSE
	if ready {
		r = fnv1.Ready_READY_TRUE
	}
	return &fnv1.Resource{Resource: obj, Ready: r}
}

// setDesiredXR adds status fields and connection details to the desired XR,
// keeping what earlier steps of the pipeline set. It writes the response's
// Struct in place, where request.GetDesiredCompositeResource,
// fieldpath.SetValue and response.SetDesiredCompositeResource would convert
// the XR to a map, parse each field path, and convert the map back.
func setDesiredXR(rsp *fnv1.RunFunctionResponse, status map[string]any, details map[string][]byte) error {
	if rsp.Desired == nil {
		rsp.Desired = &fnv1.State{}
	}
	xr := rsp.Desired.GetComposite().GetResource()
	if xr == nil {
		xr = &structpb.Struct{}
	}
	if xr.Fields == nil {
		xr.Fields = map[string]*structpb.Value{}
	}
	st := xr.Fields["status"]
	if _, null := st.GetKind().(*structpb.Value_NullValue); st == nil || null {
		st = structpb.NewStructValue(&structpb.Struct{Fields: map[string]*structpb.Value{}})
		xr.Fields["status"] = st
	}
	fields := st.GetStructValue()
	if fields == nil {
		return errors.New("status is not an object")
	}
	if fields.Fields == nil {
		fields.Fields = map[string]*structpb.Value{}
	}
	for k, v := range status {
		pv, err := structpb.NewValue(v)
		if err != nil {
			return errors.Wrapf(err, "cannot set status.%s", k)
		}
		fields.Fields[k] = pv
	}
	cd := rsp.Desired.GetComposite().GetConnectionDetails()
	if cd == nil {
		cd = map[string][]byte{}
	}
	maps.Copy(cd, details)
	// Like response.SetDesiredCompositeResource, which leaves readiness to
	// Crossplane.
	rsp.Desired.Composite = &fnv1.Resource{Resource: xr, ConnectionDetails: cd}
	return nil
}

// invalid reports a refusal three ways, so that an app team sees it: a
// SpecValid=False condition and a warning event, both on the XR and its
// claim, and a Fatal result, so that nothing is applied.
func invalid(rsp *fnv1.RunFunctionResponse, reason, msg string) *fnv1.RunFunctionResponse {
	response.ConditionFalse(rsp, conditionSpecValid, reason).WithMessage(msg).TargetCompositeAndClaim()
	// Crossplane stops reading results at the first Fatal one, so the
	// warning, the only one of the two that reaches the claim, goes first.
	response.Warning(rsp, errors.New(msg)).WithReason(reason).TargetCompositeAndClaim()
	response.Fatal(rsp, errors.New(msg))
	return rsp
}

// capped keeps the first maxReported warnings, each of which becomes an
// event, and says how many more there are.
func capped(warns []string) []string {
	if len(warns) <= maxReported {
		return warns
	}
	return append(warns[:maxReported:maxReported], fmt.Sprintf("and %d more warnings", len(warns)-maxReported))
}

// maxReported bounds the problems one message lists: a message, repeated in
// a condition, an event and a result, must stay readable and small whatever
// the claim holds.
const maxReported = 20

// join lists every error, each with its field path, in one message; past
// maxReported, it says how many more there are.
func join(errs field.ErrorList) string {
	n := min(len(errs), maxReported)
	msgs := make([]string, 0, n+1)
	for _, e := range errs[:n] {
		msgs = append(msgs, e.Error())
	}
	if more := len(errs) - n; more > 0 {
		msgs = append(msgs, fmt.Sprintf("and %d more problems", more))
	}
	return strings.Join(msgs, "; ")
}
