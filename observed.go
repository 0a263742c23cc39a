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

	Ready bool
}

// ObservedAlias is the state of an existing Alias managed resource.
type ObservedAlias struct {
	// Name is its external name without the alias/ prefix.
	Name string
	// Region is the region the Alias was created in (spec.forProvider).
	Region string
	ARN    string
	Ready  bool
}

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
			Ready:              isReady(k),
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
			Name:   strings.TrimPrefix(str(a, "metadata", "annotations", meta.AnnotationKeyExternalName), aliasPrefix),
			Region: str(a, "spec", "forProvider", "region"),
			ARN:    str(a, "status", "atProvider", "arn"),
			Ready:  isReady(a),
		}
	}
	return o
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

// isReady reports whether the provider set the Ready condition True.
func isReady(obj map[string]any) bool {
	cs, _, _ := unstructured.NestedFieldNoCopy(obj, "status", "conditions")
	l, _ := cs.([]any)
	for _, c := range l {
		if m, ok := c.(map[string]any); ok && m["type"] == "Ready" {
			return m["status"] == "True"
		}
	}
	return false
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
