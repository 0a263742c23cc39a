package main

import (
	"strings"
	"time"

	xpv1 "github.com/crossplane/crossplane-runtime/v2/apis/common/v1"
	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"

	"github.com/crossplane/function-sdk-go/resource"
	"github.com/crossplane/function-sdk-go/resource/composed"
)

// Observed is what the function needs to know of the composed resources that
// exist: nil when a resource does not exist yet.
type Observed struct {
	Key   *ObservedKey
	Alias *ObservedAlias
}

// ObservedKey is the state of an existing Key managed resource.
type ObservedKey struct {
	// Region is the region the Key was created in (spec.forProvider).
	Region string
	// ProviderConfigName names the credentials that manage the Key.
	ProviderConfigName string
	// Orphan is true when deleting the Key managed resource keeps the AWS
	// key: deletionPolicy Orphan, or management policies without Delete.
	Orphan bool

	// From status.atProvider; empty or nil until the provider reports them.
	KeyID                string
	ARN                  string
	RotationEnabled      *bool
	DeletionWindowInDays *int64
	// Policy is the key policy as KMS returned it.
	Policy string

	Conditions Conditions
}

// ObservedAlias is the state of an existing Alias managed resource.
type ObservedAlias struct {
	// Name is its external name without the alias/ prefix.
	Name string
	// Region is the region the Alias was created in (spec.forProvider).
	Region string
	ARN    string
	// Created is the resource's creation time, which orders two Aliases
	// that claim one AWS alias; zero while it is unknown.
	Created time.Time

	Conditions Conditions
}

// Condition is one status condition of a managed resource.
type Condition struct {
	Status  string
	Reason  string
	Message string
}

// Conditions are the provider's conditions on a managed resource, by type:
// Ready, Synced and LastAsyncOperation.
type Conditions map[string]Condition

// True reports whether the condition of this type is True.
func (c Conditions) True(t string) bool { return c[t].Status == "True" }

// False reports whether the condition of this type is False.
func (c Conditions) False(t string) bool { return c[t].Status == "False" }

// ReadObserved reads the Key and Alias from the observed composed resources.
// Missing or wrongly typed fields read as unknown, never as an error: the
// provider fills them in over time.
func ReadObserved(ocds map[resource.Name]resource.ObservedComposed) Observed {
	var o Observed
	if ocd, ok := ocds[keyName]; ok {
		k := ocd.Resource
		o.Key = &ObservedKey{
			Region:             str(k, "spec.forProvider.region"),
			ProviderConfigName: str(k, "spec.providerConfigRef.name"),
			Orphan:             isOrphan(k),
			KeyID:              str(k, "status.atProvider.keyId"),
			ARN:                str(k, "status.atProvider.arn"),
			Policy:             str(k, "status.atProvider.policy"),
			Conditions:         readConditions(k),
		}
		if b, err := k.GetBool("status.atProvider.enableKeyRotation"); err == nil {
			o.Key.RotationEnabled = &b
		}
		if w, err := k.GetInteger("status.atProvider.deletionWindowInDays"); err == nil {
			o.Key.DeletionWindowInDays = &w
		}
	}
	if ocd, ok := ocds[aliasName]; ok {
		a := ocd.Resource
		o.Alias = &ObservedAlias{
			Name:       strings.TrimPrefix(meta.GetExternalName(a), aliasPrefix),
			Region:     str(a, "spec.forProvider.region"),
			ARN:        str(a, "status.atProvider.arn"),
			Created:    a.GetCreationTimestamp().Time,
			Conditions: readConditions(a),
		}
	}
	return o
}

// conditions returns the Key's and the Alias's conditions, nil for one that
// does not exist.
func (o Observed) conditions() (key, alias Conditions) {
	if o.Key != nil {
		key = o.Key.Conditions
	}
	if o.Alias != nil {
		alias = o.Alias.Conditions
	}
	return key, alias
}

// KeyID is the observed key's id, or empty while it is unknown.
func (o Observed) KeyID() string {
	if o.Key == nil {
		return ""
	}
	return o.Key.KeyID
}

// str returns the string at path, or empty when there is none.
func str(u *composed.Unstructured, path string) string {
	s, _ := u.GetString(path)
	return s
}

// readConditions reads the conditions provider-aws sets; one it has not set,
// or that cannot be read, is Unknown. The conditions are decoded once, not
// with GetCondition per type, which decodes the whole status each time,
// the key policy included.
func readConditions(u *composed.Unstructured) Conditions {
	var cs xpv1.ConditionedStatus
	_ = u.GetValueInto("status.conditions", &cs.Conditions)
	out := make(Conditions, 3)
	for _, t := range []string{conditionReady, conditionSynced, conditionLastAsync} {
		c := cs.GetCondition(xpv1.ConditionType(t))
		out[t] = Condition{Status: string(c.Status), Reason: string(c.Reason), Message: c.Message}
	}
	return out
}

// isOrphan reports whether deleting the managed resource keeps its external
// resource.
func isOrphan(u *composed.Unstructured) bool {
	if str(u, "spec.deletionPolicy") == deletionPolicyOrphan {
		return true
	}
	mp, err := u.GetStringArray("spec.managementPolicies")
	if err != nil || len(mp) == 0 {
		return false
	}
	for _, a := range mp {
		if a == "Delete" || a == "*" {
			return false
		}
	}
	return true
}

// LabelledAlias is an Alias that carries a backend's AliasID, as Crossplane
// returned it for the function's requirement.
type LabelledAlias struct {
	Namespace string
	Name      string
	// Composite is the name of the XR that composed it.
	Composite string
	Created   time.Time
}

// compositeLabel is the label Crossplane sets on each composed resource to
// the name of its XR.
const compositeLabel = "crossplane.io/composite"

// ReadLabelledAliases reads the Aliases Crossplane returned for the
// function's requirement.
func ReadLabelledAliases(rs []resource.Required) []LabelledAlias {
	out := make([]LabelledAlias, 0, len(rs))
	for _, r := range rs {
		a := r.Resource
		out = append(out, LabelledAlias{
			Namespace: a.GetNamespace(),
			Name:      a.GetName(),
			Composite: a.GetLabels()[compositeLabel],
			Created:   a.GetCreationTimestamp().Time,
		})
	}
	return out
}
