package main

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Limits of AWS KMS and of AWS tagging that a claim must respect. Lengths
// are in characters, as AWS counts them.
const (
	minDeletionWindowInDays = 7
	maxDeletionWindowInDays = 30
	maxAliasNameLength      = 250
	maxDescriptionLength    = 8192
	minRotationPeriodInDays = 90
	maxRotationPeriodInDays = 2560
	// maxTags leaves room, under AWS's 50 tags per key, for the three tags
	// provider-aws adds to every resource it manages (providerTags).
	maxTags = 50 - 3
	// maxPrincipals bounds each list of ARNs: every ARN takes at least 33
	// bytes of the key policy, so no more than about 990 fit its 32,768.
	maxPrincipals            = 1000
	maxTagKeyLength          = 128
	maxTagValueLength        = 256
	aliasPrefix              = "alias/"
	reservedAliasPrefix      = "aws/"
	reservedTagPrefix        = "aws:"
	deletionPolicyDelete     = "Delete"
	deletionPolicyOrphan     = "Orphan"
	defaultDescriptionFormat = "KMS key for alias/%s"
)

// providerTags are the tags provider-aws sets on every managed resource; a
// claim that set them would fight the provider over their values.
var providerTags = []string{"crossplane-kind", "crossplane-name", "crossplane-providerconfig"}

// regionPattern matches AWS region names such as eu-west-1, us-gov-west-1
// or eusc-de-east-1.
var regionPattern = regexp.MustCompile(`^[a-z]{2,4}(-[a-z]+)+-[0-9]{1,2}$`)

// Claim is a valid KmsBackend spec with every default applied: all that the
// composed resources and the key policy are computed from.
type Claim struct {
	// AliasName is the alias without its alias/ prefix.
	AliasName            string
	Description          string
	DeletionWindowInDays int64
	EnableKeyRotation    bool
	RotationPeriodInDays *int64
	// AdminUsers and StandardUsers are sorted and free of duplicates.
	AdminUsers    []string
	StandardUsers []string
	// AccountRoot is the root principal of the key's account, or empty when
	// the platform dropped the EnableIAMUserPermissions statement.
	AccountRoot        string
	Region             string
	Tags               map[string]string
	ProviderConfigName string
	DeletionPolicy     string
}

