package main

import (
	"fmt"
	"testing"

	"github.com/crossplane/crossplane-runtime/v2/apis/common"
	xpv1 "github.com/crossplane/crossplane-runtime/v2/apis/common/v1"
	xpv2 "github.com/crossplane/crossplane-runtime/v2/apis/common/v2"
	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/structpb"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/utils/ptr"

	kmsv1 "github.com/upbound/provider-aws/v2/apis/cluster/kms/v1beta1"
	kmsm "github.com/upbound/provider-aws/v2/apis/namespaced/kms/v1beta1"

	"github.com/crossplane/function-sdk-go/resource"
	"github.com/crossplane/function-sdk-go/resource/composed"
)

// TestDesiredIsProviderAWS checks the Key and the Alias the function writes
// field by field against the same objects built with provider-aws' own Go
// types and converted as the SDK converts a typed object (composed.From):
// every field name, type and omission must be the provider's. Each claim
// below takes a different branch of DesiredKey, DesiredAlias or managed.
func TestDesiredIsProviderAWS(t *testing.T) {
	claims := map[string]Backend{
		"Minimal": {
			AliasName: "app", DeletionWindowInDays: 30, Region: "eu-west-1",
			ProviderConfigName: "default", DeletionPolicy: deletionPolicyDelete,
		},
		"EveryField": {
			AliasName: "vault-backend", Description: "KMS key for Vault", DeletionWindowInDays: 7,
			EnableKeyRotation: true, RotationPeriodInDays: ptr.To(int64(180)), Region: "us-east-1",
			Tags: map[string]string{"team": "payments", "cost-center": "42"}, ProviderConfigName: "aws-prod",
			DeletionPolicy: deletionPolicyOrphan,
		},
		"MultiRegion": {
			AliasName: "vault-backend", Description: "KMS key for Vault", DeletionWindowInDays: 14,
			EnableKeyRotation: true, Region: "eu-west-1", Tags: map[string]string{"team": "payments"},
			ProviderConfigName: "default", DeletionPolicy: deletionPolicyDelete,
			ReplicaRegions: []string{"eu-central-1", "us-east-1"},
		},
	}
	const policy = `{"Version":"2012-10-17","Statement":[]}`
	for name, c := range claims {
		for _, target := range []Scope{{}, {Namespace: "vault"}} {
			for _, keyID := range []string{"", "1234abcd-12ab-34cd-56ef-1234567890ab"} {
				t.Run(fmt.Sprintf("%s/namespaced=%t/keyID=%t", name, target.Namespaced(), keyID != ""), func(t *testing.T) {
					for _, a := range []Adoption{adoptionNone, adoptionProbe, adoptionAdopt} {
						c := c
						if a != adoptionNone {
							c.ExistingKeyID = "1234abcd-12ab-34cd-56ef-1234567890ab"
						}
						if diff := cmp.Diff(viaProviderTypes(t, providerKey(c, policy, a, target)), DesiredKey(c, policy, a, target), protocmp.Transform()); diff != "" {
							t.Errorf("DesiredKey, adoption %q: -provider-aws' types, +function:\n%s", a, diff)
						}
					}
					for _, a := range []Adoption{adoptionNone, adoptionProbe, adoptionCreate, adoptionAdopt, adoptionRefuse} {
						if diff := cmp.Diff(viaProviderTypes(t, providerAlias(c, c.Region, keyID, a, target)), DesiredAlias(c, c.Region, keyID, a, false, target), protocmp.Transform()); diff != "" {
							t.Errorf("DesiredAlias, adoption %q: -provider-aws' types, +function:\n%s", a, diff)
						}
					}
					arn := ""
					if keyID != "" {
						arn = "arn:aws:kms:eu-west-1:123456789012:key/mrk-" + keyID
					}
					for _, r := range c.ReplicaRegions {
						if diff := cmp.Diff(viaProviderTypes(t, providerReplicaKey(c, policy, r, arn, target)), DesiredReplicaKey(c, policy, r, arn, target), protocmp.Transform()); diff != "" {
							t.Errorf("DesiredReplicaKey in %s: -provider-aws' types, +function:\n%s", r, diff)
						}
						if diff := cmp.Diff(viaProviderTypes(t, providerAlias(c, r, keyID, adoptionProbe, target)), DesiredAlias(c, r, keyID, adoptionProbe, false, target), protocmp.Transform()); diff != "" {
							t.Errorf("DesiredAlias in %s: -provider-aws' types, +function:\n%s", r, diff)
						}
					}
				})
			}
		}
	}
}

