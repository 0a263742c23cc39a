package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Actions of the statements. The users' cover Vault's awskms seal
// (Encrypt, Decrypt, DescribeKey) and S3 SSE-KMS (GenerateDataKey*,
// Decrypt); the grants are those EBS and RDS create on a user's behalf.
var (
	allActions   = []string{"kms:*"}
	userActions  = []string{"kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"}
	grantActions = []string{"kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"}
	// userAndGrantActions are what allowedServices holds the standard users
	// to: every use of the key.
	userAndGrantActions = slices.Concat(userActions, grantActions)
	// cryptoActions are the users' actions that no administrator's list
	// holds: a standard user who is also an administrator is held to
	// allowedServices for these, and keeps the rest for managing the key.
	cryptoActions = []string{"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"}
	// keyAdministrationActions are AWS's key-administrator actions (the
	// console's default key policy): every management action, no
	// cryptographic one. A multi-region key's administrators also need
	// kms:ReplicateKey, which the provider calls to create each replica.
	keyAdministrationActions = []string{
		"kms:CancelKeyDeletion", "kms:Create*", "kms:Delete*", "kms:Describe*", "kms:Disable*", "kms:Enable*",
		"kms:Get*", "kms:List*", "kms:Put*", "kms:Revoke*", "kms:RotateKeyOnDemand", "kms:ScheduleKeyDeletion",
		"kms:TagResource", "kms:UntagResource", "kms:Update*",
	}
	multiRegionKeyAdministrationActions = slices.Sorted(slices.Values(append(slices.Clone(keyAdministrationActions), "kms:ReplicateKey")))
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

// KeyPolicy returns the key policy for a backend: the account root, the
// administrators, the users and their grants. With allowed services, the
// users and their grants are allowed only through those services in the
// key's regions, and denied everything else whatever their IAM policies
// allow: the root statement lets IAM grant them the key, and only a Deny
// outweighs an Allow.
func KeyPolicy(b Backend) PolicyDocument {
	stmts := make([]Statement, 0, 6)
	if b.AccountRoot != "" {
		stmts = append(stmts, allow("EnableIAMUserPermissions", []string{b.AccountRoot}, allActions))
	}
	admins := b.Administrators()
	users := allow(sidUsers, b.StandardUsers, userActions)
	grants := allow("KeyUsersPersistentResourceGrants", b.StandardUsers, grantActions)
	grants.Condition = map[string]map[string]any{"Bool": {"kms:GrantIsForAWSResource": "true"}}
	via := viaService(b)
	if len(via) > 0 {
		users.Condition = map[string]map[string]any{"StringEquals": {"kms:ViaService": via}}
		grants.Condition["StringEquals"] = map[string]any{"kms:ViaService": via}
	}
	stmts = append(stmts, allow(sidAdministrators, admins, adminActions(b)), users, grants)
	if len(via) == 0 {
		return PolicyDocument{Version: "2012-10-17", Statement: stmts}
	}
	outside := map[string]map[string]any{"StringNotEquals": {"kms:ViaService": via}}
	plain, administering := splitUsers(b.StandardUsers, admins)
	if len(plain) > 0 {
		stmts = append(stmts, deny("DenyKeyUsersOutsideAllowedServices", plain, userAndGrantActions, outside))
	}
	if len(administering) > 0 {
		stmts = append(stmts, deny("DenyKeyAdministratorsUseOutsideAllowedServices", administering, cryptoActions, outside))
	}
	return PolicyDocument{Version: "2012-10-17", Statement: stmts}
}

// adminActions are the administrators' actions: kms:*, unless the platform
// chose AWS's key-administrator list.
func adminActions(b Backend) []string {
	switch {
	case !b.KeyAdministration:
		return allActions
	case b.MultiRegion():
		return multiRegionKeyAdministrationActions
	}
	return keyAdministrationActions
}

// splitUsers splits the standard users into those who are not
// administrators and those who are. Both lists are sorted.
func splitUsers(users, admins []string) (plain, administering []string) {
	for _, u := range users {
		if _, found := slices.BinarySearch(admins, u); found {
			administering = append(administering, u)
		} else {
			plain = append(plain, u)
		}
	}
	return plain, administering
}

// viaService returns the kms:ViaService values of the allowed services, one
// per service and region, the key's and its replicas', sorted: a replica
// carries the same policy. Each names the service as AWS does in the
// region's partition: <service>.<region>.<the partition's DNS suffix>.
func viaService(b Backend) []string {
	if len(b.AllowedServices) == 0 {
		return nil
	}
	regions := b.Regions()
	out := make([]string, 0, len(b.AllowedServices)*len(regions))
	for _, r := range regions {
		suffix := dnsSuffix(r)
		for _, s := range b.AllowedServices {
			out = append(out, s+"."+r+"."+suffix)
		}
	}
	slices.Sort(out)
	return out
}

func allow(sid string, arns, actions []string) Statement {
	return Statement{Sid: sid, Effect: "Allow", Principal: Principals{AWS: arns}, Action: actions, Resource: "*"}
}

func deny(sid string, arns, actions []string, condition map[string]map[string]any) Statement {
	return Statement{Sid: sid, Effect: "Deny", Principal: Principals{AWS: arns}, Action: actions, Resource: "*", Condition: condition}
}

// Marshal returns the policy as compact JSON, byte for byte as json.Marshal
// writes it. Principals arrive sorted from Resolve and maps marshal in key
// order, so equal claims give equal bytes. It writes the JSON itself rather
// than with json.Marshal, which costs a sixth more of the function's own CPU
// for a claim of 250 principals (see docs/performance.md); policy_test.go
// holds the two equal.
func (d PolicyDocument) Marshal() (string, error) {
	var b strings.Builder
	b.Grow(d.size())
	b.WriteString(`{"Version":`)
	writeJSONString(&b, d.Version)
	b.WriteString(`,"Statement":`)
	if d.Statement == nil {
		b.WriteString("null")
	} else {
		b.WriteByte('[')
		for i, s := range d.Statement {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`{"Sid":`)
			writeJSONString(&b, s.Sid)
			b.WriteString(`,"Effect":`)
			writeJSONString(&b, s.Effect)
			b.WriteString(`,"Principal":{"AWS":`)
			writeJSONStrings(&b, s.Principal.AWS)
			b.WriteString(`},"Action":`)
			writeJSONStrings(&b, s.Action)
			b.WriteString(`,"Resource":`)
			writeJSONString(&b, s.Resource)
			if len(s.Condition) > 0 {
				b.WriteString(`,"Condition":`)
				if err := writeCondition(&b, s.Condition); err != nil {
					return "", err
				}
			}
			b.WriteByte('}')
		}
		b.WriteByte(']')
	}
	b.WriteByte('}')
	return b.String(), nil
}

