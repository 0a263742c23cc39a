package main

import (
	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	"google.golang.org/protobuf/types/known/structpb"

	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
)

// The Key and the Alias are written as the objects the response carries,
// field by field, rather than as provider-aws' Go types converted through
// JSON, which would cost more than the rest of the function and put
// provider-aws' dependencies in the binary (docs/performance.md).
// compose_test.go builds each object with provider-aws' types as well and
// requires the two to be equal, so that every field name and shape here is
// the provider's.

// Compose adds a valid backend's composed resources to resources, by
// composition resource name: in each of its regions, its key (the Key in the
// first, a ReplicaKey in the others) and its Alias. A resource is ready once
// the provider reports the observed one Ready, and, when it names what
// exists in AWS, once the claim manages it. An Alias is composed once
// Crossplane has answered which Aliases carry its alias id there, or once
// it exists; in a replica region, only once the replica's key id is known,
// as an Alias cannot select a ReplicaKey. An Alias of a region in owned
// records that it owns its alias there, once it manages it.
func Compose(resources map[string]*fnv1.Resource, b Backend, policy string, o Observed, d Adoptions, answered, owned map[string]bool, s Scope) {
	for _, r := range b.Regions() {
		keyRes, aliasRes := b.ResourceNames(r)
		key, alias := o.ConditionsIn(r)
		var keyID string
		if r == b.Region {
			resources[keyRes] = withReadiness(DesiredKey(b, policy, d.Key, s), key.True(conditionReady) && d.Key.Managed())
			keyID = ClaimKeyID(b, o)
		} else {
			resources[keyRes] = withReadiness(DesiredReplicaKey(b, policy, r, o.KeyARN(), s), key.True(conditionReady))
			if keyID = o.ReplicaKeyID(r); keyID == "" {
				continue
			}
		}
		if answered[r] || o.Aliases[r] != nil {
			a := d.Aliases[r]
			resources[aliasRes] = withReadiness(DesiredAlias(b, r, keyID, a, owned[r] && a.Managed(), s), alias.True(conditionReady) && a.Managed())
		}
	}
}

// withReadiness wraps a composed resource for the response, ready or not.
func withReadiness(obj *structpb.Struct, ready bool) *fnv1.Resource {
	r := fnv1.Ready_READY_FALSE
	if ready {
		r = fnv1.Ready_READY_TRUE
	}
	return &fnv1.Resource{Resource: obj, Ready: r}
}

// DesiredKey returns the KMS Key for a backend with its computed policy: a
// multi-region key when the backend has replicas. A key the backend adopts
// (spec.existingKeyId) is named by its id and managed as its adoption says.
func DesiredKey(b Backend, policy string, a Adoption, s Scope) *structpb.Struct {
	fp := keyFields(b, policy, b.Region)
	fp["enableKeyRotation"] = structpb.NewBoolValue(b.EnableKeyRotation)
	if b.RotationPeriodInDays != nil {
		fp["rotationPeriodInDays"] = structpb.NewNumberValue(float64(*b.RotationPeriodInDays))
	}
	if b.MultiRegion() {
		fp["multiRegion"] = structpb.NewBoolValue(true)
	}
	var annotations fields
	if a != adoptionNone {
		annotations = fields{meta.AnnotationKeyExternalName: text(b.ExistingKeyID), adoptionAnnotation: text(string(a))}
	}
	return managed(b, s, kindKey, annotations, nil, managementPolicies(a, b, s), fp)
}

// DesiredReplicaKey returns the ReplicaKey of a backend's key in a replica
// region, with the key's policy, description, deletion window and tags.
// Until the primary key's ARN is observed it selects the Key composed for
// the same XR; then it names the ARN.
func DesiredReplicaKey(b Backend, policy, region, primaryARN string, s Scope) *structpb.Struct {
	fp := keyFields(b, policy, region)
	if primaryARN != "" {
		fp["primaryKeyArn"] = text(primaryARN)
	} else {
		fp["primaryKeyArnSelector"] = fields{"matchControllerRef": structpb.NewBoolValue(true)}.value()
	}
	return managed(b, s, kindReplicaKey, nil, nil, managementPolicies(adoptionNone, b, s), fp)
}

// keyFields returns the spec.forProvider fields a Key and its replicas share.
func keyFields(b Backend, policy, region string) fields {
	fp := fields{
		"deletionWindowInDays": structpb.NewNumberValue(float64(b.DeletionWindowInDays)),
		"policy":               text(policy),
		"region":               text(region),
	}
	// Like provider-aws' types, which omit an empty string.
	if b.Description != "" {
		fp["description"] = text(b.Description)
	}
	if len(b.Tags) > 0 {
		tags := make(fields, len(b.Tags))
		for k, v := range b.Tags {
			tags[k] = text(v)
		}
		fp["tags"] = tags.value()
	}
	return fp
}

// DesiredAlias returns the KMS Alias for a backend in a region, the key's or
// a replica's, labelled with its AliasIDIn that region and managed as its
// adoption says. Until the key's id is observed the Alias selects the Key
// composed for the same XR; then it names the id, so that the Alias never
// depends on a selector that could match another key. In a replica region
// the id must be known: an Alias can select only a Key, not a ReplicaKey,
// and a replica's key id is its primary's. An owner Alias carries the alias
// id whose ownership was confirmed (aliasOwnerAnnotation).
func DesiredAlias(b Backend, region, keyID string, a Adoption, owner bool, s Scope) *structpb.Struct {
	fp := fields{"region": text(region)}
	if keyID != "" {
		fp["targetKeyId"] = text(keyID)
	} else {
		fp["targetKeyIdSelector"] = fields{"matchControllerRef": structpb.NewBoolValue(true)}.value()
	}
	// provider-aws adds the alias/ prefix to the external name.
	annotations := fields{meta.AnnotationKeyExternalName: text(b.AliasName)}
	if a != adoptionNone {
		annotations[adoptionAnnotation] = text(string(a))
	}
	id := b.AliasIDIn(region)
	if owner {
		annotations[aliasOwnerAnnotation] = text(id)
	}
	labels := fields{aliasIDLabel: text(id)}
	return managed(b, s, kindAlias, annotations, labels, managementPolicies(a, b, s), fp)
}

// managed returns a managed resource of provider-aws' KMS group for the
// target, with these annotations, labels, management policies (none for the
// provider's default) and spec.forProvider.
func managed(b Backend, s Scope, kind string, annotations, labels fields, policies []string, forProvider fields) *structpb.Struct {
	obj := make(fields, 4)
	spec := make(fields, 4)
	md := make(fields, 3)
	if annotations != nil {
		md["annotations"] = annotations.value()
	}
	if labels != nil {
		md["labels"] = labels.value()
	}
	obj["apiVersion"] = text(s.APIVersion())
	if !s.Namespaced() {
		spec["deletionPolicy"] = text(b.DeletionPolicy)
		spec["providerConfigRef"] = fields{"name": text(b.ProviderConfigName)}.value()
	} else {
		md["namespace"] = text(s.Namespace)
		spec["providerConfigRef"] = fields{"kind": text(namespacedProviderConfigKind), "name": text(b.ProviderConfigName)}.value()
	}
	if policies != nil {
		values := make([]*structpb.Value, len(policies))
		for i, p := range policies {
			values[i] = text(p)
		}
		spec["managementPolicies"] = structpb.NewListValue(&structpb.ListValue{Values: values})
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
