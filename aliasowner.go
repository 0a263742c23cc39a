package main

import (
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

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
