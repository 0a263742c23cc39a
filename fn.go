package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"google.golang.org/protobuf/types/known/structpb"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apimachinery/pkg/util/validation/field"
	kjson "sigs.k8s.io/json"

	"github.com/crossplane/function-sdk-go/logging"
	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"github.com/crossplane/function-sdk-go/request"
	"github.com/crossplane/function-sdk-go/resource"
	"github.com/crossplane/function-sdk-go/response"

	"github.com/example/function-kms-backend/input/v1beta1"
)

// The condition the function sets on the XR and its claim about the spec.
const (
	conditionSpecValid = "SpecValid"
	reasonValid        = "Valid"
	reasonInvalidSpec  = "InvalidSpec"
	reasonInvalidInput = "InvalidInput"
)

// aliasesRequirement names the resources the function asks Crossplane for:
// the Aliases labelled with the backend's AliasID.
const aliasesRequirement = "aliases"

// aliasesRequirementIn names the requirement of the Aliases labelled with
// the backend's AliasIDIn a region: aliasesRequirement for the key's own,
// aliases-<region> for a replica's.
func aliasesRequirementIn(b Backend, region string) string {
	if region == b.Region {
		return aliasesRequirement
	}
	return aliasesRequirement + "-" + region
}

// Function composes a KMS Key and Alias from a KmsBackend XR.
type Function struct {
	fnv1.UnimplementedFunctionRunnerServiceServer

	log logging.Logger
	// clock tells the time; nil is the system's.
	clock func() time.Time
}

func (f *Function) now() time.Time {
	if f.clock == nil {
		return time.Now()
	}
	return f.clock()
}

