package main

import (
	"strings"

	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
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
	// Created is the resource's creationTimestamp, which orders two Aliases
	// that claim one AWS alias.
	Created string

	Conditions Conditions
}

// Condition is one status condition of a managed resource.
type Condition struct {
	Status  string
	Reason  string
	Message string
}

// Conditions are a managed resource's status conditions by type.
type Conditions map[string]Condition

// True reports whether the condition of this type is True.
func (c Conditions) True(t string) bool { return c[t].Status == "True" }

// False reports whether the condition of this type is False.
func (c Conditions) False(t string) bool { return c[t].Status == "False" }

// ReadObserved reads the Key and Alias from the observed composed resources,
// given as their JSON objects by composition resource name. Missing or
// wrongly typed fields read as unknown, never as an error: the provider fills
// them in over time.
func ReadObserved(objs map[string]map[string]any) Observed {
	var o Observed
	if k, ok := objs[keyName]; ok && k != nil {
		o.Key = &ObservedKey{
			Region:             str(k, "spec", "forProvider", "region"),
			ProviderConfigName: str(k, "spec", "providerConfigRef", "name"),
			Orphan:             isOrphan(k),
			KeyID:              str(k, "status", "atProvider", "keyId"),
			ARN:                str(k, "status", "atProvider", "arn"),
			Policy:             str(k, "status", "atProvider", "policy"),
			Conditions:         readConditions(k),
		}
		if b, ok, err := unstructured.NestedBool(k, "status", "atProvider", "enableKeyRotation"); ok && err == nil {
			o.Key.RotationEnabled = &b
		}
		if v, ok, err := unstructured.NestedFieldNoCopy(k, "status", "atProvider", "deletionWindowInDays"); ok && err == nil {
			if w, ok := asInt(v); ok {
				o.Key.DeletionWindowInDays = &w
			}
		}
	}
	if a, ok := objs[aliasName]; ok && a != nil {
		o.Alias = &ObservedAlias{
			Name:       strings.TrimPrefix(str(a, "metadata", "annotations", meta.AnnotationKeyExternalName), aliasPrefix),
			Region:     str(a, "spec", "forProvider", "region"),
			ARN:        str(a, "status", "atProvider", "arn"),
			Created:    str(a, "metadata", "creationTimestamp"),
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

func str(obj map[string]any, path ...string) string {
	s, _, _ := unstructured.NestedString(obj, path...)
	return s
}

// readConditions reads status.conditions, skipping entries that are not
// conditions.
func readConditions(obj map[string]any) Conditions {
	v, _, _ := unstructured.NestedFieldNoCopy(obj, "status", "conditions")
	cs, _ := v.([]any)
	if len(cs) == 0 {
		return nil
	}
	out := make(Conditions, len(cs))
	for _, c := range cs {
		m, ok := c.(map[string]any)
		if !ok {
			continue
		}
		t, _ := m["type"].(string)
		status, _ := m["status"].(string)
		reason, _ := m["reason"].(string)
		msg, _ := m["message"].(string)
		out[t] = Condition{Status: status, Reason: reason, Message: msg}
	}
	return out
}

func isOrphan(obj map[string]any) bool {
	if str(obj, "spec", "deletionPolicy") == deletionPolicyOrphan {
		return true
	}
	mp, ok, err := unstructured.NestedStringSlice(obj, "spec", "managementPolicies")
	if !ok || err != nil || len(mp) == 0 {
		return false
	}
	for _, a := range mp {
		if a == "Delete" || a == "*" {
			return false
		}
	}
	return true
}

// ReadLabelledAliases reads the Aliases Crossplane returned for the
// function's requirement, given as their JSON objects.
func ReadLabelledAliases(objs []map[string]any) []LabelledAlias {
	out := make([]LabelledAlias, 0, len(objs))
	for _, a := range objs {
		out = append(out, LabelledAlias{
			Namespace: str(a, "metadata", "namespace"),
			Name:      str(a, "metadata", "name"),
			Composite: str(a, "metadata", "labels", compositeLabel),
			Created:   str(a, "metadata", "creationTimestamp"),
		})
	}
	return out
}
