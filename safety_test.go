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

func TestChangeWarnings(t *testing.T) {
	c := Claim{DeletionPolicy: "Delete", ProviderConfigName: "default"}
	cases := map[string]struct {
		reason   string
		claim    func(*Claim)
		observed Observed
		want     int
	}{
		"NothingObserved":   {reason: "A new claim changes nothing."},
		"Unchanged":         {reason: "An unchanged key gives no warning.", observed: Observed{Key: &ObservedKey{ProviderConfigName: "default"}}},
		"OrphanToDelete":    {reason: "Orphan to Delete is said.", observed: Observed{Key: &ObservedKey{Orphan: true}}, want: 1},
		"OrphanKept":        {reason: "Orphan kept is fine.", claim: func(c *Claim) { c.DeletionPolicy = "Orphan" }, observed: Observed{Key: &ObservedKey{Orphan: true}}},
		"ProviderConfig":    {reason: "New credentials for an existing key are said.", observed: Observed{Key: &ObservedKey{ProviderConfigName: "aws-old"}}, want: 1},
		"ProviderConfigNew": {reason: "A key without a known provider config gives no warning.", observed: Observed{Key: &ObservedKey{}}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			claim := c
			if tc.claim != nil {
				tc.claim(&claim)
			}
			if got := ChangeWarnings(claim, tc.observed); len(got) != tc.want {
				t.Errorf("%s\nChangeWarnings: want %d warnings, got %v", tc.reason, tc.want, got)
			}
		})
	}
}
