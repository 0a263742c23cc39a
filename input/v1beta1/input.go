// Package v1beta1 contains the input type for this Function.
// +kubebuilder:object:generate=true
// +groupName=kmsbackend.fn.example.org
// +versionName=v1beta1
package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// This isn't a custom resource, in the sense that we never install its CRD.
// It is a KRM-like object, so we generate a CRD to describe its schema.

// Input holds a platform team's guardrails for KmsBackend claims: defaults
// applied when a claim leaves a field unset, how the key policy is built, and
// limits every claim must respect. Every field is optional.
// +kubebuilder:object:root=true
// +kubebuilder:storageversion
// +kubebuilder:resource:categories=crossplane
type Input struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Defaults fill fields that a claim leaves unset.
	// +optional
	Defaults *Defaults `json:"defaults,omitempty"`

	// Policy controls how the key policy is built.
	// +optional
	Policy *Policy `json:"policy,omitempty"`

	// Guardrails are limits that every claim must respect.
	// +optional
	Guardrails *Guardrails `json:"guardrails,omitempty"`
}

// Defaults are used when a claim does not set the field itself.
type Defaults struct {
	// Region is the AWS region of claims that name none, e.g. eu-west-1.
	// +optional
	Region *string `json:"region,omitempty"`

	// ProviderConfigName is the provider-aws ProviderConfig of claims that
	// name none. Without it the ProviderConfig named "default" is used.
	// +optional
	ProviderConfigName *string `json:"providerConfigName,omitempty"`

	// DeletionWindowInDays replaces the default of 30 days.
	// +kubebuilder:validation:Minimum=7
	// +kubebuilder:validation:Maximum=30
	// +optional
	DeletionWindowInDays *int64 `json:"deletionWindowInDays,omitempty"`

	// EnableKeyRotation replaces the default of true.
	// +optional
	EnableKeyRotation *bool `json:"enableKeyRotation,omitempty"`

	// Tags are merged under a claim's tags: a claim's tag wins over a default
	// tag with the same key.
	// +optional
	Tags map[string]string `json:"tags,omitempty"`
}

// Policy controls how the key policy is built.
type Policy struct {
	// IncludeAccountRoot keeps the EnableIAMUserPermissions statement, which
	// lets IAM policies of the account grant access to the key. Defaults to
	// true; set false for keys whose access is governed by the key policy
	// alone, which then requires providerPrincipalArn.
	// +optional
	IncludeAccountRoot *bool `json:"includeAccountRoot,omitempty"`

	// ProviderPrincipalARN is the IAM role or user that provider-aws acts
	// as, e.g. arn:aws:iam::123456789012:role/crossplane-provider-aws. The
	// key policy names it among the key administrators, so that the
	// provider can always manage the key. Required when includeAccountRoot
	// is false: without the root statement, a key whose policy does not
	// name the provider could be managed by no one but AWS Support.
	// +optional
	ProviderPrincipalARN *string `json:"providerPrincipalArn,omitempty"`

	// AdministratorActions are what the key policy allows the key
	// administrators (a claim's adminUsers, and providerPrincipalArn): All
	// (the default) is every KMS action, kms:*; KeyAdministration is AWS's
	// key-administrator list, which manages the key (describe, enable,
	// disable, tag, put the policy, rotate, schedule deletion, ...) but
	// does not use it (no Encrypt, Decrypt or GenerateDataKey).
	// +kubebuilder:validation:Enum=All;KeyAdministration
	// +optional
	AdministratorActions *string `json:"administratorActions,omitempty"`

	// AccountID is the 12-digit account whose root the
	// EnableIAMUserPermissions statement names. Required when a claim's
	// admin users span several accounts; otherwise their account is used.
	// +kubebuilder:validation:Pattern=`^[0-9]{12}$`
	// +optional
	AccountID *string `json:"accountId,omitempty"`
}

// Guardrails are limits that every claim must respect.
type Guardrails struct {
	// AllowedAccountIDs, when set, lists the only accounts whose principals a
	// claim may name.
	// +optional
	AllowedAccountIDs []string `json:"allowedAccountIds,omitempty"`

	// MinDeletionWindowInDays raises the lowest deletion window a claim may
	// ask for above the AWS minimum of 7 days.
	// +kubebuilder:validation:Minimum=7
	// +kubebuilder:validation:Maximum=30
	// +optional
	MinDeletionWindowInDays *int64 `json:"minDeletionWindowInDays,omitempty"`

	// MaxReplicaRegions lowers the most replica regions a claim may ask for
	// below 10; 0 allows no multi-region keys.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=10
	// +optional
	MaxReplicaRegions *int64 `json:"maxReplicaRegions,omitempty"`
}
