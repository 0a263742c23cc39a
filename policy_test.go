package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// policyCase is a claim and the platform's settings whose key policy is a
// golden file under testdata/policies/, which the IAM evaluator judges too.
type policyCase struct {
	reason   string
	spec     map[string]any
	settings func(*Settings)
}

// policyCases are the claims whose policies are kept as golden files, one of
// each shape the policy takes.
func policyCases() map[string]policyCase {
	return map[string]policyCase{
		"Example": {
			reason: "The Terraform module's example: one admin, one user.",
			spec:   validSpec(),
		},
		"ManyPrincipals": {
			reason: "Principals of every kind, sorted, with an ARN both admin and user.",
			spec: func() map[string]any {
				s := validSpec()
				s["adminUsers"] = []any{"arn:aws:iam::123456789012:user/ops/zed", admin, "arn:aws:iam::123456789012:root"}
				s["standardUsers"] = []any{"arn:aws:iam::123456789012:role/svc/b", admin, user}
				return s
			}(),
		},
		"AllowedServices": {
			reason: "The users and their grants are held to S3 and RDS in the key's region, sorted.",
			spec: func() map[string]any {
				s := validSpec()
				s["allowedServices"] = []any{"s3", "rds"}
				return s
			}(),
		},
		"AllowedServicesWithReplicas": {
			reason: "A multi-region key's users are held to the services in its region and each replica's.",
			spec: func() map[string]any {
				s := validSpec()
				s["allowedServices"] = []any{"s3"}
				s["replicaRegions"] = []any{"us-east-1", "eu-central-1"}
				return s
			}(),
		},
		"GovCloudWithoutRoot": {
			reason: "The partition comes from the ARNs; the platform dropped the root statement and named provider-aws' role, an administrator.",
			spec: func() map[string]any {
				s := validSpec()
				s["region"] = "us-gov-west-1"
				s["adminUsers"] = []any{"arn:aws-us-gov:iam::123456789012:role/admin"}
				s["standardUsers"] = []any{"arn:aws-us-gov:iam::123456789012:role/app"}
				return s
			}(),
			settings: func(s *Settings) {
				s.IncludeAccountRoot = false
				s.ProviderPrincipal = "arn:aws-us-gov:iam::123456789012:role/crossplane-provider-aws"
			},
		},
		"AllowedServicesAdministeringUser": {
			reason: "A standard user who is also an administrator is held to the services for the cryptographic actions only; the others for every use.",
			spec: func() map[string]any {
				s := validSpec()
				s["standardUsers"] = []any{user, admin, "arn:aws:iam::123456789012:user/batch"}
				s["allowedServices"] = []any{"ec2"}
				return s
			}(),
		},
		"AllowedServicesChina": {
			reason: "kms:ViaService names the services with the aws-cn partition's DNS suffix.",
			spec: func() map[string]any {
				s := validSpec()
				s["region"] = "cn-north-1"
				s["replicaRegions"] = []any{"cn-northwest-1"}
				s["adminUsers"] = []any{"arn:aws-cn:iam::123456789012:role/admin"}
				s["standardUsers"] = []any{"arn:aws-cn:iam::123456789012:role/app"}
				s["allowedServices"] = []any{"s3"}
				return s
			}(),
		},
		"KeyAdministration": {
			reason: "The platform chose AWS's key-administrator actions: management, no cryptographic action.",
			spec:   validSpec(),
			settings: func(s *Settings) {
				s.KeyAdministration = true
				s.ProviderPrincipal = "arn:aws:iam::123456789012:role/crossplane-provider-aws"
			},
		},
		"KeyAdministrationWithReplicas": {
			reason: "A multi-region key's administrators may also replicate it; without the root statement.",
			spec: func() map[string]any {
				s := validSpec()
				s["replicaRegions"] = []any{"us-east-1"}
				return s
			}(),
			settings: func(s *Settings) {
				s.IncludeAccountRoot = false
				s.KeyAdministration = true
				s.ProviderPrincipal = "arn:aws:iam::123456789012:role/crossplane-provider-aws"
			},
		},
	}
}