// viaProviderTypes converts a typed object as composed.From does, without
// its empty status, which is the provider's to write.
func viaProviderTypes(t *testing.T, obj runtime.Object) *structpb.Struct {
	t.Helper()
	u, err := composed.From(obj)
	if err != nil {
		t.Fatal(err)
	}
	delete(u.Object, "status")
	s, err := resource.AsStruct(u)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// providerKey is DesiredKey written with provider-aws' types.
func providerKey(c Backend, policy string, a Adoption, t Scope) runtime.Object {
	fp := kmsv1.KeyParameters{
		Description:          ptr.To(c.Description),
		DeletionWindowInDays: ptr.To(float64(c.DeletionWindowInDays)),
		EnableKeyRotation:    ptr.To(c.EnableKeyRotation),
		Policy:               ptr.To(policy),
		Region:               ptr.To(c.Region),
	}
	if c.RotationPeriodInDays != nil {
		fp.RotationPeriodInDays = ptr.To(float64(*c.RotationPeriodInDays))
	}
	if c.MultiRegion() {
		fp.MultiRegion = ptr.To(true)
	}
	if len(c.Tags) > 0 {
		fp.Tags = map[string]*string{}
		for k, v := range c.Tags {
			fp.Tags[k] = ptr.To(v)
		}
	}
	var om metav1.ObjectMeta
	if a != adoptionNone {
		om.Annotations = map[string]string{meta.AnnotationKeyExternalName: c.ExistingKeyID, adoptionAnnotation: string(a)}
	}
	if !t.Namespaced() {
		return &kmsv1.Key{
			TypeMeta:   metav1.TypeMeta{APIVersion: kmsv1.CRDGroupVersion.String(), Kind: kmsv1.Key_Kind},
			ObjectMeta: om,
			Spec:       kmsv1.KeySpec{ResourceSpec: providerClusterSpec(c, a), ForProvider: fp},
		}
	}
	om.Namespace = t.Namespace
	return &kmsm.Key{
		TypeMeta:   metav1.TypeMeta{APIVersion: kmsm.CRDGroupVersion.String(), Kind: kmsm.Key_Kind},
		ObjectMeta: om,
		Spec: kmsm.KeySpec{
			ManagedResourceSpec: providerNamespacedSpec(c, a),
			ForProvider: kmsm.KeyParameters{
				Description:          fp.Description,
				DeletionWindowInDays: fp.DeletionWindowInDays,
				EnableKeyRotation:    fp.EnableKeyRotation,
				Policy:               fp.Policy,
				Region:               fp.Region,
				RotationPeriodInDays: fp.RotationPeriodInDays,
				MultiRegion:          fp.MultiRegion,
				Tags:                 fp.Tags,
			},
		},
	}
}

// providerReplicaKey is DesiredReplicaKey written with provider-aws' types.
func providerReplicaKey(c Backend, policy, region, primaryARN string, t Scope) runtime.Object {
	var arn *string
	if primaryARN != "" {
		arn = ptr.To(primaryARN)
	}
	var tags map[string]*string
	if len(c.Tags) > 0 {
		tags = map[string]*string{}
		for k, v := range c.Tags {
			tags[k] = ptr.To(v)
		}
	}
	fp := kmsv1.ReplicaKeyParameters{
		Description:          ptr.To(c.Description),
		DeletionWindowInDays: ptr.To(float64(c.DeletionWindowInDays)),
		Policy:               ptr.To(policy),
		Region:               ptr.To(region),
		PrimaryKeyArn:        arn,
		Tags:                 tags,
	}
	if !t.Namespaced() {
		if arn == nil {
			fp.PrimaryKeyArnSelector = &xpv1.Selector{MatchControllerRef: ptr.To(true)}
		}
		return &kmsv1.ReplicaKey{
			TypeMeta: metav1.TypeMeta{APIVersion: kmsv1.CRDGroupVersion.String(), Kind: kmsv1.ReplicaKey_Kind},
			Spec:     kmsv1.ReplicaKeySpec{ResourceSpec: providerClusterSpec(c, adoptionNone), ForProvider: fp},
		}
	}
	mfp := kmsm.ReplicaKeyParameters{
		Description:          fp.Description,
		DeletionWindowInDays: fp.DeletionWindowInDays,
		Policy:               fp.Policy,
		Region:               fp.Region,
		PrimaryKeyArn:        fp.PrimaryKeyArn,
		Tags:                 fp.Tags,
	}
	if arn == nil {
		mfp.PrimaryKeyArnSelector = &xpv1.NamespacedSelector{MatchControllerRef: ptr.To(true)}
	}
	return &kmsm.ReplicaKey{
		TypeMeta:   metav1.TypeMeta{APIVersion: kmsm.CRDGroupVersion.String(), Kind: kmsm.ReplicaKey_Kind},
		ObjectMeta: metav1.ObjectMeta{Namespace: t.Namespace},
		Spec:       kmsm.ReplicaKeySpec{ManagedResourceSpec: providerNamespacedSpec(c, adoptionNone), ForProvider: mfp},
	}
}

// providerAlias is DesiredAlias written with provider-aws' types.
func providerAlias(c Backend, region, keyID string, a Adoption, t Scope) runtime.Object {
	om := metav1.ObjectMeta{
		Namespace:   t.Namespace,
		Annotations: map[string]string{meta.AnnotationKeyExternalName: c.AliasName},
		Labels:      map[string]string{aliasIDLabel: c.AliasIDIn(region)},
	}
	if a != adoptionNone {
		om.Annotations[adoptionAnnotation] = string(a)
	}
	var id *string
	if keyID != "" {
		id = ptr.To(keyID)
	}
	if !t.Namespaced() {
		fp := kmsv1.AliasParameters{Region: ptr.To(region), TargetKeyID: id}
		if id == nil {
			fp.TargetKeyIDSelector = &xpv1.Selector{MatchControllerRef: ptr.To(true)}
		}
		return &kmsv1.Alias{
			TypeMeta:   metav1.TypeMeta{APIVersion: kmsv1.CRDGroupVersion.String(), Kind: kmsv1.Alias_Kind},
			ObjectMeta: om,
			Spec:       kmsv1.AliasSpec{ResourceSpec: providerClusterSpec(c, a), ForProvider: fp},
		}
	}
	fp := kmsm.AliasParameters{Region: ptr.To(region), TargetKeyID: id}
	if id == nil {
		fp.TargetKeyIDSelector = &xpv1.NamespacedSelector{MatchControllerRef: ptr.To(true)}
	}
	return &kmsm.Alias{
		TypeMeta:   metav1.TypeMeta{APIVersion: kmsm.CRDGroupVersion.String(), Kind: kmsm.Alias_Kind},
		ObjectMeta: om,
		Spec:       kmsm.AliasSpec{ManagedResourceSpec: providerNamespacedSpec(c, a), ForProvider: fp},
	}
}

func providerClusterSpec(c Backend, a Adoption) xpv1.ResourceSpec {
	return xpv1.ResourceSpec{
		ProviderConfigReference: &xpv1.Reference{Name: c.ProviderConfigName},
		DeletionPolicy:          xpv1.DeletionPolicy(c.DeletionPolicy),
		ManagementPolicies:      providerPolicies(c, a, false),
	}
}

func providerNamespacedSpec(c Backend, a Adoption) xpv2.ManagedResourceSpec {
	return xpv2.ManagedResourceSpec{
		ProviderConfigReference: &common.ProviderConfigReference{Kind: namespacedProviderConfigKind, Name: c.ProviderConfigName},
		ManagementPolicies:      providerPolicies(c, a, true),
	}
}

// providerPolicies are the management policies of a resource with this
// adoption: observed only while probed or refused, managed in place without
// Create or Delete once adopted, in full once the function may create it;
// and without Delete for a namespaced resource whose claim orphans it.
func providerPolicies(c Backend, a Adoption, namespaced bool) common.ManagementPolicies {
	orphan := common.ManagementPolicies{common.ManagementActionObserve, common.ManagementActionCreate, common.ManagementActionUpdate, common.ManagementActionLateInitialize}
	switch {
	case a == adoptionProbe || a == adoptionRefuse:
		return common.ManagementPolicies{common.ManagementActionObserve}
	case a == adoptionAdopt:
		return common.ManagementPolicies{common.ManagementActionObserve, common.ManagementActionUpdate, common.ManagementActionLateInitialize}
	case namespaced && c.DeletionPolicy == deletionPolicyOrphan:
		return orphan
	case a == adoptionCreate:
		return common.ManagementPolicies{common.ManagementActionAll}
	}
	return nil
}

func init() {
	// composed.From finds the kind of a typed object in this scheme.
	utilruntime.Must(kmsv1.AddToScheme(composed.Scheme))
	utilruntime.Must(kmsm.AddToScheme(composed.Scheme))
}
