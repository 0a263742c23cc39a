package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Resolve applies the platform's settings to a claim's spec and checks every
// rule of the spec at once. It returns the backend, warnings about what it
// changed (duplicates removed), and every problem with its field path.
func Resolve(raw RawSpec, s Settings) (Backend, []string, field.ErrorList) {
	var errs field.ErrorList
	b := Backend{
		DeletionWindowInDays: s.DeletionWindowInDays,
		EnableKeyRotation:    s.EnableKeyRotation,
		Region:               s.Region,
		ProviderConfigName:   s.ProviderConfigName,
		DeletionPolicy:       deletionPolicyDelete,
	}

	p := specPath.Child("aliasName")
	if raw.AliasName == nil {
		errs = append(errs, field.Required(p, "must name the key's alias, e.g. vault-backend"))
	} else {
		b.AliasName = strings.TrimPrefix(*raw.AliasName, aliasPrefix)
		if msg := checkAliasName(b.AliasName); msg != "" {
			errs = append(errs, field.Invalid(p, shown(*raw.AliasName), msg))
		}
	}

	b.Description = fmt.Sprintf(defaultDescriptionFormat, b.AliasName)
	if raw.Description != nil {
		b.Description = *raw.Description
		if utf8.RuneCountInString(b.Description) > maxDescriptionLength {
			errs = append(errs, tooLong(specPath.Child("description"), maxDescriptionLength))
		}
	}

	if w := raw.DeletionWindowInDays; w != nil {
		b.DeletionWindowInDays = *w
		if *w < s.MinDeletionWindowInDays || *w > maxDeletionWindowInDays {
			msg := betweenMsg(s.MinDeletionWindowInDays, maxDeletionWindowInDays)
			if s.MinDeletionWindowInDays > minDeletionWindowInDays {
				msg += " (the platform's minimum)"
			}
			errs = append(errs, field.Invalid(specPath.Child("deletionWindowInDays"), *w, msg))
		}
	}

	if raw.EnableKeyRotation != nil {
		b.EnableKeyRotation = *raw.EnableKeyRotation
	}
	if r := raw.RotationPeriodInDays; r != nil {
		p := specPath.Child("rotationPeriodInDays")
		switch {
		case !b.EnableKeyRotation:
			errs = append(errs, field.Forbidden(p, "may only be set when enableKeyRotation is true"))
		case *r < minRotationPeriodInDays || *r > maxRotationPeriodInDays:
			errs = append(errs, field.Invalid(p, *r, betweenMsg(minRotationPeriodInDays, maxRotationPeriodInDays)))
		}
		b.RotationPeriodInDays = r
	}

	var warns []string
	pr := principals{allowed: s.AllowedAccountIDs}
	if prin, msg := ParsePrincipal(s.ProviderPrincipal); msg == "" {
		pr.partition, pr.partitionFrom = prin.Partition, inputPath.Child("policy", "providerPrincipalArn").String()
	}
	b.ProviderPrincipal, b.KeyAdministration = s.ProviderPrincipal, s.KeyAdministration
	adminAccounts := map[string]bool{}
	b.AdminUsers = pr.parse(specPath.Child("adminUsers"), raw.AdminUsers, "admin ARN", adminAccounts)
	b.StandardUsers = pr.parse(specPath.Child("standardUsers"), raw.StandardUsers, "standard user ARN", nil)
	errs = append(errs, pr.errs...)
	warns = append(warns, pr.warns...)

	// The key's account: the platform's, else the admin users' one account.
	// Admin users of several accounts need the platform's only where the
	// policy names the account's root.
	b.Account = s.AccountID
	switch accounts := slices.Sorted(maps.Keys(adminAccounts)); {
	case b.Account != "" || len(accounts) == 0:
	case len(accounts) == 1:
		b.Account = accounts[0]
	case s.IncludeAccountRoot:
		errs = append(errs, field.Invalid(specPath.Child("adminUsers"), shown(strings.Join(accounts, ",")),
			"admin users span several accounts; the platform must name the key's account in the function input (policy.accountId)"))
	}
	if s.IncludeAccountRoot && pr.partition != "" && b.Account != "" {
		b.AccountRoot = "arn:" + pr.partition + ":iam::" + b.Account + ":root"
	}

	if raw.Region != nil {
		b.Region = *raw.Region
		if msg := checkRegion(b.Region); msg != "" {
			errs = append(errs, field.Invalid(specPath.Child("region"), shown(b.Region), msg))
		}
	} else if b.Region == "" {
		errs = append(errs, field.Required(specPath.Child("region"), "must name the key's AWS region, e.g. eu-west-1 (the platform sets no default)"))
	}

	errs = append(errs, checkTags(specPath.Child("tags"), raw.Tags)...)
	b.Tags = mergeTags(s.Tags, raw.Tags)
	if len(b.Tags) > maxTags {
		errs = append(errs, tooManyTags(specPath.Child("tags"), len(b.Tags)))
	}

	if raw.ProviderConfigName != nil {
		b.ProviderConfigName = *raw.ProviderConfigName
		errs = append(errs, checkName(specPath.Child("providerConfigName"), b.ProviderConfigName)...)
	}

	var listErrs field.ErrorList
	b.ReplicaRegions, listErrs = replicaRegions(b.Region, raw.ReplicaRegions, s.MaxReplicaRegions)
	errs = append(errs, listErrs...)
	b.AllowedServices, listErrs = allowedServices(raw.AllowedServices)
	errs = append(errs, listErrs...)
	if len(b.AllowedServices) > 0 {
		listErrs, serviceWarns := serviceBoundUsers(raw.StandardUsers, b.StandardUsers)
		errs = append(errs, listErrs...)
		warns = append(warns, serviceWarns...)
	}

	if id := raw.ExistingKeyID; id != nil {
		b.ExistingKeyID = *id
		if msg := checkKeyID(*id); msg != "" {
			errs = append(errs, field.Invalid(specPath.Child("existingKeyId"), shown(*id), msg))
		}
	}

	if d := raw.DeletionPolicy; d != nil {
		b.DeletionPolicy = *d
		if *d != deletionPolicyDelete && *d != deletionPolicyOrphan {
			errs = append(errs, field.NotSupported(specPath.Child("deletionPolicy"), shown(*d), []string{deletionPolicyDelete, deletionPolicyOrphan}))
		}
	}
	return b, warns, errs
}

