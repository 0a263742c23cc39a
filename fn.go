package main

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/crossplane/function-sdk-go/logging"
	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"github.com/crossplane/function-sdk-go/request"
	"github.com/crossplane/function-sdk-go/resource"
	"github.com/crossplane/function-sdk-go/response"
)

// The condition the function sets on the XR and its claim about the spec.
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
	// clock tells the time; nil is the system's.
	clock func() time.Time
	// inputs are the settings read from each input the function was given.
	inputs inputs
}

func (f *Function) now() time.Time {
	if f.clock == nil {
		return time.Now()
	}
	return f.clock()
}

// RunFunction reads the XR's spec and the observed Key and Alias, and
// answers with the desired Key and Alias and the XR's status; or, for a bad
// claim, with a Fatal result that names every problem and no change. Each
// step is a function of its own, below, in the order it runs.
func (f *Function) RunFunction(_ context.Context, req *fnv1.RunFunctionRequest) (*fnv1.RunFunctionResponse, error) {
	rsp := response.To(req, response.DefaultTTL)
	xr := ReadXR(req.GetObserved().GetComposite().GetResource())
	log := xrLogger{log: f.log, xr: []any{"xr-apiversion", xr.APIVersion, "xr-kind", xr.Kind, "xr-name", xr.Name, "xr-namespace", xr.Namespace}}

	settings, err := f.inputs.settings(req.GetInput())
	if err != nil {
		return refuse(rsp, log, reasonInvalidInput, "invalid function input in the Composition: "+err.Error()), nil
	}
	c, err := validateClaim(req, xr, settings)
	// By region: whether the alias's owner is known there, because
	// Crossplane answered which Aliases carry the alias id, or an earlier
	// call confirmed that the claim's own Alias owns it.
	answered := map[string]bool{}
	if err == nil && c.valid() {
		err = checkAliasOwners(req, rsp, log, &c, xr, f.now(), answered)
	}
	if err != nil {
		response.Fatal(rsp, err)
		return rsp, nil
	}
	if c.valid() {
		c.decideAdoptions()
	}
	warn(rsp, c)
	if !c.valid() {
		return refuseClaim(rsp, log, c, xr), nil
	}
	compose(rsp, c, answered)
	replaced, isReplaced := KeyReplaced(xr.Recorded.ID, c.observed.KeyID(), xr.KeyAvailable, f.now())
	if err := writeStatus(req, rsp, c, xr.Recorded, isReplaced); err != nil {
		response.Fatal(rsp, err)
		return rsp, nil
	}
	if len(c.newlyRefused) > 0 {
		return refuseNewAliases(rsp, log, c, xr), nil
	}
	setConditions(rsp, c, xr, replaced, isReplaced)
	logChanges(log, rsp, c, answered)
	return rsp, nil
}

// xrLogger is the function's logger and the XR's identity, which every line
// about the XR carries. The identity goes with each line rather than bound
// once with WithValues, which would encode it on every call, whereas most
// calls log only at debug level, or a line zap's sampling drops.
type xrLogger struct {
	log logging.Logger
	xr  []any
}

// with returns the XR's identity, then these keys and values.
func (l xrLogger) with(kv ...any) []any { return append(l.xr[:len(l.xr):len(l.xr)], kv...) }

// claim is what RunFunction learns of a claim (or XR), step by step.
type claim struct {
	backend  Backend
	observed Observed
	ocds     map[resource.Name]resource.ObservedComposed
	scope    Scope
	// policy is the key policy, as JSON.
	policy   string
	warnings []string
	// errs are the problems that refuse the claim.
	errs field.ErrorList
	// adoptions decide how what the composed resources name in AWS is
	// managed; adoptErrs, among errs, refuse what exists there;
	// newlyRefused are aliases refused for the first time
	// (decideAdoptions).
	adoptions    Adoptions
	adoptErrs    field.ErrorList
	newlyRefused field.ErrorList
	// owned are the regions where the claim's Alias is confirmed to own
	// the alias (checkAliasOwners).
	owned map[string]bool
}

func (c claim) valid() bool { return len(c.errs) == 0 }

// validateClaim parses the XR's spec, applies the settings to it and checks it
// against what exists: the problems it finds are the claim's; its error is
// the request's.
func validateClaim(req *fnv1.RunFunctionRequest, xr ObservedXR, settings Settings) (claim, error) {
	ocds, err := request.GetObservedComposedResources(req)
	if err != nil {
		return claim{}, errors.Wrap(err, "cannot get the observed composed resources")
	}
	raw, errs := ParseSpec(xr.Spec)
	b, warnings, rerrs := Resolve(raw, settings)
	errs = append(errs, withoutFieldsOf(rerrs, errs)...)
	c := claim{backend: b, ocds: ocds, observed: ReadObserved(ocds, b.Region), scope: Scope{Namespace: xr.Namespace}, warnings: warnings, errs: errs}
	c.errs = append(c.errs, CheckReplacement(b, c.observed)...)
	if c.policy, err = KeyPolicy(b).Marshal(); err != nil {
		return claim{}, errors.Wrap(err, "cannot marshal key policy")
	}
	c.errs = append(c.errs, CheckPolicySize(c.policy)...)
	return c, nil
}

