package main

import (
	"strings"
	"testing"
)

func TestBackendAliasID(t *testing.T) {
	c := Backend{AliasName: "vault-backend", Region: "eu-west-1", ProviderConfigName: "default"}
	id := c.AliasID()
	if len(id) != 63 {
		t.Errorf("AliasID: want 63 hexadecimal digits, the longest label value, got %q", id)
	}
	for _, other := range []Backend{
		{AliasName: "vault-backend", Region: "eu-west-2", ProviderConfigName: "default"},
		{AliasName: "vault-backend", Region: "eu-west-1", ProviderConfigName: "aws-prod"},
		{AliasName: "vault-backend-2", Region: "eu-west-1", ProviderConfigName: "default"},
		// The separator keeps the parts apart.
		{AliasName: "1/vault-backend", Region: "eu-west", ProviderConfigName: "default"},
	} {
		if other.AliasID() == id {
			t.Errorf("AliasID of %+v equals the id of %+v", other, c)
		}
	}
}

func TestShown(t *testing.T) {
	cases := map[string]struct {
		reason string
		in     string
		want   string
	}{
		"Short":     {reason: "A short value is shown as it is.", in: "arn:aws:iam::123456789012:role/app", want: "arn:aws:iam::123456789012:role/app"},
		"AtTheEdge": {reason: "256 characters are shown whole.", in: strings.Repeat("é", 256), want: strings.Repeat("é", 256)},
		"Longer":    {reason: "Past 256 characters, the first 256 are shown, with an ellipsis.", in: strings.Repeat("a", 300), want: strings.Repeat("a", 256) + "…"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := shown(tc.in); got != tc.want {
				t.Errorf("%s\nshown(%q...): got %q", tc.reason, tc.in[:10], got)
			}
		})
	}
}
