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

// TestOwnerConfirmed checks when a call may leave out a region's
// requirement: only when the XR's own Alias there carries a confirmation of
// the backend's current alias id, its label, and is Ready.
func TestOwnerConfirmed(t *testing.T) {
	b := Backend{AliasName: "vault-backend", Region: "eu-west-1", ProviderConfigName: "default"}
	id := b.AliasID()
	ready := Conditions{conditionReady: {Status: "True"}}
	cases := map[string]struct {
		reason string
		ours   *ObservedAlias
		want   bool
	}{
		"Confirmed": {
			reason: "Confirmed for the current alias id, labelled with it and Ready: nothing to ask.",
			ours:   &ObservedAlias{AliasID: id, OwnerConfirmed: id, Conditions: ready},
			want:   true,
		},
		"NoAlias": {
			reason: "No Alias of ours: ask.",
		},
		"NotConfirmed": {
			reason: "An Alias no answer has confirmed: ask.",
			ours:   &ObservedAlias{AliasID: id, Conditions: ready},
		},
		"OtherAliasID": {
			reason: "Confirmed for another alias id (the alias name or provider config changed): ask.",
			ours:   &ObservedAlias{AliasID: b.AliasIDIn("us-east-1"), OwnerConfirmed: b.AliasIDIn("us-east-1"), Conditions: ready},
		},
		"LabelChanged": {
			reason: "Confirmed, but labelled with another alias id: ask.",
			ours:   &ObservedAlias{AliasID: b.AliasIDIn("us-east-1"), OwnerConfirmed: id, Conditions: ready},
		},
		"Unlabelled": {
			reason: "Confirmed, but without the label another claim's requirement selects: ask.",
			ours:   &ObservedAlias{OwnerConfirmed: id, Conditions: ready},
		},
		"NotReady": {
			reason: "Confirmed, but not Ready: ask.",
			ours:   &ObservedAlias{AliasID: id, OwnerConfirmed: id, Conditions: Conditions{conditionReady: {Status: "False"}}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := OwnerConfirmed(b, b.Region, tc.ours); got != tc.want {
				t.Errorf("%s\nOwnerConfirmed(...): want %t, got %t", tc.reason, tc.want, got)
			}
		})
	}
}

// TestConfirmsOwner checks when an answer on which CheckAliasOwner refused
// nothing confirms that the XR's own Alias owns the alias.
func TestConfirmsOwner(t *testing.T) {
	b := Backend{AliasName: "vault-backend", Region: "eu-west-1", ProviderConfigName: "default"}
	id := b.AliasID()
	created := at(t, "2026-11-20T09:00:00Z")
	ready := Conditions{conditionReady: {Status: "True"}}
	ours := ObservedAlias{AliasID: id, Created: created, Conditions: ready}
	listed := []LabelledAlias{{Name: "vault-backend-1a2b3c", Composite: "vault-backend", Created: created}}
	with := func(edit func(a *ObservedAlias)) *ObservedAlias {
		a := ours
		edit(&a)
		return &a
	}
	cases := map[string]struct {
		reason   string
		ours     *ObservedAlias
		labelled []LabelledAlias
		now      time.Time
		want     bool
	}{
		"Confirms": {
			reason:   "Ours exists, is Ready, labelled, a minute old, and the answer lists it: confirmed.",
			ours:     &ours,
			labelled: listed,
			now:      created.Add(confirmAfter),
			want:     true,
		},
		"BesideYounger": {
			reason:   "Ours listed beside a younger Alias, which CheckAliasOwner let pass: confirmed.",
			ours:     &ours,
			labelled: append([]LabelledAlias{{Name: "payments-x7k2p-3f9a1c", Composite: "payments-x7k2p", Created: created.Add(time.Second)}}, listed...),
			now:      created.Add(confirmAfter),
			want:     true,
		},
		"TooYoung": {
			reason:   "Ours is less than a minute old: an Alias created in the same second may sort before it, or not be in Crossplane's cache yet.",
			ours:     &ours,
			labelled: listed,
			now:      created.Add(confirmAfter - time.Second),
		},
		"NotListed": {
			reason:   "The answer does not list ours: Crossplane's cache may lack Aliases created before it too.",
			ours:     &ours,
			labelled: nil,
			now:      created.Add(time.Hour),
		},
		"OtherXRListed": {
			reason:   "Only another XR's Alias of the same name is listed.",
			ours:     &ours,
			labelled: []LabelledAlias{{Namespace: "team-b", Name: "vault-backend-1a2b3c", Composite: "vault-backend", Created: created}},
			now:      created.Add(time.Hour),
		},
		"NoAlias": {
			reason:   "No Alias of ours yet.",
			labelled: listed,
			now:      created.Add(time.Hour),
		},
		"NotReady": {
			reason:   "Ours is not Ready.",
			ours:     with(func(a *ObservedAlias) { a.Conditions = Conditions{conditionReady: {Status: "False"}} }),
			labelled: listed,
			now:      created.Add(time.Hour),
		},
		"Unlabelled": {
			reason:   "Ours does not carry the alias id yet.",
			ours:     with(func(a *ObservedAlias) { a.AliasID = "" }),
			labelled: listed,
			now:      created.Add(time.Hour),
		},
		"NoCreationTime": {
			reason:   "Ours has no creation time: its age is unknown.",
			ours:     with(func(a *ObservedAlias) { a.Created = time.Time{} }),
			labelled: listed,
			now:      created.Add(time.Hour),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := ConfirmsOwner(b, b.Region, "vault-backend", "", tc.ours, tc.labelled, tc.now); got != tc.want {
				t.Errorf("%s\nConfirmsOwner(...): want %t, got %t", tc.reason, tc.want, got)
			}
		})
	}
}
