package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// One AWS alias, one owner. provider-aws imports the existing AWS alias an
// Alias resource names, so two Aliases naming one alias in one account and
// region both report Ready while each points it at its own key on every
// poll, and deleting either deletes the alias the other still uses. So the
// function labels each Alias it composes with an id of the AWS alias (the
// provider config, the region and the name), asks Crossplane for every
// Alias of the same group carrying that label, in any namespace, and
// refuses a claim whose alias another XR's Alias already manages.
const (
	// aliasIDLabel labels each composed Alias with aliasID.
	aliasIDLabel = "kms.example.org/alias-id"
	// aliasesRequirement names the required resources the function asks
	// Crossplane for: the Aliases labelled with the claim's aliasID.
	aliasesRequirement = "aliases"
	// compositeLabel is the label Crossplane sets on each composed resource
	// to the name of its XR.
	compositeLabel = "crossplane.io/composite"
)

// aliasID identifies the AWS alias a claim manages within one flavour: the
// first 63 hexadecimal digits (a label value's limit) of the SHA-256 of
// <provider config>/<region>/<alias name>, which no label could hold as
// they are. Neither a provider config's name nor a region holds a slash, so
// the three parts cannot run into each other.
func aliasID(c Claim) string {
	h := sha256.Sum256([]byte(c.ProviderConfigName + "/" + c.Region + "/" + c.AliasName))
	return hex.EncodeToString(h[:])[:63]
}

// LabelledAlias is an Alias carrying a claim's aliasID, as Crossplane
// returned it.
type LabelledAlias struct {
	Namespace string
	Name      string
	// Composite is the name of the XR that composed it.
	Composite string
	Created   string
}

// CheckAliasOwner refuses a claim whose AWS alias another XR's Alias
// already manages. The XR is identified by its name and namespace; ours is
// its own Alias, when it exists. Two Aliases that exist already (composed
// at the same moment, before either could see the other) are ordered by
// creation time and name: the older one keeps the alias, so that exactly one
// of the two XRs is refused.
func CheckAliasOwner(c Claim, xrName, xrNamespace string, ours *ObservedAlias, labelled []LabelledAlias) field.ErrorList {
	for _, a := range labelled {
		if a.Composite == xrName && a.Namespace == xrNamespace {
			continue
		}
		if ours != nil && ours.Created != "" && a.Created != "" && older(ours.Created, xrNamespace, xrName, a) {
			continue
		}
		return field.ErrorList{field.Forbidden(specPath.Child("aliasName"), fmt.Sprintf(
			"%s%s in %s, with provider config %s, is already managed by another KmsBackend; choose another alias name",
			aliasPrefix, truncate(c.AliasName), truncate(c.Region), truncate(c.ProviderConfigName)))}
	}
	return nil
}

// older reports whether an Alias created at created, composed for the XR
// namespace/name, comes before the other one.
func older(created, namespace, name string, other LabelledAlias) bool {
	if created != other.Created {
		// RFC 3339 times in UTC, as the API server writes them, sort as
		// strings.
		return created < other.Created
	}
	return namespace+"/"+name < other.Namespace+"/"+other.Composite
}
