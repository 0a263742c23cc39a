package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// The IAM principals a claim names: their ARNs, the lists of them, and the
// warning for those IAM has deleted since.

// partitions are the AWS partitions whose IAM ARNs a claim may name.
var partitions = map[string]bool{
	"aws":        true,
	"aws-cn":     true,
	"aws-us-gov": true,
	"aws-iso":    true,
	"aws-iso-b":  true,
	"aws-iso-e":  true,
	"aws-iso-f":  true,
	"aws-eusc":   true,
}

// maxIAMNameLength is IAM's limit on user and role names; maxIAMPathLength
// is its limit on their paths.
const (
	maxIAMNameLength = 64
	maxIAMPathLength = 512
)

// A Principal is an IAM principal a key policy may name: an account root, a
// user or a role.
type Principal struct {
	Partition string
	Account   string
}

// ParsePrincipal parses an IAM ARN of an account root, a user or a role. It
// returns a message that says what is wrong with anything else: groups,
// wildcards, other services, malformed strings.
func ParsePrincipal(s string) (Principal, string) {
	parts, ok := splitARN(s)
	if !ok || parts[0] != "arn" {
		return Principal{}, "must be an IAM ARN like arn:aws:iam::123456789012:role/name"
	}
	partition, service, region, account, res := parts[1], parts[2], parts[3], parts[4], parts[5]
	switch {
	case !partitions[partition]:
		return Principal{}, "partition must be one of aws, aws-cn, aws-us-gov, aws-iso, aws-iso-b, aws-iso-e, aws-iso-f, aws-eusc"
	case service != "iam":
		return Principal{}, `must be an IAM ARN (service iam), not "` + shown(service) + `"`
	case region != "":
		return Principal{}, "IAM ARNs have no region"
	case !IsAccountID(account):
		return Principal{}, "account must be 12 digits"
	}
	if msg := checkIAMResource(res); msg != "" {
		return Principal{}, msg
	}
	return Principal{Partition: partition, Account: account}, ""
}

// splitARN splits arn:partition:service:region:account:resource into its
// six parts, and reports whether there are exactly six: an IAM resource
// holds no colon. It finds the colons in one pass rather than calling
// strings.Split, which allocates a slice per ARN: a fifth of the function's
// own CPU for a claim of 250 principals (see docs/performance.md).
func splitARN(s string) (parts [6]string, ok bool) {
	n, start := 0, 0
	for i := range len(s) {
		if s[i] != ':' {
			continue
		}
		if n == len(parts)-1 {
			return parts, false
		}
		parts[n], n, start = s[start:i], n+1, i+1
	}
	parts[n] = s[start:]
	return parts, n == len(parts)-1
}

// checkIAMResource checks the resource part of an ARN: root, or a user or
// role with an optional path.
func checkIAMResource(res string) string {
	if res == "root" {
		return ""
	}
	kind, rest, _ := strings.Cut(res, "/")
	switch kind {
	case "user", "role":
	case "group":
		return "IAM groups cannot be principals in a key policy; name its users or a role"
	default:
		return "must name an account root, a user or a role (…:root, …:user/name, …:role/name)"
	}
	if strings.ContainsAny(rest, "*?") {
		return "wildcards are not allowed in principals"
	}
	i := strings.LastIndexByte(rest, '/')
	path, name := rest[:i+1], rest[i+1:]
	switch {
	case name == "":
		return kind + " name must not be empty"
	case len(name) > maxIAMNameLength:
		return kind + " name must be at most 64 characters"
	case !isIAMName(name):
		return kind + " name may hold only letters, digits and +=,.@_-"
	case len(path)+1 > maxIAMPathLength:
		return "path must be at most 512 characters"
	}
	if path != "" {
		for seg := range strings.SplitSeq(strings.TrimSuffix(path, "/"), "/") {
			if !isIAMName(seg) {
				return "path segments may hold only letters, digits and +=,.@_-"
			}
		}
	}
	return ""
}

// isIAMName reports whether s is a valid IAM user or role name or path
// segment: ASCII letters, digits and +=,.@_-.
func isIAMName(s string) bool {
	for i := range len(s) {
		if !isIAMByte(s[i]) {
			return false
		}
	}
	return s != ""
}

func isIAMByte(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	switch c {
	case '+', '=', ',', '.', '@', '_', '-':
		return true
	}
	return false
}