// checkAliasOwners asks Crossplane which Aliases carry the backend's alias
// id in each of its regions but those where an earlier call confirmed that
// the claim's own Alias owns the alias; notes in answered the regions where
// Crossplane has answered, or where the owner was confirmed; refuses the
// claim where an answer shows another XR's Alias managing the alias; and
// notes in the claim the regions whose ownership is confirmed, by an
// earlier call or by this answer. With every region confirmed it asks
// nothing, and Crossplane calls the function once.
func checkAliasOwners(req *fnv1.RunFunctionRequest, rsp *fnv1.RunFunctionResponse, log xrLogger, c *claim, xr ObservedXR, now time.Time, answered map[string]bool) error {
	regions := c.backend.Regions()
	c.owned = make(map[string]bool, len(regions))
	asked, given := make([]string, 0, len(regions)), make([]string, 0, len(regions))
	for _, r := range regions {
		if c.owned[r] = OwnerConfirmed(c.backend, r, c.observed.Aliases[r]); !c.owned[r] {
			asked = append(asked, r)
		}
	}
	rsp.Requirements = aliasRequirements(req, c.backend, c.scope, asked)
	for _, r := range regions {
		labelled, ok, err := requiredAliases(req, aliasesRequirementIn(c.backend, r))
		if err != nil {
			return errors.Wrapf(err, "cannot get the required Aliases in %s", r)
		}
		answered[r] = ok || c.owned[r]
		if !ok {
			continue
		}
		given = append(given, r)
		ours := c.observed.Aliases[r]
		errs := CheckAliasOwner(c.backend, r, xr.Name, xr.Namespace, ours, labelled)
		c.errs = append(c.errs, errs...)
		c.owned[r] = c.owned[r] || len(errs) == 0 && ConfirmsOwner(c.backend, r, xr.Name, xr.Namespace, ours, labelled, now)
	}
	log.log.Debug("Checked the alias's owners", log.with("asked", asked, "answered", given, "confirmed", inOrder(regions, c.owned))...)
	return nil
}

// inOrder returns the regions that are in set, in the order of regions.
func inOrder(regions []string, set map[string]bool) []string {
	out := make([]string, 0, len(regions))
	for _, r := range regions {
		if set[r] {
			out = append(out, r)
		}
	}
	return out
}

// decideAdoptions decides what exists in AWS is adopted: only what is the
// claim's, and nothing is ever taken over.
func (c *claim) decideAdoptions() {
	c.adoptions, c.adoptErrs, c.newlyRefused = Adopt(c.backend, c.observed)
	c.errs = append(c.errs, c.adoptErrs...)
}

// warn reports what the claim's edit changes and what it names that no
// longer exists, as warnings on the XR and its claim.
func warn(rsp *fnv1.RunFunctionResponse, c claim) {
	warnings := append(ChangeWarnings(c.backend, c.observed), c.warnings...)
	if c.observed.Key != nil {
		warnings = append(warnings, DeletedPrincipals(c.backend, c.observed.Key.Policy)...)
	}
	for _, w := range capped(warnings) {
		response.Warning(rsp, errors.New(w)).TargetCompositeAndClaim()
	}
}

// refuseClaim refuses an invalid claim, changing nothing: a key that exists
// is as available as it was, unless what AWS holds is refused. (Crossplane
// marks a condition a refusal leaves out as Unknown.)
func refuseClaim(rsp *fnv1.RunFunctionResponse, log xrLogger, c claim, xr ObservedXR) *fnv1.RunFunctionResponse {
	switch o := c.observed; {
	case len(c.adoptErrs) > 0:
		setAvailability(rsp, Availability{Reason: reasonRefused, Message: join(c.adoptErrs)}, xr.KeyAvailable)
	case o.Key != nil || o.Aliases[o.Region] != nil:
		regions := append([]string{c.backend.Region}, slices.Sorted(maps.Keys(o.Replicas))...)
		setAvailability(rsp, KeyAvailability(o, regions, c.backend.AliasName, c.backend.ExistingKeyID, o.RecordedAdoptions()), xr.KeyAvailable)
	}
	return refuse(rsp, log, reasonInvalidSpec, "invalid spec: "+join(c.errs))
}