// RunFunction reads the XR's spec and the observed Key and Alias, and
// answers with the desired Key and Alias and the XR's status; or, for a bad
// claim, with a Fatal result that names every problem and no change.
func (f *Function) RunFunction(_ context.Context, req *fnv1.RunFunctionRequest) (*fnv1.RunFunctionResponse, error) {
	rsp := response.To(req, response.DefaultTTL)

	xr := ReadXR(req.GetObserved().GetComposite().GetResource())
	log := f.log.WithValues(
		"xr-apiversion", xr.APIVersion,
		"xr-kind", xr.Kind,
		"xr-name", xr.Name,
		"xr-namespace", xr.Namespace,
	)

	in := &v1beta1.Input{}
	if err := getInput(req, in); err != nil {
		return refuse(rsp, log, reasonInvalidInput, "invalid function input in the Composition: "+err.Error()), nil
	}
	settings, errs := ParseInput(in)
	if len(errs) > 0 {
		return refuse(rsp, log, reasonInvalidInput, "invalid function input in the Composition: "+join(errs)), nil
	}

	ocds, err := request.GetObservedComposedResources(req)
	if err != nil {
		response.Fatal(rsp, errors.Wrap(err, "cannot get the observed composed resources"))
		return rsp, nil
	}
	observed := ReadObserved(ocds)

	raw, errs := ParseSpec(xr.Spec)
	backend, warnings, rerrs := Resolve(raw, settings)
	errs = append(errs, withoutFieldsOf(rerrs, errs)...)
	errs = append(errs, CheckReplacement(backend, observed)...)
	policy, err := KeyPolicy(backend).Marshal()
	if err != nil {
		response.Fatal(rsp, errors.Wrap(err, "cannot marshal key policy"))
		return rsp, nil
	}
	errs = append(errs, CheckPolicySize(policy)...)

	// Each Alias, in the key's region and in each replica region, is
	// composed only once Crossplane has answered which Aliases carry its
	// alias id; an Alias that exists stays desired.
	scope := Scope{Namespace: xr.Namespace}
	answered := map[string]bool{} // by region
	if len(errs) == 0 {
		regions := backend.Regions()
		ids := make(map[string]string, len(regions))
		for _, r := range regions {
			ids[aliasesRequirementIn(backend, r)] = backend.AliasIDIn(r)
		}
		rsp.Requirements = aliasRequirements(req, ids, scope)
		for _, r := range regions {
			labelled, ok, err := requiredAliases(req, aliasesRequirementIn(backend, r))
			if err != nil {
				response.Fatal(rsp, errors.Wrapf(err, "cannot get the required Aliases in %s", r))
				return rsp, nil
			}
			if answered[r] = ok; ok {
				errs = append(errs, CheckAliasOwner(backend, r, xr.Name, xr.Namespace, observed.AliasIn(backend.Region, r), labelled)...)
			}
		}
	}

	// What exists in AWS is adopted only when it is the claim's, and never
	// taken over: the adopted key's and each alias's decisions.
	var adoptions Adoptions
	var adoptErrs, newlyRefused field.ErrorList
	if len(errs) == 0 {
		adoptions, adoptErrs, newlyRefused = adopt(backend, observed)
		errs = append(errs, adoptErrs...)
	}

	warnings = append(ChangeWarnings(backend, observed), warnings...)
	if observed.Key != nil {
		warnings = append(warnings, DeletedPrincipals(backend, observed.Key.Policy)...)
	}
	for _, w := range capped(warnings) {
		response.Warning(rsp, errors.New(w)).TargetCompositeAndClaim()
	}
	if len(errs) > 0 {
		// A refusal changes nothing: a key that exists is as available as
		// it was, unless what AWS holds is refused. (Crossplane marks a
		// condition a refusal leaves out as Unknown.)
		switch {
		case len(adoptErrs) > 0:
			setAvailability(rsp, Availability{Reason: reasonRefused, Message: join(adoptErrs)}, xr.KeyAvailable)
		case observed.Key != nil || observed.Alias != nil:
			regions := append([]string{backend.Region}, slices.Sorted(maps.Keys(observed.Replicas))...)
			setAvailability(rsp, KeyAvailability(observed, regions, backend.AliasName, backend.ExistingKeyID, observed.Adoptions(backend.Region)), xr.KeyAvailable)
		}
		return refuse(rsp, log, reasonInvalidSpec, "invalid spec: "+join(errs)), nil
	}

	for _, w := range RemovedReplicas(backend, observed) {
		response.Warning(rsp, errors.New(w)).TargetCompositeAndClaim()
	}

	// The Key and Alias join the resources that earlier steps of the
	// pipeline composed, which stay as they are.
	if rsp.Desired == nil {
		rsp.Desired = &fnv1.State{}
	}
	if rsp.Desired.Resources == nil {
		rsp.Desired.Resources = map[string]*fnv1.Resource{}
	}
	keyConditions, aliasConditions := observed.conditions()
	keyID := ClaimKeyID(backend, observed)
	rsp.Desired.Resources[keyName] = desired(DesiredKey(backend, policy, adoptions.Key, scope), keyConditions.True(conditionReady) && adoptions.Key.Managed())
	if answered[backend.Region] || observed.Alias != nil {
		a := adoptions.Aliases[backend.Region]
		rsp.Desired.Resources[aliasName] = desired(DesiredAlias(backend, backend.Region, keyID, a, scope), aliasConditions.True(conditionReady) && a.Managed())
	}
	// Each replica, and its alias once the replica's key id is known (an
	// Alias cannot select a ReplicaKey) and Crossplane has answered.
	for _, r := range backend.ReplicaRegions {
		replicaConditions, replicaAliasConditions := observed.replicaConditions(r)
		rsp.Desired.Resources[replicaNamePrefix+r] = desired(DesiredReplicaKey(backend, policy, r, observed.KeyARN(), scope), replicaConditions.True(conditionReady))
		if id := observed.ReplicaKeyID(r); id != "" && (answered[r] || observed.ReplicaAliases[r] != nil) {
			a := adoptions.Aliases[r]
			rsp.Desired.Resources[replicaAliasNamePrefix+r] = desired(DesiredAlias(backend, r, id, a, scope), replicaAliasConditions.True(conditionReady) && a.Managed())
		}
	}

	dxr, err := request.GetDesiredCompositeResource(req)
	if err != nil {
		response.Fatal(rsp, errors.Wrap(err, "cannot get the desired composite resource"))
		return rsp, nil
	}
	// apimachinery's SetNestedField rather than the SDK's SetValue, which
	// parses the path and round-trips the value through JSON: a fifth of
	// the function's own CPU when the Key and Alias exist.
	replaced, isReplaced := KeyReplaced(xr.Recorded.ID, observed.KeyID(), xr.KeyAvailable, f.now())
	status := ComputeStatus(backend, observed, adoptions, xr.Recorded, isReplaced)
	for name, v := range status.Fields() {
		if err := unstructured.SetNestedField(dxr.Resource.Object, v, "status", name); err != nil {
			response.Fatal(rsp, errors.Wrapf(err, "cannot set status.%s", name))
			return rsp, nil
		}
	}
	if !scope.Namespaced() {
		maps.Copy(dxr.ConnectionDetails, status.ConnectionDetails())
	}
	if err := response.SetDesiredCompositeResource(rsp, dxr); err != nil {
		response.Fatal(rsp, errors.Wrap(err, "cannot set the desired composite resource"))
		return rsp, nil
	}

	if len(newlyRefused) > 0 {
		// An alias refused for the first time: the response records the
		// refusal on its Alias, observe-only for good, so it is applied,
		// without a Fatal result; every later call refuses the claim.
		setAvailability(rsp, Availability{Reason: reasonRefused, Message: join(newlyRefused)}, xr.KeyAvailable)
		reportRefusal(rsp, log, reasonInvalidSpec, "invalid spec: "+join(newlyRefused))
		return rsp, nil
	}
	availability := KeyAvailability(observed, backend.Regions(), backend.AliasName, backend.ExistingKeyID, adoptions)
	if isReplaced {
		availability = replaced
	}
	setAvailability(rsp, availability, xr.KeyAvailable)
	response.ConditionTrue(rsp, conditionSpecValid, reasonValid).TargetCompositeAndClaim()
	// Crossplane applies the response of its last call of a reconcile, the
	// one that carries its answer to the requirement: a change is logged at
	// Info there only, so once per reconcile.
	switch changes := composedChanges(rsp, ocds, backend.ReplicaRegions); {
	case len(changes) == 0:
		log.Debug("The composed resources are unchanged")
	case !answered[backend.Region]:
		log.Debug("Changing the composed resources, once Crossplane answers the requirement", "changes", changes)
	default:
		log.Info("Changing the composed resources", "changes", changes)
	}
	return rsp, nil
}

