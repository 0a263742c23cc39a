package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/util/validation/field"

	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"github.com/crossplane/function-sdk-go/request"
	"github.com/crossplane/function-sdk-go/resource"
)

// One alias, one owner: each composed Alias carries a label with its alias
// id, and every call asks Crossplane for the Aliases, in any namespace, that
// carry the claim's alias ids, so that no two claims manage one AWS alias.

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

// aliasIDLabel labels each composed Alias with its Backend's AliasID, so
// that the function can ask Crossplane for every Alias of one AWS alias.
const aliasIDLabel = "kms.example.org/alias-id"

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

// aliasRequirements asks Crossplane, for each of the backend's regions, for
// the Aliases of the scope's group, in every namespace, that carry the
// backend's alias id there. A Crossplane that advertises the required
// resources capability (v2.2 and later) is asked in
// requirements.resources; an older one, which may know only
// requirements.extra_resources (v1.15 to v1.20), there.
func aliasRequirements(req *fnv1.RunFunctionRequest, b Backend, s Scope) *fnv1.Requirements {
	regions := b.Regions()
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