// compose adds the Key, the replicas and their Aliases to the resources
// that earlier steps of the pipeline composed, which stay as they are, and
// warns of the replicas it no longer composes.
func compose(rsp *fnv1.RunFunctionResponse, c claim, answered map[string]bool) {
	for _, w := range RemovedReplicas(c.backend, c.observed) {
		response.Warning(rsp, errors.New(w)).TargetCompositeAndClaim()
	}
	if rsp.Desired == nil {
		rsp.Desired = &fnv1.State{}
	}
	if rsp.Desired.Resources == nil {
		rsp.Desired.Resources = map[string]*fnv1.Resource{}
	}
	Compose(rsp.Desired.Resources, c.backend, c.policy, c.observed, c.adoptions, answered, c.owned, c.scope)
}

// writeStatus writes the XR's status fields and, for a legacy XR, its
// connection details.
func writeStatus(req *fnv1.RunFunctionRequest, rsp *fnv1.RunFunctionResponse, c claim, recorded RecordedKey, replaced bool) error {
	dxr, err := request.GetDesiredCompositeResource(req)
	if err != nil {
		return errors.Wrap(err, "cannot get the desired composite resource")
	}
	status := ComputeStatus(c.backend, c.observed, c.adoptions, recorded, replaced)
	// apimachinery's SetNestedField rather than the SDK's SetValue, which
	// parses the path and round-trips the value through JSON (see
	// docs/performance.md).
	for name, v := range status.Fields() {
		if err := unstructured.SetNestedField(dxr.Resource.Object, v, "status", name); err != nil {
			return errors.Wrapf(err, "cannot set status.%s", name)
		}
	}
	if !c.scope.Namespaced() {
		maps.Copy(dxr.ConnectionDetails, status.ConnectionDetails())
	}
	return errors.Wrap(response.SetDesiredCompositeResource(rsp, dxr), "cannot set the desired composite resource")
}

// refuseNewAliases refuses a claim whose alias, in one of its regions, is
// refused for the first time: the response records the refusal on its
// Alias, observe-only for good, so it is applied, without a Fatal result;
// every later call refuses the claim.
func refuseNewAliases(rsp *fnv1.RunFunctionResponse, log xrLogger, c claim, xr ObservedXR) *fnv1.RunFunctionResponse {
	setAvailability(rsp, Availability{Reason: reasonRefused, Message: join(c.newlyRefused)}, xr.KeyAvailable)
	reportRefusal(rsp, log, reasonInvalidSpec, "invalid spec: "+join(c.newlyRefused))
	return rsp
}

// setConditions says whether the key can be used (KeyAvailable, unless it
// was replaced) and that the spec is valid (SpecValid), on the XR and its
// claim.
func setConditions(rsp *fnv1.RunFunctionResponse, c claim, xr ObservedXR, replaced Availability, isReplaced bool) {
	availability := KeyAvailability(c.observed, c.backend.Regions(), c.backend.AliasName, c.backend.ExistingKeyID, c.adoptions)
	if isReplaced {
		availability = replaced
	}
	setAvailability(rsp, availability, xr.KeyAvailable)
	response.ConditionTrue(rsp, conditionSpecValid, reasonValid).TargetCompositeAndClaim()
}

// logChanges logs what the response changes of the composed resources.
// Crossplane applies the response of its last call of a reconcile, the one
// that carries its answer to the requirement, or its only call when the
// function asks nothing: a change is logged at Info there only, once every
// region's owner is known, so once per reconcile.
func logChanges(log xrLogger, rsp *fnv1.RunFunctionResponse, c claim, answered map[string]bool) {
	switch changes := composedChanges(rsp, c.ocds, c.backend); {
	case len(changes) == 0:
		log.log.Debug("The composed resources are unchanged", log.with()...)
	case slices.ContainsFunc(c.backend.Regions(), func(r string) bool { return !answered[r] }):
		log.log.Debug("Changing the composed resources, once Crossplane answers the requirement", log.with("changes", changes)...)
	default:
		log.log.Info("Changing the composed resources", log.with("changes", changes)...)
	}
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

// refuse reports a refusal three ways, so that an app team sees it: a
// SpecValid=False condition and a warning event, both on the XR and its
// claim, and a Fatal result, so that nothing is applied. It logs it once.
func refuse(rsp *fnv1.RunFunctionResponse, log xrLogger, reason, msg string) *fnv1.RunFunctionResponse {
	// Crossplane stops reading results at the first Fatal one, so the
	// warning, the only one of the two that reaches the claim, goes first.
	reportRefusal(rsp, log, reason, msg)
	response.Fatal(rsp, errors.New(msg))
	return rsp
}

// reportRefusal logs a refusal once, and reports it on the XR and its
// claim as a SpecValid=False condition and a warning event.
func reportRefusal(rsp *fnv1.RunFunctionResponse, log xrLogger, reason, msg string) {
	log.log.Info("Refusing the XR", log.with("reason", reason, "message", msg)...)
	response.ConditionFalse(rsp, conditionSpecValid, reason).WithMessage(msg).TargetCompositeAndClaim()
	response.Warning(rsp, errors.New(msg)).WithReason(reason).TargetCompositeAndClaim()
}
