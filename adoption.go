package main

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// A claim never takes over what exists in AWS. provider-aws imports the AWS
// resource an external name names and updates it to its spec: an Alias whose
// name exists would be retargeted to the claim's key, silently, and deleted
// with the claim. So each Alias is observed before it is managed, and a key
// named by spec.existingKeyId is observed before it is adopted; what the
// function decided is recorded on the composed resource (adoptionAnnotation)
// and never relaxed by a later call.

// The values a key must have in AWS to be adopted: a symmetric key for
// encryption, the only kind the key policy and the claim's users make sense
// for.
const (
	symmetricKeySpec = "SYMMETRIC_DEFAULT"
	encryptDecrypt   = "ENCRYPT_DECRYPT"
)

// Adopt decides, for a valid backend, how the Key and each region's Alias
// are managed, and returns the refusals of what exists in AWS: those that
// refuse the claim now (a key that cannot be adopted, an alias refused on
// an earlier call), and aliases refused for the first time, whose refusal
// the response must record before the claim can be refused.
func Adopt(b Backend, o Observed) (Adoptions, field.ErrorList, field.ErrorList) {
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
		alias := o.Aliases[r]
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

// KeyAdoption decides how the Key of a backend with spec.existingKeyId is
// managed: observed only until the provider has read the key, then adopted
// if it fits the claim. A key that does not exist, or does not fit, is
// refused naming spec.existingKeyId, and stays observed only: nothing is
// written to it and no key is created in its place. A Key observed only is
// checked again, whatever it records. A backend without existingKeyId
// creates its key, as it always has.
func KeyAdoption(b Backend, o Observed) (Adoption, *field.Error) {
	k := o.Key
	switch {
	case b.ExistingKeyID == "":
		return adoptionNone, nil
	case k == nil:
		return adoptionProbe, nil
	case k.Adoption == adoptionAdopt && !k.ObserveOnly:
		return adoptionAdopt, nil
	case k.Conditions.Missing():
		return adoptionProbe, field.Invalid(specPath.Child("existingKeyId"), b.ExistingKeyID, fmt.Sprintf(
			"AWS has no key with this id in %s for provider config %s, or the key is pending deletion (provider-aws reads both as missing); nothing is created in its place: correct the id, or cancel the key's deletion",
			shown(b.Region), shown(b.ProviderConfigName)))
	case k.KeyID == "":
		return adoptionProbe, nil
	}
	if misfits := keyMisfits(b, k); len(misfits) > 0 {
		return adoptionProbe, field.Invalid(specPath.Child("existingKeyId"), b.ExistingKeyID,
			"cannot be adopted: "+strings.Join(misfits, "; ")+"; nothing is written to it")
	}
	return adoptionAdopt, nil
}

// keyMisfits lists how a key that AWS reports differs from what the claim
// needs.
func keyMisfits(b Backend, k *ObservedKey) []string {
	var out []string
	if k.KeySpec != symmetricKeySpec {
		out = append(out, fmt.Sprintf("its key spec is %s, not %s", orUnknown(k.KeySpec), symmetricKeySpec))
	}
	if k.KeyUsage != encryptDecrypt {
		out = append(out, fmt.Sprintf("its key usage is %s, not %s", orUnknown(k.KeyUsage), encryptDecrypt))
	}
	if k.Enabled == nil || !*k.Enabled {
		out = append(out, "it is disabled; enable it in AWS first")
	}
	region, account := arnRegionAccount(k.ARN)
	if k.ReportedRegion != "" {
		region = k.ReportedRegion
	}
	if region != b.Region {
		out = append(out, fmt.Sprintf("it is in %s, not in %s (spec.region)", orUnknown(region), shown(b.Region)))
	}
	if b.Account != "" && account != b.Account {
		out = append(out, fmt.Sprintf("it is in account %s, not in %s, the account of the key policy", orUnknown(account), b.Account))
	}
	switch mr := k.MultiRegionReported; {
	case mr == nil:
		out = append(out, "AWS does not say whether it is a multi-region key")
	case *mr && !b.MultiRegion():
		out = append(out, "it is a multi-region key, and the claim names no spec.replicaRegions")
	case !*mr && b.MultiRegion():
		out = append(out, "it is a single-region key, and only a multi-region key can have the claim's spec.replicaRegions")
	}
	return out
}

// arnRegionAccount returns the region and account of a KMS key's ARN,
// arn:<partition>:kms:<region>:<account>:key/<id>; empty when it is not one.
func arnRegionAccount(arn string) (region, account string) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "kms" {
		return "", ""
	}
	return parts[3], parts[4]
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return shown(s)
}

