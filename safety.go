package main

import (
	"fmt"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// CheckReplacement refuses the changes that provider-aws would apply by
// replacing an existing KMS key or re-creating its alias. Replacing a key
// schedules the old one for deletion, and every ciphertext it protects is
// lost when the window ends. The other force-new Key fields (keyUsage,
// customerMasterKeySpec, customKeyStoreId, multiRegion, xksKeyId) are never
// set by this function, so they cannot change.
func CheckReplacement(c Claim, o Observed) field.ErrorList {
	var errs field.ErrorList
	if k := o.Key; k != nil && k.Region != "" && c.Region != "" && k.Region != c.Region {
		errs = append(errs, field.Forbidden(specPath.Child("region"), fmt.Sprintf(
			"cannot change from %s to %s: the key exists, and moving it would replace it and schedule the existing key, with every ciphertext it protects, for deletion; create a new claim for a key in %s",
			k.Region, c.Region, c.Region)))
	}
	if a := o.Alias; a != nil && a.Name != "" && c.AliasName != "" && a.Name != c.AliasName {
		errs = append(errs, field.Forbidden(specPath.Child("aliasName"), fmt.Sprintf(
			"cannot change from %s to %s: the alias exists, and renaming it would delete it while applications still use it; create a new claim for another alias",
			a.Name, c.AliasName)))
	}
	return errs
}

// ChangeWarnings says what a valid edit changes about an existing key that
// its owner may not expect: a key that outlived its claim is now deleted
// with it; other credentials, maybe in another account, now manage it.
func ChangeWarnings(c Claim, o Observed) []string {
	k := o.Key
	if k == nil {
		return nil
	}
	var warns []string
	if k.Orphan && c.DeletionPolicy == deletionPolicyDelete {
		warns = append(warns, "spec.deletionPolicy: changes from Orphan to Delete: deleting this claim will now schedule the KMS key for deletion")
	}
	if k.ProviderConfigName != "" && k.ProviderConfigName != c.ProviderConfigName {
		warns = append(warns, fmt.Sprintf(
			"spec.providerConfigName: changes from %s to %s: if %s holds credentials for another account, the provider will create a new key there and the existing key will no longer be managed",
			k.ProviderConfigName, c.ProviderConfigName, c.ProviderConfigName))
	}
	return warns
}
