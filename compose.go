package main

import (
	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	"google.golang.org/protobuf/types/known/structpb"
)

// Names of the composed resources in the Composition.
const (
	keyName   = "key"
	aliasName = "alias"
)

// The API versions of provider-aws' KMS resources: cluster-scoped for a
// cluster-scoped XR, namespaced (Crossplane v2) for a namespaced XR.
const (
	clusterAPIVersion    = "kms.aws.upbound.io/v1beta1"
	namespacedAPIVersion = "kms.aws.m.upbound.io/v1beta1"
)

// namespacedProviderConfigKind is the provider config kind namespaced
// managed resources default to in provider-aws' CRDs.
const namespacedProviderConfigKind = "ClusterProviderConfig"

// orphanPolicies are the management policies of a namespaced managed
// resource whose external resource outlives it: every action but Delete.
var orphanPolicies = []string{"Observe", "Create", "Update", "LateInitialize"}

// Target says where the composed resources go: cluster-scoped legacy
// resources (kms.aws.upbound.io) for a cluster-scoped XR, namespaced ones
// (kms.aws.m.upbound.io) in the XR's namespace for a namespaced XR.
type Target struct {
	Namespace string
}

// Namespaced reports whether the XR is a Crossplane v2 namespaced XR.
func (t Target) Namespaced() bool { return t.Namespace != "" }

// apiVersion is the API version of provider-aws' KMS resources for the
// target.
func (t Target) apiVersion() string {
	if t.Namespaced() {
		return namespacedAPIVersion
	}
	return clusterAPIVersion
}

// The Key and the Alias are written as the objects the response carries,
// field by field, rather than as provider-aws' Go types converted through
// JSON: that conversion cost more than the rest of the function, and
// importing the types put provider-aws' dependencies (Terraform's SDKs,
// client-go's informers) in the binary, a third more memory for nothing.
// compose_test.go builds each object with provider-aws' types as well and
// requires the two to be equal, so that every field name and shape here is
// the provider's.

// DesiredKey returns the KMS Key for a claim with its computed policy.
func DesiredKey(c Claim, policy string, t Target) *structpb.Struct {
	fp := fields{
		"deletionWindowInDays": structpb.NewNumberValue(float64(c.DeletionWindowInDays)),
		"enableKeyRotation":    structpb.NewBoolValue(c.EnableKeyRotation),
		"policy":               text(policy),
		"region":               text(c.Region),
	}
	// Like provider-aws' types, which omit an empty string.
	if c.Description != "" {
		fp["description"] = text(c.Description)
	}
	if c.RotationPeriodInDays != nil {
		fp["rotationPeriodInDays"] = structpb.NewNumberValue(float64(*c.RotationPeriodInDays))
	}
	if len(c.Tags) > 0 {
		tags := make(fields, len(c.Tags))
		for k, v := range c.Tags {
			tags[k] = text(v)
		}
		fp["tags"] = tags.value()
	}
	return managed(c, t, "Key", nil, nil, fp)
}

// DesiredAlias returns the KMS Alias for a claim, labelled with its alias
// id (aliasID). Until the Key's id is
// observed the Alias selects the Key composed for the same XR; then it names
// the id, so that the Alias never depends on a selector that could match
// another key.
func DesiredAlias(c Claim, id, keyID string, t Target) *structpb.Struct {
	fp := fields{"region": text(c.Region)}
	if keyID != "" {
		fp["targetKeyId"] = text(keyID)
	} else {
		fp["targetKeyIdSelector"] = fields{"matchControllerRef": structpb.NewBoolValue(true)}.value()
	}
	// provider-aws adds the alias/ prefix to the external name.
	annotations := fields{meta.AnnotationKeyExternalName: text(c.AliasName)}
	labels := fields{aliasIDLabel: text(id)}
	return managed(c, t, "Alias", annotations, labels, fp)
}

// managed returns a managed resource of provider-aws' KMS group for the
// target, with these annotations, labels and spec.forProvider.
func managed(c Claim, t Target, kind string, annotations, labels, forProvider fields) *structpb.Struct {
	obj := make(fields, 4)
	spec := make(fields, 4)
	md := make(fields, 3)
	if annotations != nil {
		md["annotations"] = annotations.value()
	}
	if labels != nil {
		md["labels"] = labels.value()
	}
	obj["apiVersion"] = text(t.apiVersion())
	if !t.Namespaced() {
		spec["deletionPolicy"] = text(c.DeletionPolicy)
		spec["providerConfigRef"] = fields{"name": text(c.ProviderConfigName)}.value()
	} else {
		md["namespace"] = text(t.Namespace)
		spec["providerConfigRef"] = fields{"kind": text(namespacedProviderConfigKind), "name": text(c.ProviderConfigName)}.value()
		// A namespaced managed resource has no deletionPolicy: what its
		// deletion does is one of its management policies.
		if c.DeletionPolicy == deletionPolicyOrphan {
			policies := make([]*structpb.Value, len(orphanPolicies))
			for i, p := range orphanPolicies {
				policies[i] = text(p)
			}
			spec["managementPolicies"] = structpb.NewListValue(&structpb.ListValue{Values: policies})
		}
	}
	spec["forProvider"] = forProvider.value()
	obj["kind"] = text(kind)
	obj["spec"] = spec.value()
	if len(md) > 0 {
		obj["metadata"] = md.value()
	}
	return &structpb.Struct{Fields: obj}
}

// fields are the fields of a JSON object.
type fields map[string]*structpb.Value

func (f fields) value() *structpb.Value {
	return structpb.NewStructValue(&structpb.Struct{Fields: f})
}

func text(s string) *structpb.Value { return structpb.NewStringValue(s) }
