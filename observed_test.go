package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"

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
				Alias: &ObservedAlias{Name: "app", ARN: "arn:a", Created: at(t, "2026-11-20T09:00:00Z"), Conditions: Conditions{"Ready": {Status: "False"}, "Synced": {Status: "Unknown"}, "LastAsyncOperation": {Status: "Unknown"}}},
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
			got := ReadObserved(observedFrom(t, tc.docs))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\nReadObserved: -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}
