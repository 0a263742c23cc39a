package main

import "slices"

// Backend is a KmsBackend's spec once it is valid and every default is
// applied: all that the key policy, the composed Key and Alias and the
// XR's status are computed from.
type Backend struct {
	// AliasName is the alias without its alias/ prefix.
	AliasName            string
	Description          string
	DeletionWindowInDays int64
	EnableKeyRotation    bool
	RotationPeriodInDays *int64
	// AdminUsers and StandardUsers are sorted and free of duplicates.
	AdminUsers    []string
	StandardUsers []string
	// AccountRoot is the root principal of the key's account, or empty when
	// the platform dropped the EnableIAMUserPermissions statement.
	AccountRoot string
	// ProviderPrincipal is the IAM ARN provider-aws acts as, an
	// administrator beside AdminUsers; empty when the platform names none.
	ProviderPrincipal string
	// KeyAdministration limits the administrators to AWS's
	// key-administrator actions; otherwise they have kms:*.
	KeyAdministration  bool
	Region             string
	Tags               map[string]string
	ProviderConfigName string
	DeletionPolicy     string
	// AllowedServices are the AWS services through which alone the standard
	// users may use the key, sorted; empty when they may use it directly.
	AllowedServices []string
	// ReplicaRegions are the regions of the key's replicas, sorted; a key
	// with replicas is a multi-region key.
	ReplicaRegions []string
	// ExistingKeyID is the id of a key that exists in AWS, made outside the
	// cluster, which the claim adopts instead of creating one; empty for a
	// new key.
	ExistingKeyID string
	// Account is the key's AWS account: the function input's
	// policy.accountId, else the admin users' account; empty when the admin
	// users span several accounts and the input names none.
	Account string
}

// Administrators are the principals the key policy names as key
// administrators: the admin users and provider-aws' principal, sorted and
// free of duplicates.
func (b Backend) Administrators() []string {
	if b.ProviderPrincipal == "" {
		return b.AdminUsers
	}
	i, found := slices.BinarySearch(b.AdminUsers, b.ProviderPrincipal)
	if found {
		return b.AdminUsers
	}
	return slices.Insert(slices.Clone(b.AdminUsers), i, b.ProviderPrincipal)
}

// Regions are the regions of the backend's key and its replicas, the key's
// first.
func (b Backend) Regions() []string { return append([]string{b.Region}, b.ReplicaRegions...) }

// MultiRegion reports whether the backend's key is a multi-region key.
func (b Backend) MultiRegion() bool { return len(b.ReplicaRegions) > 0 }
