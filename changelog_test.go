package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
)

func TestChangedFields(t *testing.T) {
	cases := map[string]struct {
		reason   string
		desired  string
		observed string
		want     []string
	}{
		"Same": {
			reason:   "A resource as desired changes nothing.",
			desired:  `{spec: {forProvider: {region: eu-west-1, deletionWindowInDays: 30}}}`,
			observed: `{spec: {forProvider: {region: eu-west-1, deletionWindowInDays: 30}}}`,
		},
		"AddedByOthers": {
			reason:   "Fields the provider and Crossplane add, such as late-initialized fields and the provider's tags, are no change.",
			desired:  `{spec: {forProvider: {tags: {team: a}}}}`,
			observed: `{metadata: {uid: x}, spec: {forProvider: {keyUsage: ENCRYPT_DECRYPT, tags: {team: a, crossplane-kind: key.kms.aws.upbound.io}}}, status: {atProvider: {}}}`,
		},
		"Changed": {
			reason:   "Each field the function sets to another value is named by its path, in order.",
			desired:  `{spec: {deletionPolicy: Delete, forProvider: {region: eu-west-1, policy: "{new}", tags: {team: b}}}}`,
			observed: `{spec: {deletionPolicy: Orphan, forProvider: {region: eu-west-1, policy: "{old}", tags: {team: a}}}}`,
			want:     []string{"spec.deletionPolicy", "spec.forProvider.policy", "spec.forProvider.tags.team"},
		},
		"NotYetSet": {
			reason:   "A field the observed resource lacks is a change.",
			desired:  `{spec: {forProvider: {rotationPeriodInDays: 365}}}`,
			observed: `{spec: {forProvider: {}}}`,
			want:     []string{"spec.forProvider.rotationPeriodInDays"},
		},
		"ListsWhole": {
			reason:   "Lists are compared whole.",
			desired:  `{spec: {managementPolicies: [Observe, Create]}}`,
			observed: `{spec: {managementPolicies: [Observe, Create, Delete]}}`,
			want:     []string{"spec.managementPolicies"},
		},
		"ObjectForScalar": {
			reason:   "An object where the observed resource holds a scalar is a change of the whole object.",
			desired:  `{spec: {forProvider: {targetKeyIdSelector: {matchControllerRef: true}}}}`,
			observed: `{spec: {forProvider: {targetKeyIdSelector: x}}}`,
			want:     []string{"spec.forProvider.targetKeyIdSelector"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := ChangedFields(object(t, tc.desired), object(t, tc.observed))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\nChangedFields(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

// object decodes a YAML object as JSON decoding gives it: numbers as
// float64.
func object(t *testing.T, y string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(y), &m); err != nil {
		t.Fatal(err)
	}
	return m
}