// replicaRegions returns the claim's replica regions sorted, refusing more
// than the platform allows, a region that is not one, one named twice, and
// the key's own region.
func replicaRegions(region string, regions []string, limit int64) ([]string, field.ErrorList) {
	p := specPath.Child("replicaRegions")
	if int64(len(regions)) > limit {
		e := field.TooMany(p, len(regions), int(limit))
		if limit < maxReplicaRegions {
			e.Detail += " (the platform's maximum)"
		}
		return nil, field.ErrorList{e}
	}
	return distinct(p, regions, func(p *field.Path, r string) *field.Error {
		if msg := checkRegion(r); msg != "" {
			return field.Invalid(p, shown(r), msg)
		}
		if r == region {
			return field.Invalid(p, r, "is the key's own region; a replica must be in another region")
		}
		return nil
	})
}

// allowedServices returns the claim's services sorted, refusing one the
// function does not know and one named twice.
func allowedServices(services []string) ([]string, field.ErrorList) {
	return distinct(specPath.Child("allowedServices"), services, func(p *field.Path, s string) *field.Error {
		if !slices.Contains(viaServices, s) {
			return field.NotSupported(p, shown(s), viaServices)
		}
		return nil
	})
}

// distinct returns the list's items sorted, or nil for none, refusing each
// that invalid refuses, given its path, and each that repeats an earlier
// one.
func distinct(p *field.Path, items []string, invalid func(*field.Path, string) *field.Error) ([]string, field.ErrorList) {
	var errs field.ErrorList
	var out []string
	for i, s := range items {
		switch e := invalid(p.Index(i), s); {
		case e != nil:
			errs = append(errs, e)
		case slices.Contains(out, s):
			errs = append(errs, field.Duplicate(p.Index(i), s))
		default:
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out, errs
}

func checkAliasName(name string) string {
	switch {
	case name == "":
		return "must name the alias after the optional alias/ prefix"
	case len(name) > maxAliasNameLength:
		return fmt.Sprintf("must be at most %d characters after the alias/ prefix", maxAliasNameLength)
	case strings.HasPrefix(name, reservedAliasPrefix):
		return "must not start with aws/, which AWS reserves for its own keys"
	}
	if strings.ContainsFunc(name, func(r rune) bool { return !isAliasRune(r) }) {
		return "may hold only letters, digits, /, _ and -"
	}
	return ""
}

func isAliasRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '/' || r == '_' || r == '-'
}

// mergeTags lays a claim's own tags over the platform's defaults.
func mergeTags(defaults, own map[string]string) map[string]string {
	if len(defaults) == 0 && len(own) == 0 {
		return nil
	}
	out := make(map[string]string, len(defaults)+len(own))
	maps.Copy(out, defaults)
	maps.Copy(out, own)
	return out
}
