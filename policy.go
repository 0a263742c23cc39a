package main

import (
	"encoding/json"
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Actions of the statements. They cover Vault's awskms seal (Encrypt,
// Decrypt, DescribeKey), S3 SSE-KMS (GenerateDataKey*, Decrypt) and the
// grants EBS and RDS create on a user's behalf.
var (
	adminActions = []string{"kms:*"}
	userActions  = []string{"kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"}
	grantActions = []string{"kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"}
)

// PolicyDocument is an IAM policy document. Field order is the order of the
// JSON, so the same claim always gives the same bytes.
type PolicyDocument struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Statement is one statement of a key policy.
type Statement struct {
	Sid       string                    `json:"Sid"`
	Effect    string                    `json:"Effect"`
	Principal Principals                `json:"Principal"`
	Action    []string                  `json:"Action"`
	Resource  string                    `json:"Resource"`
	Condition map[string]map[string]any `json:"Condition,omitempty"`
}

// Principals names the AWS principals a statement applies to.
type Principals struct {
	AWS []string `json:"AWS"`
}

// KeyPolicy returns the key policy for a backend: the account root, admins,
// users and grants. With allowed services, the users and their grants are
// held to requests those services make on their behalf in the key's
// regions.
func KeyPolicy(b Backend) PolicyDocument {
	stmts := make([]Statement, 0, 4)
	if b.AccountRoot != "" {
		stmts = append(stmts, allow("EnableIAMUserPermissions", []string{b.AccountRoot}, adminActions))
	}
	users := allow(sidUsers, b.StandardUsers, userActions)
	grants := allow("KeyUsersPersistentResourceGrants", b.StandardUsers, grantActions)
	grants.Condition = map[string]map[string]any{"Bool": {"kms:GrantIsForAWSResource": "true"}}
	if via := viaService(b); len(via) > 0 {
		users.Condition = map[string]map[string]any{"StringEquals": {"kms:ViaService": via}}
		grants.Condition["StringEquals"] = map[string]any{"kms:ViaService": via}
	}
	stmts = append(stmts, allow(sidAdministrators, b.AdminUsers, adminActions), users, grants)
	return PolicyDocument{Version: "2012-10-17", Statement: stmts}
}

// viaService returns the kms:ViaService values of the allowed services, one
// per service and region, the key's and its replicas', sorted: a replica
// carries the same policy.
func viaService(b Backend) []string {
	regions := b.Regions()
	out := make([]string, 0, len(b.AllowedServices)*len(regions))
	for _, s := range b.AllowedServices {
		for _, r := range regions {
			out = append(out, s+"."+r+".amazonaws.com")
		}
	}
	slices.Sort(out)
	return out
}

func allow(sid string, principals, actions []string) Statement {
	return Statement{Sid: sid, Effect: "Allow", Principal: Principals{AWS: principals}, Action: actions, Resource: "*"}
}

// Marshal returns the policy as compact JSON. Principals arrive sorted from
// Resolve and maps marshal in key order, so equal claims give equal bytes.
func (d PolicyDocument) Marshal() (string, error) {
	b, err := json.Marshal(d)
	return string(b), err
}

// CheckPolicySize refuses a policy over the KMS limit, which a claim reaches
// only with hundreds of principals.
func CheckPolicySize(policy string) field.ErrorList {
	if len(policy) <= maxPolicyBytes {
		return nil
	}
	return field.ErrorList{field.Forbidden(specPath, fmt.Sprintf(
		"the key policy computed from adminUsers and standardUsers would be %d bytes, over the KMS limit of %d; name fewer principals, e.g. a role instead of its users",
		len(policy), maxPolicyBytes))}
}
