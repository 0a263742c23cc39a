package main

import (
	"fmt"
	"maps"
	"slices"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// CheckReplacement refuses the changes that provider-aws would apply by
// replacing an existing KMS key or re-creating its alias. Replacing a key
// schedules the old one for deletion, and every ciphertext it protects is
// lost when the window ends; a new alias name leaves every application that
// names the old one without a key.
//
// What is force-new comes from the Terraform provider provider-aws v2.5.0
// embeds (github.com/upbound/terraform-provider-aws, internal/service/kms):
// for aws_kms_key, custom_key_store_id, customer_master_key_spec, key_usage,
// multi_region and xks_key_id (key.go), and region for every resource
// (internal/provider/sdkv2/region.go, forceNewIfRegionChanges); for
// aws_kms_alias, name and name_prefix (alias.go), and region. Only region,
// multi_region (from replicaRegions) and the alias name come from a claim:
// DesiredKey never sets the other Key fields, so they keep whatever value
// the key was created with. A replica's region is fixed by its composition
// resource name, replica-<region>.
func CheckReplacement(b Backend, o Observed) field.ErrorList {
	var errs field.ErrorList
	region := specPath.Child("region")
	switch k, a := o.Key, o.Aliases[o.Region]; {
	case b.Region == "":
	case k != nil && k.Region != "" && k.Region != b.Region:
		errs = append(errs, field.Forbidden(region, fmt.Sprintf(
			"cannot change from %s to %s: the key exists, and moving it would replace it and schedule the existing key, with every ciphertext it protects, for deletion; create a new claim for a key in %s",
			shown(k.Region), shown(b.Region), shown(b.Region))))
	case a != nil && a.Region != "" && a.Region != b.Region:
		errs = append(errs, field.Forbidden(region, fmt.Sprintf(
			"cannot change from %s to %s: the alias exists in %s, and moving it would delete it there while applications still use it; create a new claim for a key in %s",
			shown(a.Region), shown(b.Region), shown(a.Region), shown(b.Region))))
	}
	switch k := o.Key; {
	case k == nil || k.Adoption == adoptionProbe:
		// A key yet to be adopted is not replaced: KeyAdoption refuses one
		// that does not fit.
	case b.MultiRegion() && !k.MultiRegion:
		errs = append(errs, field.Forbidden(specPath.Child("replicaRegions"),
			"cannot be added: the key exists as a single-region key, only a multi-region key can have replicas, and making it one would replace it and schedule the existing key, with every ciphertext it protects, for deletion; create a new claim for a multi-region key"))
	case !b.MultiRegion() && k.MultiRegion:
		errs = append(errs, field.Forbidden(specPath.Child("replicaRegions"),
			"cannot be emptied: the key is a multi-region key, and making it single-region would replace it and schedule the existing key, with every ciphertext it protects, for deletion; keep at least one replica region"))
	}
	switch k, p := o.Key, specPath.Child("existingKeyId"); {
	case k == nil:
	case k.Adoption == adoptionNone && b.ExistingKeyID != "":
		errs = append(errs, field.Forbidden(p,
			"cannot be set: the claim's key exists, created for it, and a claim names the key it adopts only when it is created; create a new claim to adopt another key"))
	case k.Adoption != adoptionNone && b.ExistingKeyID != k.ExternalName:
		errs = append(errs, field.Forbidden(p, fmt.Sprintf(
			"cannot change from %s to %s: the claim adopts the key it was created with; create a new claim to adopt another key",
			shown(k.ExternalName), orNone(b.ExistingKeyID))))
	}
	if a := o.Aliases[o.Region]; a != nil && a.Name != "" && b.AliasName != "" && a.Name != b.AliasName {
		errs = append(errs, field.Forbidden(specPath.Child("aliasName"), fmt.Sprintf(
			"cannot change from %s to %s: the alias exists, and renaming it would delete it while applications still use it; create a new claim for another alias",
			shown(a.Name), shown(b.AliasName))))
	}
	return errs
}

// ChangeWarnings says what a valid edit changes about an existing key that
// its owner may not expect: a key that outlived its claim is now deleted
// with it; other credentials, maybe in another account, now manage it.
func ChangeWarnings(b Backend, o Observed) []string {
	k := o.Key
	if k == nil {
		return nil
	}
	var warns []string
	if k.Orphan && b.DeletionPolicy == deletionPolicyDelete && k.Adoption == adoptionNone {
		warns = append(warns, "spec.deletionPolicy: changes from Orphan to Delete: deleting this claim will now schedule the KMS key for deletion")
	}
	if k.ProviderConfigName != "" && k.ProviderConfigName != b.ProviderConfigName {
		warns = append(warns, fmt.Sprintf(
			"spec.providerConfigName: changes from %s to %s: if %s holds credentials for another account, the provider will create a new key there and the existing key will no longer be managed",
			shown(k.ProviderConfigName), shown(b.ProviderConfigName), shown(b.ProviderConfigName)))
	}
	return warns
}

// RemovedReplicas says what applying the claim does to the replicas of the
// regions it no longer names: each is deleted, with its alias, after the
// deletion window, unless the claim orphans its resources.
func RemovedReplicas(b Backend, o Observed) []string {
	var warns []string
	for _, r := range slices.Sorted(maps.Keys(o.Replicas)) {
		if slices.Contains(b.ReplicaRegions, r) {
			continue
		}
		if b.DeletionPolicy == deletionPolicyOrphan {
			warns = append(warns, fmt.Sprintf(
				"spec.replicaRegions: %s is removed: the replica key and the alias there are kept in AWS (deletionPolicy Orphan), no longer managed", shown(r)))
			continue
		}
		warns = append(warns, fmt.Sprintf(
			"spec.replicaRegions: %s is removed: its replica key is scheduled for deletion in %d days (deletionWindowInDays) and the alias there is deleted; the primary key in %s still decrypts what the replica protected",
			shown(r), b.DeletionWindowInDays, shown(b.Region)))
	}
	return warns
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return shown(s)
}
