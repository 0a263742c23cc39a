package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"google.golang.org/protobuf/types/known/structpb"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/example/function-kms-backend/input/v1beta1"
)

const (
	admin = "arn:aws:iam::123456789012:role/admin"
	user  = "arn:aws:iam::123456789012:role/app"
)

// validSpec is the smallest valid spec; cases add or replace fields.
func validSpec() map[string]any {
	return map[string]any{
		"aliasName":     "app",
		"region":        "eu-west-1",
		"adminUsers":    []any{admin},
		"standardUsers": []any{user},
	}
}

// longPath is an IAM path that makes a role ARN over 100 characters long.
const longPath = "service-role/platform/eu-west-1/payments/batch-settlement/reconciliation"

// check parses and resolves a spec as RunFunction does and returns the
// messages of its errors.
func check(t *testing.T, spec map[string]any, s Settings) (Backend, []string, []string) {
	t.Helper()
	st, err := structpb.NewStruct(spec)
	if err != nil {
		t.Fatal(err)
	}
	raw, errs := ParseSpec(st.GetFields())
	c, warns, rerrs := Resolve(raw, s)
	errs = append(errs, withoutFieldsOf(rerrs, errs)...)
	msgs := make([]string, 0, len(errs))
	for _, e := range errs {
		msgs = append(msgs, e.Error())
	}
	return c, warns, msgs
}

func defaultSettings() Settings {
	s, _ := ParseInput(nil)
	return s
}

