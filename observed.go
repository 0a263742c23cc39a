package main

import (
	"strings"

	xpv1 "github.com/crossplane/crossplane-runtime/v2/apis/common/v1"
	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	corev1 "k8s.io/api/core/v1"

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
	Name  string
	ARN   string
	Ready bool
}

// ReadObserved reads the Key and Alias from the observed composed resources.
// Missing or wrongly typed fields read as unknown, never as an error: the
// provider fills them in over time.
func ReadObserved(ocds map[resource.Name]resource.ObservedComposed) Observed {
	var o Observed
	if k, ok := ocds[keyName]; ok && k.Resource != nil {
		r := k.Resource
		o.Key = &ObservedKey{
			Region: str(r, "spec.forProvider.region"),
			Orphan: isOrphan(r),
			KeyID:  str(r, "status.atProvider.keyId"),
			ARN:    str(r, "status.atProvider.arn"),
			Ready:  r.GetCondition(xpv1.TypeReady).Status == corev1.ConditionTrue,
		}
		if b, err := r.GetBool("status.atProvider.enableKeyRotation"); err == nil {
			o.Key.RotationEnabled = &b
		}
		if w, err := r.GetInteger("status.atProvider.deletionWindowInDays"); err == nil {
			o.Key.DeletionWindowInDays = &w
		}
	}
	if a, ok := ocds[aliasName]; ok && a.Resource != nil {
		r := a.Resource
		o.Alias = &ObservedAlias{
			Name:  strings.TrimPrefix(meta.GetExternalName(r), aliasPrefix),
			ARN:   str(r, "status.atProvider.arn"),
			Ready: r.GetCondition(xpv1.TypeReady).Status == corev1.ConditionTrue,
		}
	}
	return o
}

func str(r *composed.Unstructured, path string) string {
	s, _ := r.GetString(path)
	return s
}

func isOrphan(r *composed.Unstructured) bool {
	if p, _ := r.GetString("spec.deletionPolicy"); p == deletionPolicyOrphan {
		return true
	}
	mp, err := r.GetStringArray("spec.managementPolicies")
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
