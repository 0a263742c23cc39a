package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
)

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
