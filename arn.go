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
// holds no colon. It cuts the string rather than calling strings.Split,
// which allocates a slice per ARN: a fifth of the function's own CPU for a
// claim of 250 principals (see docs/performance.md).
func splitARN(s string) (parts [6]string, ok bool) {
	rest := s
	for i := range len(parts) - 1 {
		if parts[i], rest, ok = strings.Cut(rest, ":"); !ok {
			return parts, false
		}
	}
	parts[5] = rest
	return parts, !strings.Contains(rest, ":")
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
	return s != "" && !strings.ContainsFunc(s, func(r rune) bool { return !isIAMRune(r) })
}

func isIAMRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("+=,.@_-", r)
}