// adopt decides, for a valid backend, how the Key and each region's Alias
// are managed, and returns the refusals of what exists in AWS: those that
// refuse the claim now (a key that cannot be adopted, an alias refused on
// an earlier call), and aliases refused for the first time, whose refusal
// the response must record before the claim can be refused.
func adopt(b Backend, o Observed) (Adoptions, field.ErrorList, field.ErrorList) {
	var errs, newlyRefused field.ErrorList
	key, err := KeyAdoption(b, o)
	if err != nil {
		errs = append(errs, err)
	}
	d := Adoptions{Key: key, Aliases: make(map[string]Adoption, len(b.ReplicaRegions)+1)}
	for _, r := range b.Regions() {
		keyID, keyARN := ClaimKeyID(b, o), o.KeyARN()
		if r != b.Region {
			keyID, keyARN = "", ""
			if rep := o.Replicas[r]; rep != nil {
				keyID, keyARN = rep.KeyID, rep.ARN
			}
		}
		alias := o.AliasIn(b.Region, r)
		a, err := AliasAdoption(b, r, alias, keyID, keyARN)
		d.Aliases[r] = a
		switch {
		case err == nil:
		case alias.Adoption == adoptionRefuse:
			errs = append(errs, err)
		default:
			newlyRefused = append(newlyRefused, err)
		}
	}
	return d, errs, newlyRefused
}

// requiredAliases returns the Aliases Crossplane returned for the
// requirement of this name, and whether it has answered at all: in
// required_resources, or, asked in extra_resources, there.
func requiredAliases(req *fnv1.RunFunctionRequest, name string) ([]LabelledAlias, bool, error) {
	rs, answered, err := request.GetRequiredResource(req, name)
	if err != nil {
		return nil, false, err
	}
	if !answered {
		extra, err := request.GetExtraResources(req) //nolint:staticcheck // Crossplane before v2.2 answers here.
		if err != nil {
			return nil, false, err
		}
		rs, answered = extra[name]
	}
	return ReadLabelledAliases(rs), answered, nil
}

// aliasRequirements asks Crossplane, for each requirement name, for the
// Aliases of the scope's group, in every namespace, that carry its alias
// id. A Crossplane that advertises the required resources capability (v2.2
// and later) is asked in requirements.resources; an older one, which may
// know only requirements.extra_resources (v1.15 to v1.20), there.
func aliasRequirements(req *fnv1.RunFunctionRequest, ids map[string]string, s Scope) *fnv1.Requirements {
	selectors := make(map[string]*fnv1.ResourceSelector, len(ids))
	for name, id := range ids {
		selectors[name] = &fnv1.ResourceSelector{
			ApiVersion: s.APIVersion(),
			Kind:       kindAlias,
			Match:      &fnv1.ResourceSelector_MatchLabels{MatchLabels: &fnv1.MatchLabels{Labels: map[string]string{aliasIDLabel: id}}},
		}
	}
	if request.HasCapability(req, fnv1.Capability_CAPABILITY_REQUIRED_RESOURCES) {
		return &fnv1.Requirements{Resources: selectors}
	}
	return &fnv1.Requirements{ExtraResources: selectors} //nolint:staticcheck // For Crossplane before v2.2.
}