func TestKeyPolicyGolden(t *testing.T) {
	cases := policyCases()
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := defaultSettings()
			if tc.settings != nil {
				tc.settings(&s)
			}
			c, _, errs := check(t, tc.spec, s)
			if len(errs) > 0 {
				t.Fatalf("%s\nwant a valid spec, got %v", tc.reason, errs)
			}
			got, err := KeyPolicy(c).Marshal()
			if err != nil {
				t.Fatal(err)
			}
			var compact bytes.Buffer
			if err := json.Compact(&compact, []byte(got)); err != nil || compact.String() != got {
				t.Fatalf("policy is not compact JSON: %s", got)
			}
			// The golden file is indented so that a change reads as a diff
			// of the statement it touches.
			var indented bytes.Buffer
			if err := json.Indent(&indented, []byte(got), "", "  "); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", "policies", name+".json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, append(indented.Bytes(), '\n'), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("cannot read golden file (run go test ./... -update): %v", err)
			}
			if diff := cmp.Diff(strings.TrimSuffix(string(want), "\n"), indented.String()); diff != "" {
				t.Errorf("%s\npolicy differs from %s (-want, +got):\n%s", tc.reason, path, diff)
			}
		})
	}
}

// TestKeyPolicyWithoutServices checks that an empty allowedServices gives
// the policy of a claim without it, byte for byte: a claim that does not use
// the field keeps the policy its key has.
func TestKeyPolicyWithoutServices(t *testing.T) {
	without := policyOf(t, validSpec())
	empty := validSpec()
	empty["allowedServices"] = []any{}
	if got := policyOf(t, empty); got != without {
		t.Errorf("allowedServices: [] changes the policy:\n got %s\nwant %s", got, without)
	}
	if strings.Contains(without, "kms:ViaService") {
		t.Errorf("a policy without allowedServices holds kms:ViaService: %s", without)
	}
}

// TestKeyPolicyOrderIndependent shuffles the claim's lists, with duplicates,
// many times: the policy must be the same bytes every time, or the provider
// would see a perpetual diff.
func TestKeyPolicyOrderIndependent(t *testing.T) {
	admins := make([]any, 0, 20)
	users := make([]any, 0, 40)
	for i := range 20 {
		admins = append(admins, fmt.Sprintf("arn:aws:iam::123456789012:role/admin-%02d", i))
	}
	for i := range 40 {
		users = append(users, fmt.Sprintf("arn:aws:iam::123456789012:user/team-%d/u%02d", i%3, i))
	}
	users = append(users, users[0], admins[3])

	policyOf := func(a, u []any) string {
		spec := validSpec()
		spec["adminUsers"], spec["standardUsers"] = a, u
		return policyOf(t, spec)
	}
	want := policyOf(admins, users)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 200 {
		a, u := append([]any(nil), admins...), append([]any(nil), users...)
		r.Shuffle(len(a), func(i, j int) { a[i], a[j] = a[j], a[i] })
		r.Shuffle(len(u), func(i, j int) { u[i], u[j] = u[j], u[i] })
		if got := policyOf(a, u); got != want {
			t.Fatalf("shuffle %d gave different bytes:\nwant %s\ngot  %s", i, want, got)
		}
	}
}

func TestKeyPolicyStatements(t *testing.T) {
	c, _, errs := check(t, validSpec(), defaultSettings())
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	var doc struct {
		Version   string
		Statement []struct {
			Sid       string
			Effect    string
			Principal struct{ AWS []string }
			Action    []string
			Resource  string
			Condition map[string]map[string]string
		}
	}
	p, err := KeyPolicy(c).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(p), &doc); err != nil {
		t.Fatal(err)
	}
	type stmt struct {
		Sid, Principal, Actions, Condition string
	}
	got := make([]stmt, 0, len(doc.Statement))
	for _, s := range doc.Statement {
		if s.Effect != "Allow" || s.Resource != "*" {
			t.Errorf("%s: want Effect Allow and Resource *, got %s and %s", s.Sid, s.Effect, s.Resource)
		}
		got = append(got, stmt{s.Sid, strings.Join(s.Principal.AWS, ","), strings.Join(s.Action, ","), fmt.Sprint(s.Condition)})
	}
	want := []stmt{
		{"EnableIAMUserPermissions", "arn:aws:iam::123456789012:root", "kms:*", "map[]"},
		{"KeyAdministrators", admin, "kms:*", "map[]"},
		{"KeyUsers", user, "kms:Decrypt,kms:DescribeKey,kms:Encrypt,kms:GenerateDataKey*,kms:ReEncrypt*", "map[]"},
		{"KeyUsersPersistentResourceGrants", user, "kms:CreateGrant,kms:ListGrants,kms:RevokeGrant", "map[Bool:map[kms:GrantIsForAWSResource:true]]"},
	}
	if doc.Version != "2012-10-17" {
		t.Errorf("Version: want 2012-10-17, got %s", doc.Version)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("statements: -want, +got:\n%s", diff)
	}
}

