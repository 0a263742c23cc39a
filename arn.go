package main

import (
	"strings"
)

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
	// arn:partition:service:region:account:resource; the resource may hold
	// no colon for IAM, so exactly six parts. Cut rather than Split: this
	// runs for every principal of every claim, and Cut allocates nothing.
	var parts [6]string
	rest, ok := s, true
	for i := range len(parts) - 1 {
		if parts[i], rest, ok = strings.Cut(rest, ":"); !ok {
			break
		}
	}
	parts[5] = rest
	if !ok || strings.Contains(rest, ":") || parts[0] != "arn" {
		return Principal{}, "must be an IAM ARN like arn:aws:iam::123456789012:role/name"
	}
	partition, service, region, account, res := parts[1], parts[2], parts[3], parts[4], parts[5]
	switch {
	case !partitions[partition]:
		return Principal{}, "partition must be one of aws, aws-cn, aws-us-gov, aws-iso, aws-iso-b, aws-iso-e, aws-iso-f, aws-eusc"
	case service != "iam":
		return Principal{}, "must be an IAM ARN (service iam), not " + quote(service)
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

// IsAccountID reports whether s is a 12-digit AWS account id.
func IsAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

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

func isIAMName(s string) bool {
	if s == "" {
		return false
	}
	for i := range len(s) {
		if !iamNameBytes[s[i]] {
			return false
		}
	}
	return true
}

// iamNameBytes are the bytes IAM allows in user and role names and path
// segments: a table, because every byte of every ARN of every claim is
// checked.
var iamNameBytes = func() (t [256]bool) {
	for c := range t {
		t[c] = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("+=,.@_-", byte(c)) >= 0
	}
	return t
}()

func quote(s string) string { return `"` + truncate(s) + `"` }

// truncate keeps a user's string short enough to quote in a message.
func truncate(s string) string {
	const maxQuoted = 64
	if len(s) > maxQuoted {
		return strings.ToValidUTF8(s[:maxQuoted], "") + "…"
	}
	return s
}