func TestResolveRules(t *testing.T) {
	type args struct {
		with     string // YAML merged over validSpec
		without  []string
		settings func(*Settings)
	}
	cases := map[string]struct {
		reason string
		args   args
		want   []string
	}{
		"Valid": {
			reason: "The smallest valid spec has no error.",
		},
		"AliasRequired": {
			reason: "aliasName is required.",
			args:   args{without: []string{"aliasName"}},
			want:   []string{`spec.aliasName: Required value: must name the key's alias, e.g. vault-backend`},
		},
		"AliasEmptyAfterPrefix": {
			reason: "alias/ alone names no alias.",
			args:   args{with: `aliasName: alias/`},
			want:   []string{`spec.aliasName: Invalid value: "alias/": must name the alias after the optional alias/ prefix`},
		},
		"AliasTooLong": {
			reason: "The name part is at most 250 characters.",
			args:   args{with: `aliasName: ` + strings.Repeat("a", 251)},
			want:   []string{`spec.aliasName: Invalid value: "` + strings.Repeat("a", 251) + `": must be at most 250 characters after the alias/ prefix`},
		},
		"AliasFarTooLong": {
			reason: "A value over 256 characters is quoted cut, with an ellipsis.",
			args:   args{with: `aliasName: ` + strings.Repeat("a", 300)},
			want:   []string{`spec.aliasName: Invalid value: "` + strings.Repeat("a", 256) + `…": must be at most 250 characters after the alias/ prefix`},
		},
		"AliasReserved": {
			reason: "aws/ is reserved for AWS managed keys, with or without the alias/ prefix.",
			args:   args{with: `aliasName: alias/aws/ebs`},
			want:   []string{`spec.aliasName: Invalid value: "alias/aws/ebs": must not start with aws/, which AWS reserves for its own keys`},
		},
		"AliasCharacters": {
			reason: "Only letters, digits, /, _ and - are allowed.",
			args:   args{with: `aliasName: my.key`},
			want:   []string{`spec.aliasName: Invalid value: "my.key": may hold only letters, digits, /, _ and -`},
		},
		"DescriptionTooLong": {
			reason: "A description is at most 8192 characters.",
			args:   args{with: `description: ` + strings.Repeat("d", 8193)},
			want:   []string{`spec.description: Too long: may not be more than 8192 characters`},
		},
		"WindowTooShort": {
			reason: "The deletion window is at least 7 days.",
			args:   args{with: `deletionWindowInDays: 6`},
			want:   []string{`spec.deletionWindowInDays: Invalid value: 6: must be between 7 and 30`},
		},
		"WindowTooLong": {
			reason: "The deletion window is at most 30 days.",
			args:   args{with: `deletionWindowInDays: 31`},
			want:   []string{`spec.deletionWindowInDays: Invalid value: 31: must be between 7 and 30`},
		},
		"WindowUnderGuardrail": {
			reason: "The platform's minimum window raises the lower bound.",
			args:   args{with: `deletionWindowInDays: 10`, settings: func(s *Settings) { s.MinDeletionWindowInDays = 21 }},
			want:   []string{`spec.deletionWindowInDays: Invalid value: 10: must be between 21 and 30 (the platform's minimum)`},
		},
		"WindowNotInteger": {
			reason: "A fractional window is a type error.",
			args:   args{with: `deletionWindowInDays: 7.5`},
			want:   []string{`spec.deletionWindowInDays: Invalid value: 7.5: must be an integer`},
		},
		"RotationPeriodRange": {
			reason: "The rotation period is 90 to 2560 days.",
			args:   args{with: `rotationPeriodInDays: 89`},
			want:   []string{`spec.rotationPeriodInDays: Invalid value: 89: must be between 90 and 2560`},
		},
		"RotationPeriodWithoutRotation": {
			reason: "A rotation period needs rotation enabled.",
			args:   args{with: "enableKeyRotation: false\nrotationPeriodInDays: 365"},
			want:   []string{`spec.rotationPeriodInDays: Forbidden: may only be set when enableKeyRotation is true`},
		},
		"AdminsRequired": {
			reason: "At least one admin is required.",
			args:   args{with: `adminUsers: []`},
			want:   []string{`spec.adminUsers: Required value: at least one admin ARN is required`},
		},
		"UsersRequired": {
			reason: "At least one standard user is required.",
			args:   args{without: []string{"standardUsers"}},
			want:   []string{`spec.standardUsers: Required value: at least one standard user ARN is required`},
		},
		"GroupRefused": {
			reason: "IAM groups cannot be principals.",
			args:   args{with: `standardUsers: ["arn:aws:iam::123456789012:group/devs"]`},
			want:   []string{`spec.standardUsers[0]: Invalid value: "arn:aws:iam::123456789012:group/devs": IAM groups cannot be principals in a key policy; name its users or a role`},
		},
		"WildcardRefused": {
			reason: "Wildcards are refused.",
			args:   args{with: `standardUsers: ["arn:aws:iam::123456789012:role/*"]`},
			want:   []string{`spec.standardUsers[0]: Invalid value: "arn:aws:iam::123456789012:role/*": wildcards are not allowed in principals`},
		},
		"LongRoleARNShownWhole": {
			reason: "A role ARN with a long path, common in AWS accounts, is quoted whole.",
			args:   args{with: `standardUsers: ["arn:aws:iam::123456789012:role/` + longPath + `/app*"]`},
			want:   []string{`spec.standardUsers[0]: Invalid value: "arn:aws:iam::123456789012:role/` + longPath + `/app*": wildcards are not allowed in principals`},
		},
		"PartitionsMixed": {
			reason: "All principals share one partition.",
			args:   args{with: `standardUsers: ["arn:aws-cn:iam::123456789012:role/app"]`},
			want:   []string{`spec.standardUsers[0]: Invalid value: "arn:aws-cn:iam::123456789012:role/app": partition aws-cn differs from aws of spec.adminUsers[0]; all principals must share one partition`},
		},
		"AdminsSpanAccounts": {
			reason: "Admins in several accounts need the platform to name the key's account.",
			args:   args{with: `adminUsers: ["arn:aws:iam::111111111111:role/a", "arn:aws:iam::222222222222:role/a"]`},
			want:   []string{`spec.adminUsers: Invalid value: "111111111111,222222222222": admin users span several accounts; the platform must name the key's account in the function input (policy.accountId)`},
		},
		"AdminsSpanAccountsWithAccountID": {
			reason: "With policy.accountId the same claim is valid.",
			args: args{
				with:     `adminUsers: ["arn:aws:iam::111111111111:role/a", "arn:aws:iam::222222222222:role/a"]`,
				settings: func(s *Settings) { s.AccountID = "111111111111" },
			},
		},
		"AccountNotAllowed": {
			reason: "Principals must be in the platform's allowed accounts; the message names the ARN.",
			args:   args{settings: func(s *Settings) { s.AllowedAccountIDs = []string{"999999999999"} }},
			want: []string{
				`spec.adminUsers[0]: Invalid value: "arn:aws:iam::123456789012:role/admin": account 123456789012 is not one the platform allows (999999999999)`,
				`spec.standardUsers[0]: Invalid value: "arn:aws:iam::123456789012:role/app": account 123456789012 is not one the platform allows (999999999999)`,
			},
		},
		"RegionRequired": {
			reason: "Without a platform default the region is required.",
			args:   args{without: []string{"region"}},
			want:   []string{`spec.region: Required value: must name the key's AWS region, e.g. eu-west-1 (the platform sets no default)`},
		},
		"RegionFromInput": {
			reason: "With a platform default the region may be left out.",
			args:   args{without: []string{"region"}, settings: func(s *Settings) { s.Region = "eu-central-1" }},
		},
		"RegionEUSC": {
			reason: "The European Sovereign Cloud's regions have a four-letter prefix.",
			args: args{
				with: `{region: eusc-de-east-1, adminUsers: ["arn:aws-eusc:iam::123456789012:role/a"], standardUsers: ["arn:aws-eusc:iam::123456789012:role/b"]}`,
			},
		},
		"RegionInvalid": {
			reason: "A region must look like an AWS region.",
			args:   args{with: `region: Europe (Ireland)`},
			want:   []string{`spec.region: Invalid value: "Europe (Ireland)": must be an AWS region such as eu-west-1`},
		},
		"TooManyTags": {
			reason: "At most 47 tags, counting the platform's defaults: AWS allows 50 and provider-aws adds 3.",
			args:   args{settings: func(s *Settings) { s.Tags = manyTags(48) }},
			want: []string{
				"spec.tags: Too many: 48: must have at most 47 items, counting the platform's default tags: AWS allows 50 per key and provider-aws adds crossplane-kind, crossplane-name, crossplane-providerconfig",
			},
		},
		"MostTags": {
			reason: "47 tags are fine.",
			args:   args{settings: func(s *Settings) { s.Tags = manyTags(47) }},
		},
		"TagSetByProvider": {
			reason: "The tags provider-aws sets cannot be set by a claim.",
			args:   args{with: `tags: {crossplane-name: mine}`},
			want:   []string{`spec.tags[crossplane-name]: Invalid value: "crossplane-name": is set by provider-aws on every resource it manages`},
		},
		"TagKeyReserved": {
			reason: "Tag keys must not start with aws:.",
			args:   args{with: `tags: {"AWS:owner": x}`},
			want:   []string{`spec.tags[AWS:owner]: Invalid value: "AWS:owner": tag keys must not start with aws:, which AWS reserves`},
		},
		"TagKeyEmpty": {
			reason: "Tag keys are at least one character.",
			args:   args{with: `tags: {"": x}`},
			want:   []string{`spec.tags[]: Invalid value: "": tag keys must not be empty`},
		},
		"TagValueCharacters": {
			reason: "Lengths count characters, not bytes: 256 accented letters are fine.",
			args:   args{with: `tags: {k: ` + strings.Repeat("é", 256) + `}`},
		},
		"TagKeyTooLong": {
			reason: "Tag keys are at most 128 characters.",
			args:   args{with: `tags: {` + strings.Repeat("k", 129) + `: x}`},
			want:   []string{`spec.tags[` + strings.Repeat("k", 129) + `]: Invalid value: "` + strings.Repeat("k", 129) + `": tag keys must be at most 128 characters`},
		},
		"TagValueTooLong": {
			reason: "Tag values are at most 256 characters.",
			args:   args{with: `tags: {k: ` + strings.Repeat("v", 257) + `}`},
			want:   []string{`spec.tags[k]: Too long: may not be more than 256 characters`},
		},
		"TagCharacters": {
			reason: "Tags hold letters, digits, spaces and _.:/=+-@ only.",
			args:   args{with: `tags: {"k!": "v"}`},
			want:   []string{`spec.tags[k!]: Invalid value: "k!": tag keys may hold only letters, digits, spaces and _.:/=+-@`},
		},
		"ProviderConfigName": {
			reason: "A provider config name is a Kubernetes object name.",
			args:   args{with: `providerConfigName: AWS_Prod`},
			want: []string{
				`spec.providerConfigName: Invalid value: "AWS_Prod": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
			},
		},
		"DeletionPolicy": {
			reason: "deletionPolicy is Delete or Orphan.",
			args:   args{with: `deletionPolicy: Retain`},
			want:   []string{`spec.deletionPolicy: Unsupported value: "Retain": supported values: "Delete", "Orphan"`},
		},
		"ReplicaRegions": {
			reason: "replicaRegions are AWS regions, each once, none the key's own.",
			args:   args{with: `replicaRegions: [us-east-1, europe, eu-west-1, us-east-1]`},
			want: []string{
				`spec.replicaRegions[1]: Invalid value: "europe": must be an AWS region such as eu-west-1`,
				`spec.replicaRegions[2]: Invalid value: "eu-west-1": is the key's own region; a replica must be in another region`,
				`spec.replicaRegions[3]: Duplicate value: "us-east-1"`,
			},
		},
		"ReplicaRegionsTooMany": {
			reason: "replicaRegions is refused by its length alone past 10 entries.",
			args:   args{with: `replicaRegions: [` + strings.Repeat("us-east-1, ", 10) + `us-east-2]`},
			want:   []string{`spec.replicaRegions: Too many: 11: must have at most 10 items`},
		},
		"ReplicaRegionsOverGuardrail": {
			reason: "The platform's maxReplicaRegions lowers the limit, and says so.",
			args:   args{with: `replicaRegions: [us-east-1, us-east-2]`, settings: func(s *Settings) { s.MaxReplicaRegions = 1 }},
			want:   []string{`spec.replicaRegions: Too many: 2: must have at most 1 item (the platform's maximum)`},
		},
		"ReplicaRegionsForbidden": {
			reason: "maxReplicaRegions 0 allows no multi-region keys.",
			args:   args{with: `replicaRegions: [us-east-1]`, settings: func(s *Settings) { s.MaxReplicaRegions = 0 }},
			want:   []string{`spec.replicaRegions: Too many: 1: must have at most 0 items (the platform's maximum)`},
		},
		"ServicesKnown": {
			reason: "allowedServices names services the function knows, each once.",
			args:   args{with: `allowedServices: [s3, S3, kms, s3]`},
			want: []string{
				`spec.allowedServices[1]: Unsupported value: "S3": supported values: "backup", "dynamodb", "ec2", "ecr", "elasticache", "elasticfilesystem", "es", "glue", "kinesis", "lambda", "rds", "redshift", "s3", "secretsmanager", "sns", "sqs", "ssm"`,
				`spec.allowedServices[2]: Unsupported value: "kms": supported values: "backup", "dynamodb", "ec2", "ecr", "elasticache", "elasticfilesystem", "es", "glue", "kinesis", "lambda", "rds", "redshift", "s3", "secretsmanager", "sns", "sqs", "ssm"`,
				`spec.allowedServices[3]: Duplicate value: "s3"`,
			},
		},
		"ServicesTooMany": {
			reason: "allowedServices is refused by its length alone past 20 entries.",
			args:   args{with: `allowedServices: [` + strings.Repeat("s3, ", 20) + `s3]`},
			want:   []string{`spec.allowedServices: Too many: 21: must have at most 20 items`},
		},
		"ServicesWithRootUser": {
			reason: "A Deny naming an account root would deny every principal of the account, administrators and provider-aws included.",
			args:   args{with: "allowedServices: [s3]\nstandardUsers: [\"arn:aws:iam::123456789012:role/app\", \"arn:aws:iam::123456789012:root\"]"},
			want:   []string{`spec.standardUsers[1]: Invalid value: "arn:aws:iam::123456789012:root": is every principal of its account: with allowedServices, all of them would be denied direct use of the key, its administrators and provider-aws included; name the roles or users that use the key`},
		},
		"RootUserWithoutServices": {
			reason: "Without allowedServices an account root may be a standard user: the account's IAM policies decide.",
			args:   args{with: `standardUsers: ["arn:aws:iam::123456789012:root"]`},
		},
		"ProviderPrincipalPartition": {
			reason: "provider-aws' principal shares the partition of the claim's ARNs, which are refused against it.",
			args: args{
				settings: func(s *Settings) { s.ProviderPrincipal = "arn:aws-us-gov:iam::123456789012:role/crossplane" },
			},
			want: []string{
				`spec.adminUsers[0]: Invalid value: "arn:aws:iam::123456789012:role/admin": partition aws differs from aws-us-gov of input.policy.providerPrincipalArn; all principals must share one partition`,
				`spec.standardUsers[0]: Invalid value: "arn:aws:iam::123456789012:role/app": partition aws differs from aws-us-gov of input.policy.providerPrincipalArn; all principals must share one partition`,
			},
		},
		"ServicesNotStrings": {
			reason: "allowedServices is a list of strings.",
			args:   args{with: `allowedServices: [s3, 3]`},
			want:   []string{`spec.allowedServices[1]: Invalid value: 3: must be a string`},
		},
		"NullIsUnset": {
			reason: "An explicit null reads as an unset field and gets the default.",
			args:   args{with: `description: null`},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			spec := validSpec()
			var with map[string]any
			if err := yaml.Unmarshal([]byte(tc.args.with), &with); err != nil {
				t.Fatal(err)
			}
			for k, v := range with {
				spec[k] = v
			}
			for _, k := range tc.args.without {
				delete(spec, k)
			}
			s := defaultSettings()
			if tc.args.settings != nil {
				tc.args.settings(&s)
			}
			_, _, got := check(t, spec, s)
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("%s\nerrors: -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func manyTags(n int) map[string]string {
	m := make(map[string]string, n)
	for i := range n {
		m["tag"+strings.Repeat("x", i)] = "v"
	}
	return m
}

func TestResolveDefaultsAndNormalisation(t *testing.T) {
	spec := validSpec()
	spec["aliasName"] = "alias/app"
	spec["adminUsers"] = []any{admin, "arn:aws:iam::123456789012:user/ops/alice", admin}
	spec["tags"] = map[string]any{"env": "prod"}
	s := defaultSettings()
	s.Tags = map[string]string{"env": "dev", "owner": "platform"}

	got, warns, errs := check(t, spec, s)
	if len(errs) > 0 {
		t.Fatalf("want no errors, got %v", errs)
	}
	want := Backend{
		AliasName:            "app",
		Description:          "KMS key for alias/app",
		DeletionWindowInDays: 30,
		EnableKeyRotation:    true,
		AdminUsers:           []string{admin, "arn:aws:iam::123456789012:user/ops/alice"},
		StandardUsers:        []string{user},
		AccountRoot:          "arn:aws:iam::123456789012:root",
		Account:              "123456789012",
		Region:               "eu-west-1",
		Tags:                 map[string]string{"env": "prod", "owner": "platform"},
		ProviderConfigName:   "default",
		DeletionPolicy:       "Delete",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Resolve: -want, +got:\n%s", diff)
	}
	if diff := cmp.Diff([]string{"spec.adminUsers[2]: duplicate of spec.adminUsers[0], removed"}, warns); diff != "" {
		t.Errorf("warnings: -want, +got:\n%s", diff)
	}
}

func TestResolveWithoutAccountRoot(t *testing.T) {
	s := defaultSettings()
	s.IncludeAccountRoot = false
	s.ProviderPrincipal = "arn:aws:iam::111111111111:role/crossplane"
	spec := validSpec()
	spec["adminUsers"] = []any{"arn:aws:iam::111111111111:role/a", "arn:aws:iam::222222222222:role/a"}
	got, _, errs := check(t, spec, s)
	if len(errs) > 0 {
		t.Fatalf("admins in several accounts need no account when the root statement is dropped; got %v", errs)
	}
	if got.AccountRoot != "" {
		t.Errorf("AccountRoot: want empty, got %q", got.AccountRoot)
	}
	p := KeyPolicy(got)
	if p.Statement[0].Sid != "KeyAdministrators" || len(p.Statement) != 3 {
		t.Fatalf("want the policy without EnableIAMUserPermissions, got %+v", p.Statement)
	}
	want := []string{"arn:aws:iam::111111111111:role/a", "arn:aws:iam::111111111111:role/crossplane", "arn:aws:iam::222222222222:role/a"}
	if diff := cmp.Diff(want, p.Statement[0].Principal.AWS); diff != "" {
		t.Errorf("administrators: provider-aws' principal among the admin users, sorted: -want, +got:\n%s", diff)
	}
}

func TestResolveVaultWarning(t *testing.T) {
	spec := validSpec()
	spec["standardUsers"] = []any{user, "arn:aws:iam::123456789012:role/platform/Vault-Server"}
	if _, warns, errs := check(t, spec, defaultSettings()); len(warns) > 0 || len(errs) > 0 {
		t.Errorf("without allowedServices a Vault role is a user like any other; got %v and %v", warns, errs)
	}
	spec["allowedServices"] = []any{"s3"}
	_, warns, errs := check(t, spec, defaultSettings())
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	want := []string{`spec.standardUsers[1]: arn:aws:iam::123456789012:role/platform/Vault-Server looks like Vault's role: Vault's awskms seal calls KMS directly, which allowedServices denies to every standard user; leave allowedServices unset on a key that seals Vault`}
	if diff := cmp.Diff(want, warns); diff != "" {
		t.Errorf("warnings: -want, +got:\n%s", diff)
	}
}

func TestParseInputPolicy(t *testing.T) {
	const provider = "arn:aws:iam::123456789012:role/crossplane"
	cases := map[string]struct {
		policy     v1beta1.Policy
		guardrails *v1beta1.Guardrails
		want       []string
	}{
		"RootWithoutProvider": {
			policy: v1beta1.Policy{},
		},
		"NoRootWithProvider": {
			policy: v1beta1.Policy{IncludeAccountRoot: ptr.To(false), ProviderPrincipalARN: ptr.To(provider)},
		},
		"NoRootWithoutProvider": {
			policy: v1beta1.Policy{IncludeAccountRoot: ptr.To(false)},
			want:   []string{`input.policy.providerPrincipalArn: Required value: must name the IAM role provider-aws acts as when includeAccountRoot is false: without the root statement, a key policy that does not name the provider leaves a key that no one but AWS Support can manage`},
		},
		"ProviderNotAnARN": {
			policy: v1beta1.Policy{ProviderPrincipalARN: ptr.To("crossplane")},
			want:   []string{`input.policy.providerPrincipalArn: Invalid value: "crossplane": must be an IAM ARN like arn:aws:iam::123456789012:role/name`},
		},
		"ProviderRoot": {
			policy: v1beta1.Policy{ProviderPrincipalARN: ptr.To("arn:aws:iam::123456789012:root")},
			want:   []string{`input.policy.providerPrincipalArn: Invalid value: "arn:aws:iam::123456789012:root": must name the role or user provider-aws acts as, not an account root`},
		},
		"ProviderOfAnotherAccount": {
			policy:     v1beta1.Policy{ProviderPrincipalARN: ptr.To(provider)},
			guardrails: &v1beta1.Guardrails{AllowedAccountIDs: []string{"210987654321"}},
			want:       []string{`input.policy.providerPrincipalArn: Invalid value: "arn:aws:iam::123456789012:role/crossplane": account 123456789012 is not one of guardrails.allowedAccountIds`},
		},
		"KeyAdministration": {
			policy: v1beta1.Policy{AdministratorActions: ptr.To("KeyAdministration")},
		},
		"UnknownAdministratorActions": {
			policy: v1beta1.Policy{AdministratorActions: ptr.To("ReadOnly")},
			want:   []string{`input.policy.administratorActions: Unsupported value: "ReadOnly": supported values: "All", "KeyAdministration"`},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s, errs := ParseInput(&v1beta1.Input{Policy: &tc.policy, Guardrails: tc.guardrails})
			got := make([]string, 0, len(errs))
			for _, e := range errs {
				got = append(got, e.Error())
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("errors: -want, +got:\n%s", diff)
			}
			if len(tc.want) > 0 {
				return
			}
			if a := tc.policy.ProviderPrincipalARN; a != nil && s.ProviderPrincipal != *a {
				t.Errorf("ProviderPrincipal: want %q, got %q", *a, s.ProviderPrincipal)
			}
			if want := name == "KeyAdministration"; s.KeyAdministration != want {
				t.Errorf("KeyAdministration: want %v, got %v", want, s.KeyAdministration)
			}
		})
	}
}

func TestParseInput(t *testing.T) {
	s, errs := ParseInput(nil)
	if len(errs) > 0 {
		t.Fatalf("no input: want no errors, got %v", errs)
	}
	want := Settings{ProviderConfigName: "default", DeletionWindowInDays: 30, EnableKeyRotation: true, IncludeAccountRoot: true, MinDeletionWindowInDays: 7, MaxReplicaRegions: 10}
	if diff := cmp.Diff(want, s); diff != "" {
		t.Errorf("defaults without input: -want, +got:\n%s", diff)
	}

	for _, tc := range []struct {
		max  int64
		want string
	}{
		{max: 0},
		{max: 10},
		{max: -1, want: "input.guardrails.maxReplicaRegions: Invalid value: -1: must be between 0 and 10"},
		{max: 11, want: "input.guardrails.maxReplicaRegions: Invalid value: 11: must be between 0 and 10"},
	} {
		s, errs := ParseInput(&v1beta1.Input{Guardrails: &v1beta1.Guardrails{MaxReplicaRegions: ptr.To(tc.max)}})
		switch {
		case tc.want == "" && (len(errs) > 0 || s.MaxReplicaRegions != tc.max):
			t.Errorf("maxReplicaRegions %d: want it taken, got %d and %v", tc.max, s.MaxReplicaRegions, errs)
		case tc.want != "" && (len(errs) != 1 || errs[0].Error() != tc.want):
			t.Errorf("maxReplicaRegions %d: want %q, got %v", tc.max, tc.want, errs)
		}
	}
}
