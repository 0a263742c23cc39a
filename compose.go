package main

import (
	"github.com/crossplane/crossplane-runtime/v2/apis/common"
	xpv1 "github.com/crossplane/crossplane-runtime/v2/apis/common/v1"
	xpv2 "github.com/crossplane/crossplane-runtime/v2/apis/common/v2"
	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/utils/ptr"

	kmsv1 "github.com/upbound/provider-aws/v2/apis/cluster/kms/v1beta1"
	kmsm "github.com/upbound/provider-aws/v2/apis/namespaced/kms/v1beta1"

	"github.com/crossplane/function-sdk-go/resource/composed"
)

// Names of the composed resources in the Composition.
const (
	keyName   = "key"
	aliasName = "alias"
)

// namespacedProviderConfigKind is the provider config kind namespaced
// managed resources default to in provider-aws' CRDs.
const namespacedProviderConfigKind = "ClusterProviderConfig"

// orphanPolicies are the management policies of a namespaced managed
// resource whose external resource outlives it: every action but Delete.
var orphanPolicies = common.ManagementPolicies{
	common.ManagementActionObserve,
	common.ManagementActionCreate,
	common.ManagementActionUpdate,
	common.ManagementActionLateInitialize,
}

// Target says where the composed resources go: cluster-scoped legacy
// resources (kms.aws.upbound.io) for a cluster-scoped XR, namespaced ones
// (kms.aws.m.upbound.io) in the XR's namespace for a namespaced XR.
type Target struct {
	Namespace string
}

// Namespaced reports whether the XR is a Crossplane v2 namespaced XR.
func (t Target) Namespaced() bool { return t.Namespace != "" }

// DesiredKey returns the KMS Key for a claim with its computed policy.
func DesiredKey(c Claim, policy string, t Target) runtime.Object {
	fp := kmsv1.KeyParameters{
		Description:          ptr.To(c.Description),
		DeletionWindowInDays: ptr.To(float64(c.DeletionWindowInDays)),
		EnableKeyRotation:    ptr.To(c.EnableKeyRotation),
		Policy:               ptr.To(policy),
		Region:               ptr.To(c.Region),
		Tags:                 tagPointers(c.Tags),
	}
	if c.RotationPeriodInDays != nil {
		fp.RotationPeriodInDays = ptr.To(float64(*c.RotationPeriodInDays))
	}
	if !t.Namespaced() {
		return &kmsv1.Key{
			TypeMeta: typeMeta(kmsv1.CRDGroupVersion.String(), kmsv1.Key_Kind),
			Spec: kmsv1.KeySpec{
				ResourceSpec: clusterResourceSpec(c),
				ForProvider:  fp,
			},
		}
	}
	return &kmsm.Key{
		TypeMeta:   typeMeta(kmsm.CRDGroupVersion.String(), kmsm.Key_Kind),
		ObjectMeta: metav1.ObjectMeta{Namespace: t.Namespace},
		Spec: kmsm.KeySpec{
			ManagedResourceSpec: namespacedResourceSpec(c),
			ForProvider: kmsm.KeyParameters{
				Description:          fp.Description,
				DeletionWindowInDays: fp.DeletionWindowInDays,
				EnableKeyRotation:    fp.EnableKeyRotation,
				Policy:               fp.Policy,
				Region:               fp.Region,
				RotationPeriodInDays: fp.RotationPeriodInDays,
				Tags:                 fp.Tags,
			},
		},
	}
}

// DesiredAlias returns the KMS Alias for a claim. Until the Key's id is
// observed the Alias selects the Key composed for the same XR; then it names
// the id, so that the Alias never depends on a selector that could match
// another key.
func DesiredAlias(c Claim, keyID string, t Target) runtime.Object {
	// provider-aws adds the alias/ prefix to the external name.
	om := metav1.ObjectMeta{Namespace: t.Namespace, Annotations: map[string]string{meta.AnnotationKeyExternalName: c.AliasName}}
	var id *string
	if keyID != "" {
		id = ptr.To(keyID)
	}
	if !t.Namespaced() {
		fp := kmsv1.AliasParameters{Region: ptr.To(c.Region), TargetKeyID: id}
		if id == nil {
			fp.TargetKeyIDSelector = &xpv1.Selector{MatchControllerRef: ptr.To(true)}
		}
		return &kmsv1.Alias{
			TypeMeta:   typeMeta(kmsv1.CRDGroupVersion.String(), kmsv1.Alias_Kind),
			ObjectMeta: om,
			Spec:       kmsv1.AliasSpec{ResourceSpec: clusterResourceSpec(c), ForProvider: fp},
		}
	}
	fp := kmsm.AliasParameters{Region: ptr.To(c.Region), TargetKeyID: id}
	if id == nil {
		fp.TargetKeyIDSelector = &xpv1.NamespacedSelector{MatchControllerRef: ptr.To(true)}
	}
	return &kmsm.Alias{
		TypeMeta:   typeMeta(kmsm.CRDGroupVersion.String(), kmsm.Alias_Kind),
		ObjectMeta: om,
		Spec:       kmsm.AliasSpec{ManagedResourceSpec: namespacedResourceSpec(c), ForProvider: fp},
	}
}

func typeMeta(apiVersion, kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: apiVersion, Kind: kind}
}

func clusterResourceSpec(c Claim) xpv1.ResourceSpec {
	return xpv1.ResourceSpec{
		ProviderConfigReference: &xpv1.Reference{Name: c.ProviderConfigName},
		DeletionPolicy:          xpv1.DeletionPolicy(c.DeletionPolicy),
	}
}

func namespacedResourceSpec(c Claim) xpv2.ManagedResourceSpec {
	s := xpv2.ManagedResourceSpec{
		ProviderConfigReference: &common.ProviderConfigReference{Kind: namespacedProviderConfigKind, Name: c.ProviderConfigName},
	}
	if c.DeletionPolicy == deletionPolicyOrphan {
		s.ManagementPolicies = orphanPolicies
	}
	return s
}

func tagPointers(tags map[string]string) map[string]*string {
	if len(tags) == 0 {
		return nil
	}
	out := make(map[string]*string, len(tags))
	for k, v := range tags {
		out[k] = ptr.To(v)
	}
	return out
}

func init() {
	// composed.From finds the kind of a typed object in this scheme.
	utilruntime.Must(kmsv1.AddToScheme(composed.Scheme))
	utilruntime.Must(kmsm.AddToScheme(composed.Scheme))
}
