package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/util/validation/field"

	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"github.com/crossplane/function-sdk-go/request"
	"github.com/crossplane/function-sdk-go/resource"
)

// One alias, one owner: each composed Alias carries a label with its alias
// id, and a call asks Crossplane for the Aliases, in any namespace, that
// carry the claim's alias ids, so that no two claims manage one AWS alias.
// Once an answer has shown that the claim's own Alias owns the alias in a
// region, the Alias records it (aliasOwnerAnnotation) and later calls do not
// ask for that region again: any Alias that names the alias later is younger,
// and its own claim's check refuses it. A reconcile whose regions are all
// confirmed makes one call to the function instead of two.

// AliasID identifies the AWS alias a backend manages, within one flavour:
// the first 63 hexadecimal digits (a label value's limit) of the SHA-256 of
// <provider config>/<region>/<alias name>, which no label could hold as
// they are. Neither a provider config's name nor a region holds a slash, so
// the three parts cannot run into each other.
func (b Backend) AliasID() string { return b.AliasIDIn(b.Region) }

// AliasIDIn is the AliasID of the backend's alias in a region: the key's,
// or one of its replicas'.
func (b Backend) AliasIDIn(region string) string {
	h := sha256.Sum256([]byte(b.ProviderConfigName + "/" + region + "/" + b.AliasName))
	return hex.EncodeToString(h[:])[:63]
}

// confirmAfter is how long after its creation an Alias must be before an
// answer can confirm that it owns its alias. The API server stamps creation
// times to the second, so an Alias created within the same second as ours,
// after it, may sort before it (older orders them by name then); Crossplane
// answers from its informer cache, which may not yet hold an Alias created
// just now; and the function's clock may differ from the API server's. An
// answer given a minute after our Alias was created holds every Alias that
// sorts before it, so none that could claim the alias later sorts before it.
const confirmAfter = time.Minute

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

// aliasRequirements asks Crossplane, for each of these regions of the
// backend, for the Aliases of the scope's group, in every namespace, that
// carry the backend's alias id there. A Crossplane that advertises the
// required resources capability (v2.2 and later) is asked in
// requirements.resources; an older one, which may know only
// requirements.extra_resources (v1.15 to v1.20), there. With no region to
// ask it returns nil, not empty requirements: Crossplane calls the function
// again until two calls return equal requirements, and nil is what it
// compares the first call's with, so nil ends the reconcile at one call.
func aliasRequirements(req *fnv1.RunFunctionRequest, b Backend, s Scope, regions []string) *fnv1.Requirements {
	if len(regions) == 0 {
		return nil
	}
	selectors := make(map[string]*fnv1.ResourceSelector, len(regions))
	for _, r := range regions {
		id := b.AliasIDIn(r)
		selectors[aliasesRequirementIn(b, r)] = &fnv1.ResourceSelector{
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

// LabelledAlias is an Alias that carries a backend's AliasID, as Crossplane
// returned it for the function's requirement.
type LabelledAlias struct {
	Namespace string
	Name      string
	// Composite is the name of the XR that composed it.
	Composite string
	Created   time.Time
}

// compositeLabel is the label Crossplane sets on each composed resource to
// the name of its XR.
const compositeLabel = "crossplane.io/composite"

// ReadLabelledAliases reads the Aliases Crossplane returned for the
// function's requirement.
func ReadLabelledAliases(rs []resource.Required) []LabelledAlias {
	out := make([]LabelledAlias, 0, len(rs))
	for _, r := range rs {
		a := r.Resource
		out = append(out, LabelledAlias{
			Namespace: a.GetNamespace(),
			Name:      a.GetName(),
			Composite: a.GetLabels()[compositeLabel],
			Created:   a.GetCreationTimestamp().Time,
		})
	}
	return out
}

// CheckAliasOwner refuses a backend whose AWS alias another XR's Alias
// already manages. provider-aws imports the existing AWS alias an Alias
// resource names, so two Aliases naming one alias in one account and region
// would both report Ready while each pointed it at its own key, and deleting
// either would delete the alias the other still uses.
//
// The alias checked is the backend's in region, the key's or a replica's;
// labelled are the Aliases, in any namespace, that carry its AliasIDIn that
// region; the XR is identified by its name and namespace, and ours is its
// own Alias there, when it exists. Two Aliases that exist already (composed at the
// same moment, before either could see the other) are ordered by creation
// time and name: the older one keeps the alias, so that exactly one of the
// two XRs is refused.
func CheckAliasOwner(b Backend, region, xrName, xrNamespace string, ours *ObservedAlias, labelled []LabelledAlias) field.ErrorList {
	for _, a := range labelled {
		if a.Composite == xrName && a.Namespace == xrNamespace {
			continue
		}
		if ours != nil && !ours.Created.IsZero() && !a.Created.IsZero() && older(ours.Created, xrNamespace, xrName, a) {
			continue
		}
		p, advice := specPath.Child("aliasName"), "choose another alias name"
		if region != b.Region {
			p, advice = specPath.Child("replicaRegions"), "choose another alias name, or leave "+shown(region)+" out of replicaRegions"
		}
		return field.ErrorList{field.Forbidden(p, fmt.Sprintf(
			"%s%s in %s, with provider config %s, is already managed by another KmsBackend; %s",
			aliasPrefix, shown(b.AliasName), shown(region), shown(b.ProviderConfigName), advice))}
	}
	return nil
}

// older reports whether an Alias created at created, composed for the XR
// namespace/name, comes before the other one.
func older(created time.Time, namespace, name string, other LabelledAlias) bool {
	if !created.Equal(other.Created) {
		return created.Before(other.Created)
	}
	return namespace+"/"+name < other.Namespace+"/"+other.Composite
}

// OwnerConfirmed reports whether ours, the XR's own Alias in a region of
// the backend, carries the confirmation that it owns the backend's alias
// there, and still names it: its alias id label and its confirmation are
// the backend's AliasIDIn the region, and the provider reports it Ready. A
// change of the alias id (another provider config) or an Alias that is not
// Ready asks Crossplane again.
func OwnerConfirmed(b Backend, region string, ours *ObservedAlias) bool {
	id := b.AliasIDIn(region)
	return ours != nil && ours.AliasID == id && ours.OwnerConfirmed == id && ours.Conditions.True(conditionReady)
}

// ConfirmsOwner reports whether Crossplane's answer, labelled, confirms that
// ours, the Alias of the XR named xrNamespace/xrName in a region of the
// backend, owns the alias there, given that CheckAliasOwner refused nothing
// on that answer. Ours must exist, be Ready, carry the backend's alias id,
// and be confirmAfter old at now; and the answer must list it: Crossplane's
// cache then holds every Alias created before it, each of which
// CheckAliasOwner has compared with ours.
func ConfirmsOwner(b Backend, region, xrName, xrNamespace string, ours *ObservedAlias, labelled []LabelledAlias, now time.Time) bool {
	if ours == nil || ours.AliasID != b.AliasIDIn(region) || !ours.Conditions.True(conditionReady) {
		return false
	}
	if ours.Created.IsZero() || now.Sub(ours.Created) < confirmAfter {
		return false
	}
	return slices.ContainsFunc(labelled, func(a LabelledAlias) bool { return a.Composite == xrName && a.Namespace == xrNamespace })
}
