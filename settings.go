package main

import (
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/example/function-kms-backend/input/v1beta1"
)

// Settings are a platform team's defaults and guardrails, read from the
// function's input, with the built-in defaults filled in.
type Settings struct {
	Region               string
	ProviderConfigName   string
	DeletionWindowInDays int64
	EnableKeyRotation    bool
	Tags                 map[string]string
	IncludeAccountRoot   bool
	AccountID            string
	// ProviderPrincipal is the IAM ARN provider-aws acts as, which the key
	// policy names among the administrators; empty when the input names
	// none, which it may only while the root statement is kept.
	ProviderPrincipal string
	// KeyAdministration limits the administrators to AWS's
	// key-administrator actions instead of kms:*.
	KeyAdministration       bool
	AllowedAccountIDs       []string
	MinDeletionWindowInDays int64
	MaxReplicaRegions       int64
}

// ParseInput checks the function's input and returns the settings it gives.
// Its errors are the platform team's to fix, so they name input fields.
func ParseInput(in *v1beta1.Input) (Settings, field.ErrorList) {
	s := Settings{
		ProviderConfigName:      defaultProviderConfigName,
		DeletionWindowInDays:    defaultDeletionWindowInDays,
		EnableKeyRotation:       true,
		IncludeAccountRoot:      true,
		MinDeletionWindowInDays: minDeletionWindowInDays,
		MaxReplicaRegions:       maxReplicaRegions,
	}
	if in == nil {
		return s, nil
	}
	var errs field.ErrorList

	if g := in.Guardrails; g != nil {
		p := inputPath.Child("guardrails")
		for i, id := range g.AllowedAccountIDs {
			if !IsAccountID(id) {
				errs = append(errs, field.Invalid(p.Child("allowedAccountIds").Index(i), shown(id), "must be a 12-digit AWS account id"))
			}
		}
		s.AllowedAccountIDs = g.AllowedAccountIDs
		if m := g.MinDeletionWindowInDays; m != nil {
			if *m < minDeletionWindowInDays || *m > maxDeletionWindowInDays {
				errs = append(errs, field.Invalid(p.Child("minDeletionWindowInDays"), *m, betweenMsg(minDeletionWindowInDays, maxDeletionWindowInDays)))
			} else {
				s.MinDeletionWindowInDays = *m
			}
		}
		if m := g.MaxReplicaRegions; m != nil {
			if *m < 0 || *m > maxReplicaRegions {
				errs = append(errs, field.Invalid(p.Child("maxReplicaRegions"), *m, betweenMsg(0, maxReplicaRegions)))
			} else {
				s.MaxReplicaRegions = *m
			}
		}
	}

	if d := in.Defaults; d != nil {
		p := inputPath.Child("defaults")
		if d.Region != nil {
			if msg := checkRegion(*d.Region); msg != "" {
				errs = append(errs, field.Invalid(p.Child("region"), shown(*d.Region), msg))
			}
			s.Region = *d.Region
		}
		if d.ProviderConfigName != nil {
			errs = append(errs, checkName(p.Child("providerConfigName"), *d.ProviderConfigName)...)
			s.ProviderConfigName = *d.ProviderConfigName
		}
		if w := d.DeletionWindowInDays; w != nil {
			if *w < s.MinDeletionWindowInDays || *w > maxDeletionWindowInDays {
				errs = append(errs, field.Invalid(p.Child("deletionWindowInDays"), *w, betweenMsg(s.MinDeletionWindowInDays, maxDeletionWindowInDays)))
			}
			s.DeletionWindowInDays = *w
		}
		if d.EnableKeyRotation != nil {
			s.EnableKeyRotation = *d.EnableKeyRotation
		}
		errs = append(errs, checkTags(p.Child("tags"), d.Tags)...)
		if len(d.Tags) > maxTags {
			errs = append(errs, field.TooMany(p.Child("tags"), len(d.Tags), maxTags))
		}
		s.Tags = d.Tags
	}
	if pol := in.Policy; pol != nil {
		p := inputPath.Child("policy")
		if pol.IncludeAccountRoot != nil {
			s.IncludeAccountRoot = *pol.IncludeAccountRoot
		}
		if pol.AccountID != nil {
			switch {
			case !IsAccountID(*pol.AccountID):
				errs = append(errs, field.Invalid(p.Child("accountId"), shown(*pol.AccountID), "must be a 12-digit AWS account id"))
			case len(s.AllowedAccountIDs) > 0 && !slices.Contains(s.AllowedAccountIDs, *pol.AccountID):
				errs = append(errs, field.Invalid(p.Child("accountId"), shown(*pol.AccountID), "must be one of guardrails.allowedAccountIds"))
			}
			s.AccountID = *pol.AccountID
		}
		if a := pol.AdministratorActions; a != nil {
			switch *a {
			case administratorActionsAll:
			case administratorActionsKeyAdministration:
				s.KeyAdministration = true
			default:
				errs = append(errs, field.NotSupported(p.Child("administratorActions"), shown(*a), []string{administratorActionsAll, administratorActionsKeyAdministration}))
			}
		}
		if arn := pol.ProviderPrincipalARN; arn != nil {
			errs = append(errs, checkProviderPrincipal(p.Child("providerPrincipalArn"), *arn, s.AllowedAccountIDs)...)
			s.ProviderPrincipal = *arn
		}
	}
	if !s.IncludeAccountRoot && s.ProviderPrincipal == "" {
		errs = append(errs, field.Required(inputPath.Child("policy", "providerPrincipalArn"),
			"must name the IAM role provider-aws acts as when includeAccountRoot is false: without the root statement, a key policy that does not name the provider leaves a key that no one but AWS Support can manage"))
	}
	return s, errs
}

// checkProviderPrincipal checks the ARN the input names for provider-aws: a
// role or user (not an account root, which would be the root statement
// again), of an account the platform allows.
func checkProviderPrincipal(p *field.Path, arn string, allowed []string) field.ErrorList {
	prin, msg := ParsePrincipal(arn)
	switch {
	case msg != "":
		return field.ErrorList{field.Invalid(p, shown(arn), msg)}
	case strings.HasSuffix(arn, ":root"):
		return field.ErrorList{field.Invalid(p, arn, "must name the role or user provider-aws acts as, not an account root")}
	case len(allowed) > 0 && !slices.Contains(allowed, prin.Account):
		return field.ErrorList{field.Invalid(p, arn, "account "+prin.Account+" is not one of guardrails.allowedAccountIds")}
	}
	return nil
}