// principals parses the ARN lists of one claim, which must share one
// partition and stay within the platform's allowed accounts.
type principals struct {
	allowed   []string
	partition string
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
			pr.errs = append(pr.errs, field.Invalid(p.Index(i), shown(a), msg))
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
		if len(pr.allowed) > 0 && !slices.Contains(pr.allowed, prin.Account) {
			pr.errs = append(pr.errs, field.Invalid(p.Index(i), a,
				fmt.Sprintf("account %s is not one the platform allows (%s)", prin.Account, shown(strings.Join(pr.allowed, ", ")))))
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

// tooManyPrincipals says why a list of ARNs is refused by its length alone.
func tooManyPrincipals(p *field.Path, n int) *field.Error {
	e := field.TooMany(p, n, maxPrincipals)
	e.Detail += fmt.Sprintf(": the key policy, at most %d bytes, cannot name more; name a role instead of its users", maxPolicyBytes)
	return e
}

// serviceBoundUsers checks the standard users of a claim that sets
// allowedServices, whose direct use of the key the policy denies. It refuses
// an account root, which would deny every principal of the account,
// administrators and provider-aws included; it warns of a role or user
// named for Vault, whose awskms seal calls KMS directly. valid are the
// users' valid ARNs, sorted.
func serviceBoundUsers(users, valid []string) (field.ErrorList, []string) {
	p := specPath.Child("standardUsers")
	var errs field.ErrorList
	var warns []string
	for i, a := range users {
		if _, ok := slices.BinarySearch(valid, a); !ok {
			continue
		}
		name := a[strings.LastIndexByte(a, ':')+1:]
		if name == "root" {
			errs = append(errs, field.Invalid(p.Index(i), a,
				"is every principal of its account: with allowedServices, all of them would be denied direct use of the key, its administrators and provider-aws included; name the roles or users that use the key"))
			continue
		}
		if strings.Contains(strings.ToLower(name[strings.LastIndexByte(name, '/')+1:]), "vault") {
			warns = append(warns, fmt.Sprintf(
				"%s: %s looks like Vault's role: Vault's awskms seal calls KMS directly, which allowedServices denies to every standard user; leave allowedServices unset on a key that seals Vault",
				p.Index(i), shown(a)))
		}
	}
	return errs, warns
}

// uniqueID matches the IAM unique id of a user (AIDA...) or a role
// (AROA...). When a principal named in a key policy is deleted, KMS returns
// the policy with the principal's unique id where its ARN was.
var uniqueID = regexp.MustCompile(`^A(IDA|ROA)[A-Z0-9]{12,}$`)

// observedPolicy is what DeletedPrincipals reads of a key policy that KMS
// returned: Principal.AWS is a string or a list, and Principal may be "*".
type observedPolicy struct {
	Statement []struct {
		Sid       string          `json:"Sid"`
		Principal json.RawMessage `json:"Principal"`
	} `json:"Statement"`
}

// DeletedPrincipals warns of each ARN of the claim that the observed key
// policy no longer names because KMS replaced it with a unique id: the
// principal was deleted in IAM. A principal created again under the same ARN
// is a new one that the unique id does not grant; the provider writes the
// claim's policy again, which KMS refuses while the ARN does not exist.
func DeletedPrincipals(b Backend, policy string) []string {
	if policy == "" {
		return nil
	}
	var p observedPolicy
	if err := json.Unmarshal([]byte(policy), &p); err != nil {
		return nil
	}
	var warns []string
	for _, s := range p.Statement {
		var field string
		var arns []string
		switch s.Sid {
		case sidAdministrators:
			field, arns = "spec.adminUsers", b.AdminUsers
		case sidUsers:
			field, arns = "spec.standardUsers", b.StandardUsers
		default:
			continue
		}
		names := principalsOf(s.Principal)
		if !slices.ContainsFunc(names, uniqueID.MatchString) {
			continue
		}
		for _, arn := range arns {
			if slices.Contains(names, arn) {
				continue
			}
			warns = append(warns, fmt.Sprintf(
				"%s: %s no longer exists in IAM: KMS replaced it in the key policy with the deleted principal's unique id, and a user or role created again with this ARN is a new principal that the key does not trust; remove it from %s, or create it again so that the provider can write the policy with its ARN",
				field, shown(arn), field))
		}
	}
	return warns
}

// principalsOf returns the AWS principals of a statement's Principal.
func principalsOf(raw json.RawMessage) []string {
	var p struct {
		AWS json.RawMessage `json:"AWS"`
	}
	if json.Unmarshal(raw, &p) != nil || p.AWS == nil {
		return nil
	}
	var list []string
	if json.Unmarshal(p.AWS, &list) == nil {
		return list
	}
	var one string
	if json.Unmarshal(p.AWS, &one) == nil {
		return []string{one}
	}
	return nil
}