// composedChanges lists what the desired Key, Alias, replicas and their
// aliases change: a resource that does not exist yet, or the fields of one
// that differ from the observed resource.
func composedChanges(rsp *fnv1.RunFunctionResponse, ocds map[resource.Name]resource.ObservedComposed, replicaRegions []string) []string {
	names := []string{keyName, aliasName}
	for _, r := range replicaRegions {
		names = append(names, replicaNamePrefix+r, replicaAliasNamePrefix+r)
	}
	var changes []string
	for _, name := range names {
		d, ok := rsp.GetDesired().GetResources()[name]
		if !ok {
			continue
		}
		o, ok := ocds[resource.Name(name)]
		if !ok {
			changes = append(changes, name+": new")
			continue
		}
		if fields := ChangedFields(d.GetResource().AsMap(), o.Resource.Object); len(fields) > 0 {
			changes = append(changes, name+": "+strings.Join(fields, ", "))
		}
	}
	return changes
}

// setAvailability sets the KeyAvailable condition on the XR and its claim,
// and, when it turns to ProviderError or KeyReplaced or the error changes
// from the one the observed XR carries, a warning event with the same text:
// an event, unlike a condition, is listed with its time by kubectl describe.
func setAvailability(rsp *fnv1.RunFunctionResponse, a Availability, previous Condition) {
	if a.Available {
		response.ConditionTrue(rsp, conditionKeyAvailable, a.Reason).TargetCompositeAndClaim()
		return
	}
	response.ConditionFalse(rsp, conditionKeyAvailable, a.Reason).WithMessage(a.Message).TargetCompositeAndClaim()
	if a.Reason != reasonProviderError && a.Reason != reasonKeyReplaced {
		return
	}
	if previous.Reason != a.Reason || previous.Message != a.Message {
		response.Warning(rsp, errors.New(a.Message)).WithReason(a.Reason).TargetCompositeAndClaim()
	}
}

// getInput decodes the function's input, refusing fields it does not know.
// It does what request.GetInput does, but with Kubernetes' JSON decoder over
// encoding/json's output: the SDK's protojson output varies its spacing from
// one run to the next, and so would the refusal's message, which must stay
// the same between reconciles.
func getInput(req *fnv1.RunFunctionRequest, in *v1beta1.Input) error {
	if req.GetInput() == nil {
		return nil
	}
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

// refuse reports a refusal three ways, so that an app team sees it: a
// SpecValid=False condition and a warning event, both on the XR and its
// claim, and a Fatal result, so that nothing is applied. It logs it once.
func refuse(rsp *fnv1.RunFunctionResponse, log logging.Logger, reason, msg string) *fnv1.RunFunctionResponse {
	// Crossplane stops reading results at the first Fatal one, so the
	// warning, the only one of the two that reaches the claim, goes first.
	reportRefusal(rsp, log, reason, msg)
	response.Fatal(rsp, errors.New(msg))
	return rsp
}

// reportRefusal logs a refusal once, and reports it on the XR and its
// claim as a SpecValid=False condition and a warning event.
func reportRefusal(rsp *fnv1.RunFunctionResponse, log logging.Logger, reason, msg string) {
	log.Info("Refusing the XR", "reason", reason, "message", msg)
	response.ConditionFalse(rsp, conditionSpecValid, reason).WithMessage(msg).TargetCompositeAndClaim()
	response.Warning(rsp, errors.New(msg)).WithReason(reason).TargetCompositeAndClaim()
}

// capped keeps the first maxReported warnings, each of which becomes an
// event, and says how many more there are.
func capped(warns []string) []string {
	if len(warns) <= maxReported {
		return warns
	}
	return append(warns[:maxReported:maxReported], fmt.Sprintf("and %d more warnings", len(warns)-maxReported))
}

// join lists every error, each with its field path, in one message; past
// maxReported errors, or past maxMessageBytes, it says how many more there
// are.
func join(errs field.ErrorList) string {
	msgs := make([]string, 0, min(len(errs), maxReported)+1)
	size := 0
	for _, e := range errs {
		msg := e.Error()
		// Room is kept for the message's prefix and the count of the rest.
		if len(msgs) == maxReported || size+len(msg) > maxMessageBytes-256 {
			break
		}
		msgs = append(msgs, msg)
		size += len(msg) + len("; ")
	}
	if more := len(errs) - len(msgs); more > 0 {
		msgs = append(msgs, fmt.Sprintf("and %d more problems", more))
	}
	return strings.Join(msgs, "; ")
}
