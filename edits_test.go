package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestCheckReplacement(t *testing.T) {
	c := Backend{AliasName: "app", Region: "eu-west-1"}
	cases := map[string]struct {
		reason   string
		claim    func(*Backend)
		observed Observed
		want     []string // fields refused
	}{
		"NothingObserved":    {reason: "A new claim replaces nothing."},
		"SameRegionAndAlias": {reason: "An unchanged key and alias are fine.", observed: Observed{Key: &ObservedKey{Region: "eu-west-1"}, Aliases: map[string]*ObservedAlias{"eu-west-1": {Name: "app"}}}},
		"RegionChanged":      {reason: "A new region would replace the key.", observed: Observed{Key: &ObservedKey{Region: "us-east-1"}}, want: []string{"spec.region"}},
		"AliasRenamed":       {reason: "A new name would re-create the alias.", observed: Observed{Aliases: map[string]*ObservedAlias{"eu-west-1": {Name: "old"}}}, want: []string{"spec.aliasName"}},
		"Both": {
			reason:   "Both refusals are reported at once.",
			observed: Observed{Key: &ObservedKey{Region: "us-east-1"}, Aliases: map[string]*ObservedAlias{"eu-west-1": {Name: "old"}}},
			want:     []string{"spec.region", "spec.aliasName"},
		},
		"KeyWithoutRegion": {reason: "A Key whose region is not known yet is no evidence of a change.", observed: Observed{Key: &ObservedKey{}}},
		"AliasRegionChanged": {
			reason:   "An Alias in another region would be re-created there, even before the Key is observed.",
			observed: Observed{Aliases: map[string]*ObservedAlias{"eu-west-1": {Name: "app", Region: "us-east-1"}}},
			want:     []string{"spec.region"},
		},
		"KeyAndAliasRegionChanged": {
			reason:   "A region change is reported once, for the Key, when both moved.",
			observed: Observed{Key: &ObservedKey{Region: "us-east-1"}, Aliases: map[string]*ObservedAlias{"eu-west-1": {Name: "app", Region: "us-east-1"}}},
			want:     []string{"spec.region"},
		},
		"ReplicasAdded": {
			reason:   "Replica regions for a single-region key would replace it.",
			claim:    func(c *Backend) { c.ReplicaRegions = []string{"us-east-1"} },
			observed: Observed{Key: &ObservedKey{Region: "eu-west-1"}},
			want:     []string{"spec.replicaRegions"},
		},
		"ReplicasEmptied": {
			reason:   "No replica regions for a multi-region key would replace it.",
			observed: Observed{Key: &ObservedKey{Region: "eu-west-1", MultiRegion: true}},
			want:     []string{"spec.replicaRegions"},
		},
		"ReplicasKept": {
			reason:   "A multi-region key with other replica regions is kept.",
			claim:    func(c *Backend) { c.ReplicaRegions = []string{"eu-central-1"} },
			observed: Observed{Key: &ObservedKey{Region: "eu-west-1", MultiRegion: true}, Replicas: map[string]*ObservedReplica{"us-east-1": {}}},
		},
		"ReplicasOnNewKey": {
			reason: "A new claim with replica regions replaces nothing.",
			claim:  func(c *Backend) { c.ReplicaRegions = []string{"us-east-1"} },
		},
		"AliasPrefixIgnored": {
			reason:   "The alias name is compared without its alias/ prefix, which ReadObserved strips.",
			observed: Observed{Aliases: map[string]*ObservedAlias{"eu-west-1": {Name: "app", Region: "eu-west-1"}}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			claim := c
			if tc.claim != nil {
				tc.claim(&claim)
			}
			tc.observed.Region = claim.Region // as ReadObserved reads it
			var got []string
			for _, e := range CheckReplacement(claim, tc.observed) {
				got = append(got, e.Field)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("%s\nrefused fields: -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

// forceNewKeyFields are the Key's spec.forProvider fields whose change the
// provider applies by replacing the key, other than region and multiRegion,
// which CheckReplacement checks: the Terraform schema of aws_kms_key marks
// them ForceNew in
// github.com/upbound/terraform-provider-aws@v0.0.0-20260305123303-f7691456b787/internal/service/kms/key.go,
// the fork provider-aws v2.5.0 embeds (its go.mod replace directive).
var forceNewKeyFields = []string{"customKeyStoreId", "customerMasterKeySpec", "keyUsage", "xksKeyId"}

// TestDesiredKeyNeverSetsForceNewFields proves why CheckReplacement only
// checks region, multiRegion and the alias name: the function never sets
// the other force-new Key fields, so with server-side apply it never owns
// them, and they keep the values the key was created with (or that the
// provider late-initialized) whatever the claim says. multiRegion it sets
// only for a key with replicas.
func TestDesiredKeyNeverSetsForceNewFields(t *testing.T) {
	rotation := int64(180)
	c := Backend{
		AliasName: "app", Description: "d", DeletionWindowInDays: 7, EnableKeyRotation: true, RotationPeriodInDays: &rotation,
		AdminUsers: []string{admin}, StandardUsers: []string{user}, Region: "eu-west-1",
		Tags: map[string]string{"team": "a"}, ProviderConfigName: "aws", DeletionPolicy: "Orphan",
	}
	multi := c
	multi.ReplicaRegions = []string{"us-east-1"}
	for name, target := range map[string]Scope{"Cluster": {}, "Namespaced": {Namespace: "ns"}} {
		t.Run(name, func(t *testing.T) {
			if fp, _, _ := unstructured.NestedMap(DesiredKey(c, "{}", adoptionNone, target).AsMap(), "spec", "forProvider"); fp["multiRegion"] != nil {
				t.Errorf("DesiredKey of a key without replicas sets multiRegion: %v", fp["multiRegion"])
			}
			if fp, _, _ := unstructured.NestedMap(DesiredKey(multi, "{}", adoptionNone, target).AsMap(), "spec", "forProvider"); fp["multiRegion"] != true {
				t.Errorf("DesiredKey of a key with replicas: want multiRegion true, got %v", fp["multiRegion"])
			}
			fp, _, _ := unstructured.NestedMap(DesiredKey(c, "{}", adoptionNone, target).AsMap(), "spec", "forProvider")
			if len(fp) == 0 {
				t.Fatal("the desired Key has no spec.forProvider: the check below would prove nothing")
			}
			for _, f := range forceNewKeyFields {
				if v, ok := fp[f]; ok {
					t.Errorf("DesiredKey sets spec.forProvider.%s = %v: a force-new field, whose change would replace the key, must be refused by CheckReplacement if the function sets it", f, v)
				}
			}
		})
	}
}

func TestChangeWarnings(t *testing.T) {
	c := Backend{DeletionPolicy: "Delete", ProviderConfigName: "default"}
	cases := map[string]struct {
		reason   string
		claim    func(*Backend)
		observed Observed
		want     int
	}{
		"NothingObserved":   {reason: "A new claim changes nothing."},
		"Unchanged":         {reason: "An unchanged key gives no warning.", observed: Observed{Key: &ObservedKey{ProviderConfigName: "default"}}},
		"OrphanToDelete":    {reason: "Orphan to Delete is said.", observed: Observed{Key: &ObservedKey{Orphan: true}}, want: 1},
		"OrphanKept":        {reason: "Orphan kept is fine.", claim: func(c *Backend) { c.DeletionPolicy = "Orphan" }, observed: Observed{Key: &ObservedKey{Orphan: true}}},
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

func TestRemovedReplicas(t *testing.T) {
	c := Backend{Region: "eu-west-1", DeletionWindowInDays: 14, DeletionPolicy: deletionPolicyDelete, ReplicaRegions: []string{"eu-central-1"}}
	observed := Observed{Replicas: map[string]*ObservedReplica{"eu-central-1": {}, "us-east-1": {}, "ap-south-1": {}}}
	cases := map[string]struct {
		reason string
		claim  func(*Backend)
		want   []string
	}{
		"Deleted": {
			reason: "Each removed region's replica is scheduled for deletion with the claim's window, in region order.",
			want: []string{
				"spec.replicaRegions: ap-south-1 is removed: its replica key is scheduled for deletion in 14 days (deletionWindowInDays) and the alias there is deleted; the primary key in eu-west-1 still decrypts what the replica protected",
				"spec.replicaRegions: us-east-1 is removed: its replica key is scheduled for deletion in 14 days (deletionWindowInDays) and the alias there is deleted; the primary key in eu-west-1 still decrypts what the replica protected",
			},
		},
		"Orphaned": {
			reason: "With deletionPolicy Orphan the removed replicas stay in AWS.",
			claim:  func(c *Backend) { c.DeletionPolicy = deletionPolicyOrphan },
			want: []string{
				"spec.replicaRegions: ap-south-1 is removed: the replica key and the alias there are kept in AWS (deletionPolicy Orphan), no longer managed",
				"spec.replicaRegions: us-east-1 is removed: the replica key and the alias there are kept in AWS (deletionPolicy Orphan), no longer managed",
			},
		},
		"NoneRemoved": {
			reason: "Replica regions the claim still names give no warning.",
			claim:  func(c *Backend) { c.ReplicaRegions = []string{"ap-south-1", "eu-central-1", "us-east-1"} },
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			claim := c
			if tc.claim != nil {
				tc.claim(&claim)
			}
			if diff := cmp.Diff(tc.want, RemovedReplicas(claim, observed)); diff != "" {
				t.Errorf("%s\nRemovedReplicas: -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}
