package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/crossplane/function-sdk-go/resource"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"
)

// observedFrom returns the observed composed resources given as YAML by
// name, as the SDK reads them from a request.
func observedFrom(t *testing.T, docs map[string]string) map[resource.Name]resource.ObservedComposed {
	t.Helper()
	out := map[resource.Name]resource.ObservedComposed{}
	for name, y := range docs {
		var obj map[string]any
		if err := yaml.Unmarshal([]byte(y), &obj); err != nil {
			t.Fatal(err)
		}
		out[resource.Name(name)] = resource.ObservedComposed{Resource: asComposed(obj)}
	}
	return out
}

// unreported are the conditions of a resource the provider has not reported on.
func unreported() Conditions {
	return Conditions{"Ready": {Status: "Unknown"}, "Synced": {Status: "Unknown"}, "LastAsyncOperation": {Status: "Unknown"}}
}

func TestReadObserved(t *testing.T) {
	cases := map[string]struct {
		reason string
		docs   map[string]string
		want   Observed
	}{
		"Nothing": {
			reason: "Nothing observed reads as nothing.",
		},
		"Reported": {
			reason: "A reported Key and Alias give their ids, the Key's region and policy, the Alias's creation time, and their conditions.",
			docs: map[string]string{
				"key": `
spec: {deletionPolicy: Delete, forProvider: {region: eu-west-1}, providerConfigRef: {name: aws-prod}}
status:
  atProvider: {keyId: k-1, arn: "arn:k", enableKeyRotation: true, deletionWindowInDays: 30, policy: "{}"}
  conditions: [{type: Ready, status: "True"}, {type: Synced, status: "False", reason: ReconcileError, message: denied}]`,
				"alias": `
metadata: {annotations: {crossplane.io/external-name: alias/app}, creationTimestamp: "2026-11-20T09:00:00Z"}
status:
  atProvider: {arn: "arn:a"}
  conditions: [{type: Ready, status: "False"}]`,
			},
			want: Observed{
				Key: &ObservedKey{
					Region: "eu-west-1", ProviderConfigName: "aws-prod", KeyID: "k-1", ARN: "arn:k", RotationEnabled: ptr.To(true), DeletionWindowInDays: ptr.To[int64](30), Policy: "{}",
					Conditions: Conditions{"Ready": {Status: "True"}, "Synced": {Status: "False", Reason: "ReconcileError", Message: "denied"}, "LastAsyncOperation": {Status: "Unknown"}},
				},
				Aliases: map[string]*ObservedAlias{"eu-west-1": {Name: "app", ARN: "arn:a", Created: at(t, "2026-11-20T09:00:00Z"), Conditions: Conditions{"Ready": {Status: "False"}, "Synced": {Status: "Unknown"}, "LastAsyncOperation": {Status: "Unknown"}}}},
			},
		},
		"OrphanByDeletionPolicy": {
			reason: "deletionPolicy Orphan keeps the AWS key.",
			docs:   map[string]string{"key": `spec: {deletionPolicy: Orphan}`},
			want:   Observed{Key: &ObservedKey{Orphan: true, Conditions: unreported()}},
		},
		"OrphanByManagementPolicies": {
			reason: "Management policies without Delete keep the AWS key (namespaced resources).",
			docs:   map[string]string{"key": `spec: {managementPolicies: [Observe, Create, Update, LateInitialize]}`},
			want:   Observed{Key: &ObservedKey{Orphan: true, Conditions: unreported()}},
		},
		"DeleteByAllPolicies": {
			reason: "The * management policy deletes.",
			docs:   map[string]string{"key": `spec: {managementPolicies: ["*"]}`},
			want:   Observed{Key: &ObservedKey{Conditions: unreported()}},
		},
		"Replicas": {
			reason: "ReplicaKeys named replica-<region> and Aliases named alias-<region> are read by region; a multi-region Key says so; resources of other kinds under those names are not replicas.",
			docs: map[string]string{
				"key": `
kind: Key
spec: {forProvider: {region: eu-west-1, multiRegion: true}}`,
				"replica-us-east-1": `
kind: ReplicaKey
spec: {forProvider: {region: us-east-1}}
status:
  atProvider: {keyId: mrk-1, arn: "arn:r"}
  conditions: [{type: Ready, status: "True"}]`,
				"alias-us-east-1": `
kind: Alias
metadata: {annotations: {crossplane.io/external-name: app}}
spec: {forProvider: {region: us-east-1, targetKeyId: mrk-1}}
status: {atProvider: {arn: "arn:a"}}`,
				"replica-bucket": `kind: Bucket`,
			},
			want: Observed{
				Key: &ObservedKey{Region: "eu-west-1", MultiRegion: true, Conditions: unreported()},
				Replicas: map[string]*ObservedReplica{"us-east-1": {
					KeyID: "mrk-1", ARN: "arn:r",
					Conditions: Conditions{"Ready": {Status: "True"}, "Synced": {Status: "Unknown"}, "LastAsyncOperation": {Status: "Unknown"}},
				}},
				Aliases: map[string]*ObservedAlias{"us-east-1": {Name: "app", Region: "us-east-1", ARN: "arn:a", TargetKeyID: "mrk-1", Conditions: unreported()}},
			},
		},
		"MultiRegionReported": {
			reason: "What the provider reports of multiRegion wins over the spec.",
			docs: map[string]string{"key": `
spec: {forProvider: {multiRegion: true}}
status: {atProvider: {multiRegion: false}}`},
			want: Observed{Key: &ObservedKey{MultiRegionReported: ptr.To(false), Conditions: unreported()}},
		},
		"ConditionsOfOtherShapes": {
			reason: "Entries of status.conditions that are not conditions, and conditions of other types, are skipped.",
			docs: map[string]string{"key": `
status: {conditions: [Ready, {type: Healthy, status: "False"}, {status: "False"}, {type: Synced, status: "True"}]}`},
			want: Observed{Key: &ObservedKey{Conditions: Conditions{"Ready": {Status: "Unknown"}, "Synced": {Status: "True"}, "LastAsyncOperation": {Status: "Unknown"}}}},
		},
		"WrongTypes": {
			reason: "Fields of unexpected types read as unknown, never as an error; conditions that are not a list read as none.",
			docs: map[string]string{"key": `
spec: {forProvider: {region: 7}}
status: {atProvider: {keyId: [x], enableKeyRotation: "yes", deletionWindowInDays: "30"}, conditions: "Ready"}`},
			want: Observed{Key: &ObservedKey{Conditions: unreported()}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := ReadObserved(observedFrom(t, tc.docs), "eu-west-1")
			tc.want.Region = "eu-west-1"
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\nReadObserved: -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestReadXR(t *testing.T) {
	cases := map[string]struct {
		reason string
		xr     string
		want   ObservedXR
	}{
		"Nothing": {
			reason: "A request without an XR reads as an empty one.",
		},
		"Namespaced": {
			reason: "The XR's type, name, namespace and spec, and the KeyAvailable condition of an earlier call, are read; other conditions are not.",
			xr: `
apiVersion: kms.example.org/v1alpha1
kind: KmsBackend
metadata: {name: vault, namespace: team-a}
spec: {aliasName: vault}
status:
  conditions:
  - {type: Ready, status: "False", reason: Creating}
  - {type: KeyAvailable, status: "False", reason: ProviderError, message: "key: denied"}`,
			want: ObservedXR{
				APIVersion: "kms.example.org/v1alpha1", Kind: "KmsBackend", Name: "vault", Namespace: "team-a",
				Spec:         map[string]*structpb.Value{"aliasName": structpb.NewStringValue("vault")},
				KeyAvailable: Condition{Status: "False", Reason: "ProviderError", Message: "key: denied"},
			},
		},
		"WrongTypes": {
			reason: "Fields of unexpected types read as empty, never as an error.",
			xr:     `{metadata: [x], spec: "vault", status: {conditions: [KeyAvailable, {type: KeyAvailable, status: 1}]}}`,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var xr *structpb.Struct
			if tc.xr != "" {
				var obj map[string]any
				if err := yaml.Unmarshal([]byte(tc.xr), &obj); err != nil {
					t.Fatal(err)
				}
				var err error
				if xr, err = structpb.NewStruct(obj); err != nil {
					t.Fatal(err)
				}
			}
			got := ReadXR(xr)
			if diff := cmp.Diff(tc.want, got, protocmp.Transform()); diff != "" {
				t.Errorf("%s\nReadXR: -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}