func TestCheckPolicySize(t *testing.T) {
	spec := validSpec()
	users := make([]any, 0, 600)
	for i := range 600 {
		users = append(users, fmt.Sprintf("arn:aws:iam::123456789012:role/service-role-number-%04d", i))
	}
	spec["standardUsers"] = users
	c, _, errs := check(t, spec, defaultSettings())
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	p, err := KeyPolicy(c).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got := CheckPolicySize(p)
	if len(got) != 1 || !strings.Contains(got[0].Error(), "over the KMS limit of 32768") {
		t.Errorf("a %d-byte policy: want one error about the KMS limit, got %v", len(p), got)
	}
	small, _ := KeyPolicy(Backend{AdminUsers: []string{admin}, StandardUsers: []string{user}}).Marshal()
	if errs := CheckPolicySize(small); len(errs) > 0 {
		t.Errorf("a %d-byte policy: want no error, got %v", len(small), errs)
	}
}

// policyOf returns the policy of a valid spec.
func policyOf(t *testing.T, spec map[string]any) string {
	t.Helper()
	c, _, errs := check(t, spec, defaultSettings())
	if len(errs) > 0 {
		t.Fatalf("want a valid spec, got %v", errs)
	}
	p, err := KeyPolicy(c).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestMarshalAsJSON holds the hand-written Marshal to json.Marshal: for
// every golden policy, and for documents whose strings JSON or HTML must
// escape, and whose lists are nil or empty.
func TestMarshalAsJSON(t *testing.T) {
	docs := map[string]PolicyDocument{
		"NoStatements":    {Version: "2012-10-17"},
		"EmptyStatements": {Version: "2012-10-17", Statement: []Statement{}},
		"NilAndEmptyLists": {Statement: []Statement{
			{Sid: "nil"},
			{Sid: "empty", Principal: Principals{AWS: []string{}}, Action: []string{}, Condition: map[string]map[string]any{}},
		}},
		"Escaped": {Version: "<&>", Statement: []Statement{{
			Sid:       "quote\" backslash\\ tab\t nul\x00 del\x7f",
			Effect:    "é ü 中 \u2028\u2029 \xff invalid",
			Principal: Principals{AWS: []string{"arn:aws:iam::123456789012:role/a<b>&c", ""}},
			Action:    []string{"kms:*", "\n"},
			Resource:  "*",
			Condition: map[string]map[string]any{"StringEquals": {"kms:ViaService": []string{"s3.eu-west-1.amazonaws.com", "<"}}},
		}}},
		"Conditions": {Statement: []Statement{{
			Sid: "many",
			Condition: map[string]map[string]any{
				"StringNotEquals": {"kms:ViaService": []string{"b", "a"}, "kms:CallerAccount": "123456789012"},
				"Bool":            {"kms:GrantIsForAWSResource": "true", "aws:SecureTransport": true},
				"NumericLessThan": {"kms:RecipientAttestation": 3, "nil": []string(nil), "any": []any{"x", 1}},
				"Null":            nil,
			},
		}}},
	}
	for name, tc := range policyCases() {
		s := defaultSettings()
		if tc.settings != nil {
			tc.settings(&s)
		}
		c, _, _ := check(t, tc.spec, s)
		docs["Golden"+name] = KeyPolicy(c)
	}
	for name, d := range docs {
		t.Run(name, func(t *testing.T) {
			want, err := json.Marshal(d)
			if err != nil {
				t.Fatal(err)
			}
			got, err := d.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("Marshal(): -json.Marshal, +got:\n%s", diff)
			}
		})
	}
}
