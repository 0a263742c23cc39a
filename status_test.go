package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/utils/ptr"
)

func TestComputeStatus(t *testing.T) {
	c := Backend{AliasName: "vault-backend", Region: "eu-west-1"}
	cases := map[string]struct {
		reason   string
		replicas []string
		observed Observed
		want     map[string]any
		wantCD   map[string][]byte
	}{
		"Replicas": {
			reason:   "A replica appears once its key ARN is known, with its alias's ARN once that is, in region order; a replica the claim no longer names does not.",
			replicas: []string{"ap-south-1", "eu-central-1", "us-east-1"},
			observed: Observed{
				Replicas: map[string]*ObservedReplica{
					"ap-south-1": {}, "eu-central-1": {ARN: "arn:r1"}, "us-east-1": {ARN: "arn:r2"}, "us-west-2": {ARN: "arn:r3"},
				},
				Aliases: map[string]*ObservedAlias{"us-east-1": {ARN: "arn:a2"}, "eu-central-1": {}},
			},
			want: map[string]any{"kmsKeyAliasName": "alias/vault-backend", "replicas": []any{
				map[string]any{"region": "eu-central-1", "keyArn": "arn:r1"},
				map[string]any{"region": "us-east-1", "keyArn": "arn:r2", "aliasArn": "arn:a2"},
			}},
			wantCD: map[string][]byte{"kmsKeyAliasName": []byte("alias/vault-backend")},
		},
		"NothingObserved": {
			reason: "Before anything exists only the alias name, taken from the claim, is known.",
			want:   map[string]any{"kmsKeyAliasName": "alias/vault-backend"},
			wantCD: map[string][]byte{"kmsKeyAliasName": []byte("alias/vault-backend")},
		},
		"KeyWithoutAtProvider": {
			reason: "A Key the provider has not reported on yet adds nothing: never an empty string.",
			observed: Observed{
				Key:     &ObservedKey{Region: "eu-west-1"},
				Aliases: map[string]*ObservedAlias{"eu-west-1": {Name: "vault-backend"}},
			},
			want:   map[string]any{"kmsKeyAliasName": "alias/vault-backend"},
			wantCD: map[string][]byte{"kmsKeyAliasName": []byte("alias/vault-backend")},
		},
		"KeyIDOnly": {
			reason: "Each field appears as soon as its own value is known.",
			observed: Observed{
				Key: &ObservedKey{KeyID: "k-1", RotationEnabled: ptr.To(false)},
			},
			want: map[string]any{"kmsKeyAliasName": "alias/vault-backend", "kmsKeyId": "k-1", "kmsKeyRotationEnabled": false},
			wantCD: map[string][]byte{
				"kmsKeyAliasName": []byte("alias/vault-backend"),
				"kmsKeyId":        []byte("k-1"),
			},
		},
		"Everything": {
			reason: "Once both are reported every field is set.",
			observed: Observed{
				Key:     &ObservedKey{KeyID: "k-1", ARN: "arn:k", RotationEnabled: ptr.To(true), DeletionWindowInDays: ptr.To[int64](30)},
				Aliases: map[string]*ObservedAlias{"eu-west-1": {Name: "vault-backend", ARN: "arn:a"}},
			},
			want: map[string]any{
				"kmsKeyAliasName": "alias/vault-backend", "kmsKeyAliasArn": "arn:a",
				"kmsKeyId": "k-1", "kmsKeyArn": "arn:k", "kmsKeyRotationEnabled": true, "kmsKeyDeletionWindow": int64(30),
			},
			wantCD: map[string][]byte{
				"kmsKeyAliasName": []byte("alias/vault-backend"), "kmsKeyAliasArn": []byte("arn:a"),
				"kmsKeyId": []byte("k-1"), "kmsKeyArn": []byte("arn:k"),
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			b := c
			b.ReplicaRegions = tc.replicas
			s := ComputeStatus(b, tc.observed, Adoptions{}, RecordedKey{}, false)
			if diff := cmp.Diff(tc.want, s.Fields()); diff != "" {
				t.Errorf("%s\nFields(): -want, +got:\n%s", tc.reason, diff)
			}
			if diff := cmp.Diff(tc.wantCD, s.ConnectionDetails()); diff != "" {
				t.Errorf("%s\nConnectionDetails(): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}