// Resolve applies the platform's settings to a claim's spec and checks every
// rule of the spec at once. It returns the claim, warnings about what it
// changed (duplicates removed), and every problem with its field path.
func Resolve(raw RawSpec, s Settings) (Claim, []string, field.ErrorList) {
	var errs field.ErrorList
	c := Claim{
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
		c.AliasName = strings.TrimPrefix(*raw.AliasName, aliasPrefix)
		if msg := checkAliasName(c.AliasName); msg != "" {
			errs = append(errs, field.Invalid(p, truncate(*raw.AliasName), msg))
		}
	}

	c.Description = fmt.Sprintf(defaultDescriptionFormat, c.AliasName)
	if raw.Description != nil {
		c.Description = *raw.Description
		if utf8.RuneCountInString(c.Description) > maxDescriptionLength {
			errs = append(errs, tooLong(specPath.Child("description"), maxDescriptionLength))
		}
	}

	if w := raw.DeletionWindowInDays; w != nil {
		c.DeletionWindowInDays = *w
		if *w < s.MinDeletionWindowInDays || *w > maxDeletionWindowInDays {
			msg := betweenMsg(s.MinDeletionWindowInDays, maxDeletionWindowInDays)
			if s.MinDeletionWindowInDays > minDeletionWindowInDays {
				msg += " (the platform's minimum)"
			}
			errs = append(errs, field.Invalid(specPath.Child("deletionWindowInDays"), *w, msg))
		}
	}

	if raw.EnableKeyRotation != nil {
		c.EnableKeyRotation = *raw.EnableKeyRotation
	}
	if r := raw.RotationPeriodInDays; r != nil {
		p := specPath.Child("rotationPeriodInDays")
		switch {
		case !c.EnableKeyRotation:
			errs = append(errs, field.Forbidden(p, "may only be set when enableKeyRotation is true"))
		case *r < minRotationPeriodInDays || *r > maxRotationPeriodInDays:
			errs = append(errs, field.Invalid(p, *r, betweenMsg(minRotationPeriodInDays, maxRotationPeriodInDays)))
		}
		c.RotationPeriodInDays = r
	}

	var warns []string
	pr := principals{allowed: s.AllowedAccountIDs, allowedSet: setOf(s.AllowedAccountIDs)}
	adminAccounts := map[string]bool{}
	c.AdminUsers = pr.parse(specPath.Child("adminUsers"), raw.AdminUsers, "admin ARN", adminAccounts)
	c.StandardUsers = pr.parse(specPath.Child("standardUsers"), raw.StandardUsers, "standard user ARN", nil)
	errs = append(errs, pr.errs...)
	warns = append(warns, pr.warns...)

	if s.IncludeAccountRoot && pr.partition != "" {
		account := s.AccountID
		if account == "" {
			accounts := slices.Sorted(maps.Keys(adminAccounts))
			if len(accounts) > 1 {
				errs = append(errs, field.Invalid(specPath.Child("adminUsers"), truncate(strings.Join(accounts, ",")),
					"admin users span several accounts; the platform must name the key's account in the function input (policy.accountId)"))
			}
			if len(accounts) > 0 {
				account = accounts[0]
			}
		}
		if account != "" {
			c.AccountRoot = "arn:" + pr.partition + ":iam::" + account + ":root"
		}
	}

	if raw.Region != nil {
		c.Region = *raw.Region
		if msg := checkRegion(c.Region); msg != "" {
			errs = append(errs, field.Invalid(specPath.Child("region"), truncate(c.Region), msg))
		}
	} else if c.Region == "" {
		errs = append(errs, field.Required(specPath.Child("region"), "must name the key's AWS region, e.g. eu-west-1 (the platform sets no default)"))
	}

	errs = append(errs, checkTags(specPath.Child("tags"), raw.Tags)...)
	c.Tags = mergeTags(s.Tags, raw.Tags)
	if len(c.Tags) > maxTags {
		errs = append(errs, tooManyTags(specPath.Child("tags"), len(c.Tags)))
	}

	if raw.ProviderConfigName != nil {
		c.ProviderConfigName = *raw.ProviderConfigName
		errs = append(errs, checkName(specPath.Child("providerConfigName"), c.ProviderConfigName)...)
	}

	if d := raw.DeletionPolicy; d != nil {
		c.DeletionPolicy = *d
		if *d != deletionPolicyDelete && *d != deletionPolicyOrphan {
			errs = append(errs, field.NotSupported(specPath.Child("deletionPolicy"), truncate(*d), []string{deletionPolicyDelete, deletionPolicyOrphan}))
		}
	}
	return c, warns, errs
}

// principals parses the ARN lists of one claim, which must share one
// partition and stay within the platform's allowed accounts.
type principals struct {
	allowed []string
	// allowedSet holds allowed, so that checking an ARN costs the same
	// however many accounts the platform allows.
	allowedSet map[string]bool
	partition  string
	// partitionFrom is the field path of the first ARN, which set partition.
	partitionFrom string
	errs          field.ErrorList
	warns         []string
}

// parse returns the list's valid ARNs, sorted and without duplicates, and
// adds the accounts they name to accounts unless it is nil.
func (pr *principals) parse(p *field.Path, arns []string, what string, accounts map[string]bool) []string {
	if len(arns) == 0 {
		pr.errs = append(pr.errs, field.Required(p, "at least one "+what+" is required"))
		return nil
	}
	seen := make(map[string]int, len(arns))
	out := make([]string, 0, len(arns))
	for i, a := range arns {
		if first, ok := seen[a]; ok {
			pr.warns = append(pr.warns, fmt.Sprintf("%s: duplicate of %s, removed", p.Index(i), p.Index(first)))
			continue
		}
		seen[a] = i
		prin, msg := ParsePrincipal(a)
		if msg != "" {
			pr.errs = append(pr.errs, field.Invalid(p.Index(i), truncate(a), msg))
			continue
		}
		switch {
		case pr.partition == "":
			pr.partition, pr.partitionFrom = prin.Partition, p.Index(i).String()
		case prin.Partition != pr.partition:
			pr.errs = append(pr.errs, field.Invalid(p.Index(i), a,
				fmt.Sprintf("partition %s differs from %s of %s; all principals must share one partition", prin.Partition, pr.partition, pr.partitionFrom)))
			continue
		}
		if len(pr.allowed) > 0 && !pr.allowedSet[prin.Account] {
			pr.errs = append(pr.errs, field.Invalid(p.Index(i), a,
				fmt.Sprintf("account %s is not one the platform allows (%s)", prin.Account, truncate(strings.Join(pr.allowed, ", ")))))
			continue
		}
		if accounts != nil {
			accounts[prin.Account] = true
		}
		out = append(out, a)
	}
	slices.Sort(out)
	return out
}

