package main

import (
	"testing"
	"time"
)

// at returns the RFC 3339 time s, as the API server writes creation times.
func at(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

func TestCheckAliasOwner(t *testing.T) {
	c := Backend{AliasName: "vault-backend", Region: "eu-west-1", ProviderConfigName: "default"}
	other := LabelledAlias{Name: "payments-x7k2p-3f9a1c", Composite: "payments-x7k2p", Created: at(t, "2026-11-20T09:00:00Z")}
	cases := map[string]struct {
		reason    string
		namespace string
		ours      *ObservedAlias
		labelled  []LabelledAlias
		refused   bool
	}{
		"Alone": {
			reason: "No Alias carries the claim's alias id: allowed.",
		},
		"OwnAlias": {
			reason:   "The XR's own Alias is no other owner.",
			labelled: []LabelledAlias{{Name: "vault-backend-1a2b3c", Composite: "vault-backend", Created: other.Created}},
		},
		"SameNameOtherNamespace": {
			reason:    "An XR of the same name in another namespace is another owner.",
			namespace: "team-a",
			labelled:  []LabelledAlias{{Namespace: "team-b", Name: "vault-backend-1a2b3c", Composite: "vault-backend", Created: other.Created}},
			refused:   true,
		},
		"Taken": {
			reason:   "Another XR's Alias, and no Alias of ours: refused.",
			labelled: []LabelledAlias{other},
			refused:  true,
		},
		"OursOlder": {
			reason:   "Ours was created first: the other XR is the one refused.",
			ours:     &ObservedAlias{Created: at(t, "2026-11-20T08:59:59Z")},
			labelled: []LabelledAlias{other},
		},
		"OursYounger": {
			reason:   "Ours was created after the other: refused.",
			ours:     &ObservedAlias{Created: at(t, "2026-11-20T09:00:01Z")},
			labelled: []LabelledAlias{other},
			refused:  true,
		},
		"SameSecondOrderedByXR": {
			reason:   "Created in the same second: the XR whose namespace/name sorts first keeps the alias.",
			ours:     &ObservedAlias{Created: other.Created},
			labelled: []LabelledAlias{other},
			refused:  true, // "/payments-x7k2p" sorts before "/vault-backend"
		},
		"OursWithoutTime": {
			reason:   "An Alias of ours with no creation time cannot be shown older: refused.",
			ours:     &ObservedAlias{},
			labelled: []LabelledAlias{other},
			refused:  true,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			errs := CheckAliasOwner(c, c.Region, "vault-backend", tc.namespace, tc.ours, tc.labelled)
			if got := len(errs) > 0; got != tc.refused {
				t.Fatalf("%s\nCheckAliasOwner(...): want refused %t, got %v", tc.reason, tc.refused, errs)
			}
			if tc.refused && errs[0].Field != "spec.aliasName" {
				t.Errorf("%s\nwant the refusal to name spec.aliasName, got %s", tc.reason, errs[0].Field)
			}
		})
	}
}

// TestCheckAliasOwnerInReplicaRegion checks the refusal of an alias another
// XR manages in a replica region: it names spec.replicaRegions and the
// region, and offers to leave it out.
func TestCheckAliasOwnerInReplicaRegion(t *testing.T) {
	c := Backend{AliasName: "vault-backend", Region: "eu-west-1", ProviderConfigName: "default", ReplicaRegions: []string{"us-east-1"}}
	other := LabelledAlias{Name: "payments-x7k2p-3f9a1c", Composite: "payments-x7k2p", Created: at(t, "2026-11-20T09:00:00Z")}
	errs := CheckAliasOwner(c, "us-east-1", "vault-backend", "", nil, []LabelledAlias{other})
	want := "spec.replicaRegions: Forbidden: alias/vault-backend in us-east-1, with provider config default, is already managed by another KmsBackend; choose another alias name, or leave us-east-1 out of replicaRegions"
	if len(errs) != 1 || errs[0].Error() != want {
		t.Errorf("CheckAliasOwner in a replica region: want %q, got %v", want, errs)
	}
}