// size is about the length of the policy's JSON, conditions aside.
func (d PolicyDocument) size() int {
	n := 64
	for _, s := range d.Statement {
		n += 96 + len(s.Sid) + len(s.Effect) + len(s.Resource)
		for _, l := range [...][]string{s.Principal.AWS, s.Action} {
			for _, v := range l {
				n += len(v) + 3
			}
		}
	}
	return n
}

// writeCondition writes a statement's condition as json.Marshal does: each
// map's keys in order, and a value that is neither a string nor a list of
// strings through json.Marshal.
func writeCondition(b *strings.Builder, c map[string]map[string]any) error {
	return writeJSONObject(b, c, func(op map[string]any) error {
		if op == nil {
			b.WriteString("null")
			return nil
		}
		return writeJSONObject(b, op, func(v any) error {
			switch v := v.(type) {
			case string:
				writeJSONString(b, v)
			case []string:
				writeJSONStrings(b, v)
			default:
				j, err := json.Marshal(v)
				if err != nil {
					return err
				}
				b.Write(j)
			}
			return nil
		})
	})
}

// writeJSONObject writes a map as a JSON object, as json.Marshal does: its
// keys in order, each value written by write.
func writeJSONObject[V any](b *strings.Builder, m map[string]V, write func(V) error) error {
	b.WriteByte('{')
	for i, k := range slices.Sorted(maps.Keys(m)) {
		if i > 0 {
			b.WriteByte(',')
		}
		writeJSONString(b, k)
		b.WriteByte(':')
		if err := write(m[k]); err != nil {
			return err
		}
	}
	b.WriteByte('}')
	return nil
}

// writeJSONStrings writes a list of strings as json.Marshal does: null for
// a nil slice.
func writeJSONStrings(b *strings.Builder, l []string) {
	if l == nil {
		b.WriteString("null")
		return
	}
	b.WriteByte('[')
	for i, s := range l {
		if i > 0 {
			b.WriteByte(',')
		}
		writeJSONString(b, s)
	}
	b.WriteByte(']')
}

// jsonPlain are the bytes json.Marshal writes as they are in a string: the
// printable ASCII characters but for the quote, the backslash and the HTML
// characters it escapes.
var jsonPlain = func() (plain [256]bool) {
	for c := ' '; c < utf8.RuneSelf; c++ {
		plain[c] = !strings.ContainsRune(`"\<>&`, c)
	}
	return plain
}()

// writeJSONString writes a string as json.Marshal does. A string of
// printable ASCII that JSON and HTML leave alone, as every ARN, action and
// service name is, is written as it is; any other goes through json.Marshal.
func writeJSONString(b *strings.Builder, s string) {
	for i := range len(s) {
		if !jsonPlain[s[i]] {
			q, _ := json.Marshal(s)
			b.Write(q)
			return
		}
	}
	b.WriteByte('"')
	b.WriteString(s)
	b.WriteByte('"')
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