// ClaimKeyID is the id of the claim's key: as the Key reports it, else the
// id of the key the claim adopts; empty while neither is known.
func ClaimKeyID(b Backend, o Observed) string {
	if id := o.KeyID(); id != "" {
		return id
	}
	return b.ExistingKeyID
}

// AliasAdoption decides how the Alias of a backend in a region (the key's,
// or a replica's) is managed: observed only, until the provider reports
// whether the alias exists in AWS; created and managed in full when it does
// not; adopted when it targets the claim's key there (keyID, its id in that
// region; empty while unknown); and refused, observed only for good, when it
// targets another key. An Alias composed before aliases were probed keeps
// the management it has. An Alias that is observed only is decided afresh
// from what the provider reports, whatever decision it records, unless
// refused: only the function's own decision, applied with the management
// it gives, lets the provider write to an alias. The error is the
// refusal's, also for a refusal an earlier call recorded.
func AliasAdoption(b Backend, region string, a *ObservedAlias, keyID, keyARN string) (Adoption, *field.Error) {
	switch {
	case a == nil:
		return adoptionProbe, nil
	case a.Adoption == adoptionRefuse:
		return adoptionRefuse, aliasExists(b, region)
	case a.ObserveOnly:
	case a.Adoption == adoptionNone, a.Adoption == adoptionCreate, a.Adoption == adoptionAdopt:
		return a.Adoption, nil
	}
	switch {
	case a.Conditions.Missing():
		return adoptionCreate, nil
	case a.ReportedTargetKeyID == "" && a.ReportedTargetKeyARN == "":
		return adoptionProbe, nil
	case keyID != "" && a.ReportedTargetKeyID == keyID, keyARN != "" && a.ReportedTargetKeyARN == keyARN:
		return adoptionAdopt, nil
	}
	return adoptionRefuse, aliasExists(b, region)
}

// aliasExists refuses an alias that exists in AWS and targets another key.
func aliasExists(b Backend, region string) *field.Error {
	p, advice := specPath.Child("aliasName"), "choose another alias name, or adopt the key it targets with spec.existingKeyId"
	if region != b.Region {
		p, advice = specPath.Child("replicaRegions"), "choose another alias name, or leave "+shown(region)+" out of replicaRegions"
	}
	return field.Forbidden(p, fmt.Sprintf(
		"%s%s exists in AWS in %s, targets another key, and is not managed by this claim: nothing retargets or deletes it; %s",
		aliasPrefix, shown(b.AliasName), shown(region), advice))
}

// The management policies of a resource the function does not create:
// observed only while it is probed or refused, and managed in place once
// adopted. crossplane-runtime supports no set that may update and delete
// but not create, and one that may create could replace an adopted key
// that reads as missing: so an adopted resource outlives its claim.
var (
	observePolicies = []string{"Observe"}
	adoptPolicies   = []string{"Observe", "Update", "LateInitialize"}
	allPolicies     = []string{"*"}
)

// orphanPolicies are the management policies of a namespaced managed
// resource whose external resource outlives it: every action but Delete. A
// namespaced managed resource has no deletionPolicy: what its deletion does
// is one of its management policies.
var orphanPolicies = []string{"Observe", "Create", "Update", "LateInitialize"}

// managementPolicies are the management policies of a composed resource
// with this adoption and the backend's deletion policy; nil leaves the
// provider's default, as for resources composed before adoption.
func managementPolicies(a Adoption, b Backend, s Scope) []string {
	switch a {
	case adoptionProbe, adoptionRefuse:
		return observePolicies
	case adoptionAdopt:
		return adoptPolicies
	case adoptionCreate:
		if s.Namespaced() && b.DeletionPolicy == deletionPolicyOrphan {
			return orphanPolicies
		}
		return allPolicies
	}
	if s.Namespaced() && b.DeletionPolicy == deletionPolicyOrphan {
		return orphanPolicies
	}
	return nil
}
