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

// The rules of AWS and Kubernetes that values from both a claim and the
// function's input must follow, each returning errors that name the field.

// regionPattern matches AWS region names such as eu-west-1, us-gov-west-1
// or eusc-de-east-1.
var regionPattern = regexp.MustCompile(`^[a-z]{2,4}(-[a-z]+)+-[0-9]{1,2}$`)

func checkRegion(r string) string {
	if !regionPattern.MatchString(r) {
		return "must be an AWS region such as eu-west-1"
	}
	return ""
}

// keyIDPattern matches the id of a KMS key: a UUID, or mrk- and 32
// hexadecimal digits for a multi-region key.
var keyIDPattern = regexp.MustCompile(`^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$`)

func checkKeyID(id string) string {
	if !keyIDPattern.MatchString(id) {
		return "must be a KMS key id such as 1234abcd-12ab-34cd-56ef-1234567890ab, or mrk- and 32 hexadecimal digits for a multi-region key; not an ARN or an alias"
	}
	return ""
}

// IsAccountID reports whether s is a 12-digit AWS account id.
func IsAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// checkName checks a Kubernetes object name, as kubectl would.
func checkName(p *field.Path, name string) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsDNS1123Subdomain(name) {
		errs = append(errs, field.Invalid(p, shown(name), msg))
	}
	return errs
}

// checkTags checks the AWS tagging rules on each key and value, in key order
// so that messages are the same on every call.
func checkTags(p *field.Path, tags map[string]string) field.ErrorList {
	var errs field.ErrorList
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		v := tags[k]
		kp := p.Key(shown(k))
		switch {
		case k == "":
			errs = append(errs, field.Invalid(kp, k, "tag keys must not be empty"))
		case utf8.RuneCountInString(k) > maxTagKeyLength:
			errs = append(errs, field.Invalid(kp, shown(k), fmt.Sprintf("tag keys must be at most %d characters", maxTagKeyLength)))
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
			errs = append(errs, field.Invalid(kp, shown(v), "tag values may hold only letters, digits, spaces and _.:/=+-@"))
		}
	}
	return errs
}

func isTagText(s string) bool {
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsNumber(r) && !unicode.Is(unicode.Zs, r) && !strings.ContainsRune("_.:/=+-@", r) {
			return false
		}
	}
	return true
}

// tooManyTags says why a claim may hold fewer tags than AWS allows.
func tooManyTags(p *field.Path, n int) *field.Error {
	e := field.TooMany(p, n, maxTags)
	e.Detail += ", counting the platform's default tags: AWS allows 50 per key and provider-aws adds " + strings.Join(providerTags, ", ")
	return e
}

// tooManyServices says why spec.allowedServices is refused by its length
// alone.
func tooManyServices(p *field.Path, n int) *field.Error {
	return field.TooMany(p, n, maxAllowedServices)
}

// tooManyReplicaRegions says why spec.replicaRegions is refused by its
// length alone.
func tooManyReplicaRegions(p *field.Path, n int) *field.Error {
	return field.TooMany(p, n, maxReplicaRegions)
}

// tooLong is field.TooLong counting characters, as AWS does, not bytes.
func tooLong(p *field.Path, maxLength int) *field.Error {
	e := field.TooLong(p, "", maxLength)
	e.Detail = fmt.Sprintf("may not be more than %d characters", maxLength)
	return e
}

func betweenMsg(lo, hi int64) string { return fmt.Sprintf("must be between %d and %d", lo, hi) }
