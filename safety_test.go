package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestCheckReplacement(t *testing.T) {
	c := Claim{AliasName: "app", Region: "eu-west-1"}
	cases := map[string]struct {
		reason   string
		observed Observed
		want     []string // fields refused
	}{
		"NothingObserved":    {reason: "A new claim replaces nothing."},
		"SameRegionAndAlias": {reason: "An unchanged key and alias are fine.", observed: Observed{Key: &ObservedKey{Region: "eu-west-1"}, Alias: &ObservedAlias{Name: "app"}}},
		"RegionChanged":      {reason: "A new region would replace the key.", observed: Observed{Key: &ObservedKey{Region: "us-east-1"}}, want: []string{"spec.region"}},
		"AliasRenamed":       {reason: "A new name would re-create the alias.", observed: Observed{Alias: &ObservedAlias{Name: "old"}}, want: []string{"spec.aliasName"}},
		"Both": {
			reason:   "Both refusals are reported at once.",
			observed: Observed{Key: &ObservedKey{Region: "us-east-1"}, Alias: &ObservedAlias{Name: "old"}},
			want:     []string{"spec.region", "spec.aliasName"},
		},
		"KeyWithoutRegion": {reason: "A Key whose region is not known yet is no evidence of a change.", observed: Observed{Key: &ObservedKey{}}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var got []string
			for _, e := range CheckReplacement(c, tc.observed) {
				got = append(got, e.Field)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("%s\nrefused fields: -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestDeletionPolicyWarnings(t *testing.T) {
	orphaned := Observed{Key: &ObservedKey{Orphan: true}}
	if w := DeletionPolicyWarnings(Claim{DeletionPolicy: "Delete"}, orphaned); len(w) != 1 {
		t.Errorf("Orphan to Delete: want one warning, got %v", w)
	}
	if w := DeletionPolicyWarnings(Claim{DeletionPolicy: "Orphan"}, orphaned); len(w) != 0 {
		t.Errorf("Orphan kept: want no warning, got %v", w)
	}
	if w := DeletionPolicyWarnings(Claim{DeletionPolicy: "Delete"}, Observed{Key: &ObservedKey{}}); len(w) != 0 {
		t.Errorf("Delete kept: want no warning, got %v", w)
	}
}
