package main

import (
	"strings"
	"testing"
)

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