func setOf(l []string) map[string]bool {
	m := make(map[string]bool, len(l))
	for _, s := range l {
		m[s] = true
	}
	return m
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

func checkRegion(r string) string {
	if !regionPattern.MatchString(r) {
		return "must be an AWS region such as eu-west-1"
	}
	return ""
}

// checkName checks a Kubernetes object name, as kubectl would.
func checkName(p *field.Path, name string) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsDNS1123Subdomain(name) {
		errs = append(errs, field.Invalid(p, truncate(name), msg))
	}
	return errs
}

// checkTags checks the AWS tagging rules on each key and value, in key order
// so that messages are the same on every call.
func checkTags(p *field.Path, tags map[string]string) field.ErrorList {
	var errs field.ErrorList
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		v := tags[k]
		kp := p.Key(truncate(k))
		switch {
		case k == "":
			errs = append(errs, field.Invalid(kp, k, "tag keys must not be empty"))
		case utf8.RuneCountInString(k) > maxTagKeyLength:
			errs = append(errs, field.Invalid(kp, truncate(k), fmt.Sprintf("tag keys must be at most %d characters", maxTagKeyLength)))
		case strings.HasPrefix(strings.ToLower(k), reservedTagPrefix):
			errs = append(errs, field.Invalid(kp, k, "tag keys must not start with aws:, which AWS reserves"))
		case slices.Contains(providerTags, k):
			errs = append(errs, field.Invalid(kp, k, "is set by provider-aws on every resource it manages"))
		case !isTagText(k):
			errs = append(errs, field.Invalid(kp, k, "tag keys may hold only letters, digits, spaces and _.:/=+-@"))
		}
		switch {
		case utf8.RuneCountInString(v) > maxTagValueLength:
			errs = append(errs, tooLong(kp, maxTagValueLength))
		case !isTagText(v):
			errs = append(errs, field.Invalid(kp, truncate(v), "tag values may hold only letters, digits, spaces and _.:/=+-@"))
		}
	}
	return errs
}

// tooManyTags says why a claim may hold fewer tags than AWS allows.
func tooManyTags(p *field.Path, n int) *field.Error {
	e := field.TooMany(p, n, maxTags)
	e.Detail += ", counting the platform's default tags: AWS allows 50 per key and provider-aws adds " + strings.Join(providerTags, ", ")
	return e
}

// tooManyPrincipals says why a list of ARNs is refused by its length alone.
func tooManyPrincipals(p *field.Path, n int) *field.Error {
	e := field.TooMany(p, n, maxPrincipals)
	e.Detail += fmt.Sprintf(": the key policy, at most %d bytes, cannot name more; name a role instead of its users", maxPolicyBytes)
	return e
}

// tooLong is field.TooLong counting characters, as AWS does, not bytes.
func tooLong(p *field.Path, maxLength int) *field.Error {
	e := field.TooLong(p, "", maxLength)
	e.Detail = fmt.Sprintf("may not be more than %d characters", maxLength)
	return e
}

func isTagText(s string) bool {
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsNumber(r) && !unicode.Is(unicode.Zs, r) && !strings.ContainsRune("_.:/=+-@", r) {
			return false
		}
	}
	return true
}

// mergeTags lays a claim's tags over the platform's defaults.
func mergeTags(defaults, claim map[string]string) map[string]string {
	if len(defaults) == 0 && len(claim) == 0 {
		return nil
	}
	out := make(map[string]string, len(defaults)+len(claim))
	maps.Copy(out, defaults)
	maps.Copy(out, claim)
	return out
}
