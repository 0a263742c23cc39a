package main

import (
	"strings"
	"testing"
)

func TestParsePrincipal(t *testing.T) {
	cases := map[string]struct {
		reason  string
		arn     string
		account string // empty when the ARN must be refused
		wantMsg string
	}{
		"Root":         {reason: "An account root is a principal.", arn: "arn:aws:iam::123456789012:root", account: "123456789012"},
		"User":         {reason: "A user is a principal.", arn: "arn:aws:iam::123456789012:user/alice", account: "123456789012"},
		"UserWithPath": {reason: "Users may have paths.", arn: "arn:aws:iam::123456789012:user/ops/eu/alice", account: "123456789012"},
		"Role":         {reason: "A role is a principal.", arn: "arn:aws:iam::123456789012:role/vault-server", account: "123456789012"},
		"RoleIAMChars": {reason: "Names may hold +=,.@_-.", arn: "arn:aws:iam::123456789012:role/a+b=c,d.e@f_g-h", account: "123456789012"},
		"China":        {reason: "aws-cn is a partition.", arn: "arn:aws-cn:iam::123456789012:root", account: "123456789012"},
		"GovCloud":     {reason: "aws-us-gov is a partition.", arn: "arn:aws-us-gov:iam::123456789012:role/r", account: "123456789012"},
		"ISO":          {reason: "ISO partitions are accepted.", arn: "arn:aws-iso-b:iam::123456789012:role/r", account: "123456789012"},
		"Group":        {reason: "Groups are refused.", arn: "arn:aws:iam::123456789012:group/devs", wantMsg: "IAM groups cannot be principals"},
		"Wildcard":     {reason: "Wildcards are refused.", arn: "arn:aws:iam::123456789012:user/*", wantMsg: "wildcards are not allowed"},
		"Star":         {reason: "A bare * is not an ARN.", arn: "*", wantMsg: "must be an IAM ARN"},
		"AssumedRole":  {reason: "STS session ARNs are refused.", arn: "arn:aws:sts::123456789012:assumed-role/r/s", wantMsg: "must be an IAM ARN (service iam)"},
		"Partition":    {reason: "Unknown partitions are refused.", arn: "arn:azure:iam::123456789012:root", wantMsg: "partition must be one of"},
		"ShortAccount": {reason: "Accounts have 12 digits.", arn: "arn:aws:iam::12345:root", wantMsg: "account must be 12 digits"},
		"Region":       {reason: "IAM ARNs have no region.", arn: "arn:aws:iam:eu-west-1:123456789012:root", wantMsg: "IAM ARNs have no region"},
		"Policy":       {reason: "Other IAM resources are refused.", arn: "arn:aws:iam::123456789012:policy/p", wantMsg: "must name an account root, a user or a role"},
		"EmptyName":    {reason: "A role needs a name.", arn: "arn:aws:iam::123456789012:role/", wantMsg: "role name must not be empty"},
		"EmptyPathSeg": {reason: "Paths have no empty segments.", arn: "arn:aws:iam::123456789012:role//r", wantMsg: "path segments may hold only"},
		"LongName":     {reason: "Names are at most 64 characters.", arn: "arn:aws:iam::123456789012:user/" + strings.Repeat("u", 65), wantMsg: "user name must be at most 64 characters"},
		"BadChars":     {reason: "Names hold IAM characters only.", arn: "arn:aws:iam::123456789012:user/a b", wantMsg: "user name may hold only"},
		"Colon":        {reason: "An extra colon is malformed.", arn: "arn:aws:iam::123456789012:role/a:b", wantMsg: "must be an IAM ARN"},
		"Empty":        {reason: "An empty string is not an ARN.", arn: "", wantMsg: "must be an IAM ARN"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			p, msg := ParsePrincipal(tc.arn)
			if tc.account != "" {
				if msg != "" || p.Account != tc.account {
					t.Errorf("%s\nParsePrincipal(%q): want account %s, got %+v, %q", tc.reason, tc.arn, tc.account, p, msg)
				}
				return
			}
			if !strings.Contains(msg, tc.wantMsg) {
				t.Errorf("%s\nParsePrincipal(%q): want a message containing %q, got %q", tc.reason, tc.arn, tc.wantMsg, msg)
			}
		})
	}
}

func TestDeletedPrincipals(t *testing.T) {
	c := Backend{
		AdminUsers:    []string{"arn:aws:iam::123456789012:role/admin"},
		StandardUsers: []string{"arn:aws:iam::123456789012:role/app", "arn:aws:iam::123456789012:user/ci"},
	}
	cases := map[string]struct {
		reason string
		policy string
		want   []string // the field and ARN each warning starts with
	}{
		"NoneReplaced": {
			reason: "A policy naming every ARN gives no warning.",
			policy: `{"Statement":[{"Sid":"KeyAdministrators","Principal":{"AWS":"arn:aws:iam::123456789012:role/admin"}},` +
				`{"Sid":"KeyUsers","Principal":{"AWS":["arn:aws:iam::123456789012:role/app","arn:aws:iam::123456789012:user/ci"]}}]}`,
		},
		"UserReplaced": {
			reason: "A user's ARN replaced by its AIDA id is named in spec.standardUsers; the other user is not.",
			policy: `{"Statement":[{"Sid":"KeyUsers","Principal":{"AWS":["arn:aws:iam::123456789012:role/app","AIDAJQABLZS4A3QDU576Q"]}}]}`,
			want:   []string{"spec.standardUsers: arn:aws:iam::123456789012:user/ci no longer exists"},
		},
		"AdminRoleReplaced": {
			reason: "An admin role replaced by its AROA id, as a single string, is named in spec.adminUsers.",
			policy: `{"Statement":[{"Sid":"KeyAdministrators","Principal":{"AWS":"AROAZ3EXAMPLE4UNIQUE7"}}]}`,
			want:   []string{"spec.adminUsers: arn:aws:iam::123456789012:role/admin no longer exists"},
		},
		"OtherStatementsIgnored": {
			reason: "Unique ids in statements the function does not write say nothing about the claim.",
			policy: `{"Statement":[{"Sid":"Extra","Principal":{"AWS":"AROAZ3EXAMPLE4UNIQUE7"}},{"Sid":"KeyUsers","Principal":"*"}]}`,
		},
		"NotJSON": {
			reason: "A policy that is not JSON gives no warning, and no error.",
			policy: `{"Statement":`,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := DeletedPrincipals(c, tc.policy)
			if len(got) != len(tc.want) {
				t.Fatalf("%s\nDeletedPrincipals(...): want %d warnings, got %q", tc.reason, len(tc.want), got)
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tc.want[i]) {
					t.Errorf("%s\nwarning %d: want it to start with %q, got %q", tc.reason, i, tc.want[i], got[i])
				}
			}
		})
	}
}
