package main

import (
	"slices"
	"strings"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	"google.golang.org/protobuf/types/known/structpb"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/crossplane/function-sdk-go/resource"
)

// ObservedXR is what the function reads of the observed XR.
type ObservedXR struct {
	APIVersion string
	Kind       string
	Name       string
	Namespace  string
	// Spec is the XR's spec as the request holds it.
	Spec map[string]*structpb.Value
	// KeyAvailable is the KeyAvailable condition the function set on an
	// earlier call; empty when there is none.
	KeyAvailable Condition
	// Recorded is the key an earlier call wrote to the status.
	Recorded RecordedKey
}

// RecordedKey is the key the XR's status names: status.kmsKeyId and
// status.kmsKeyArn, empty when there are none.
type RecordedKey struct {
	ID  string
	ARN string
}

// ReadXR reads the observed XR from the request field by field, rather than
// converting the whole XR with the SDK's request.GetObservedCompositeResource
// (see ParseSpec for what that costs).
func ReadXR(xr *structpb.Struct) ObservedXR {
	f := xr.GetFields()
	m := f["metadata"].GetStructValue().GetFields()
	o := ObservedXR{
		APIVersion: f["apiVersion"].GetStringValue(),
		Kind:       f["kind"].GetStringValue(),
		Name:       m["name"].GetStringValue(),
		Namespace:  m["namespace"].GetStringValue(),
		Spec:       f["spec"].GetStructValue().GetFields(),
	}
	status := f["status"].GetStructValue().GetFields()
	o.Recorded = RecordedKey{ID: status["kmsKeyId"].GetStringValue(), ARN: status["kmsKeyArn"].GetStringValue()}
	for _, c := range status["conditions"].GetListValue().GetValues() {
		c := c.GetStructValue().GetFields()
		if c["type"].GetStringValue() == conditionKeyAvailable {
			o.KeyAvailable = Condition{Status: c["status"].GetStringValue(), Reason: c["reason"].GetStringValue(), Message: c["message"].GetStringValue()}
			o.KeyAvailable.Since, _ = time.Parse(time.RFC3339, c["lastTransitionTime"].GetStringValue())
		}
	}
	return o
}

// Observed is what the function needs to know of the composed resources that
// exist: nil when a resource does not exist yet. Its regions are the key's
// (Region) and its replicas'; each has a key, the claim's in Region and a
// replica in the others, and an Alias.
type Observed struct {
	// Region is the key's region: the backend's, which its Key and Alias
	// are composed in.
	Region string
	Key    *ObservedKey
	// Replicas are the replica keys, by region.
	Replicas map[string]*ObservedReplica
	// Aliases are the Aliases, by region: the key's in Region, and each
	// replica's in its own.
	Aliases map[string]*ObservedAlias
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
	// MultiRegion is whether the key is a multi-region key: as the provider
	// reports it, else as it was created, which provider-aws also fills in
	// (late initialization); false when neither says.
	MultiRegion bool
	// Adoption is what the function decided about the key it names.
	Adoption Adoption
	// ObserveOnly says its management policies are Observe alone.
	ObserveOnly bool
	// ExternalName is the key id the Key names (crossplane.io/external-name).
	ExternalName string

	// From status.atProvider; empty or nil until the provider reports them.
	KeyID                string
	ARN                  string
	RotationEnabled      *bool
	DeletionWindowInDays *int64
	// Policy is the key policy as KMS returned it.
	Policy string
	// What AWS reports of the key, which decides whether it can be
	// adopted: its region, key spec and usage, and whether it is enabled
	// (nil while unknown). MultiRegionReported is nil while atProvider does
	// not say.
	ReportedRegion      string
	KeySpec             string
	KeyUsage            string
	Enabled             *bool
	MultiRegionReported *bool

	Conditions Conditions
}

// ObservedReplica is the state of an existing ReplicaKey managed resource,
// whose region is fixed by its composition resource name.
type ObservedReplica struct {
	// From status.atProvider; empty until the provider reports them. A
	// replica's key id is its primary's.
	KeyID string
	ARN   string

	Conditions Conditions
}

// ObservedAlias is the state of an existing Alias managed resource.
type ObservedAlias struct {
	// Name is its external name without the alias/ prefix.
	Name string
	// Region is the region the Alias was created in (spec.forProvider).
	Region string
	ARN    string
	// TargetKeyID is the key id it names (spec.forProvider).
	TargetKeyID string
	// Adoption is what the function decided about the alias it names.
	Adoption Adoption
	// ReportedTargetKeyID and ReportedTargetKeyARN are the key the alias
	// targets in AWS (status.atProvider), empty while unknown.
	ReportedTargetKeyID  string
	ReportedTargetKeyARN string
	// Created is the resource's creation time, which orders two Aliases
	// that claim one AWS alias; zero while it is unknown.
	Created time.Time
	// ObserveOnly says its management policies are Observe alone: the
	// provider writes nothing to the alias.
	ObserveOnly bool
	// AliasID is its alias id label; OwnerConfirmed, the alias id whose
	// ownership an earlier call confirmed (aliasOwnerAnnotation): empty
	// when there is none.
	AliasID        string
	OwnerConfirmed string

	Conditions Conditions
}

// Condition is one status condition of a managed resource.
type Condition struct {
	Status  string
	Reason  string
	Message string
	// Since is when the condition last changed status, reason or message;
	// read for the XR's own conditions only.
	Since time.Time
}

// Conditions are the provider's conditions on a managed resource, by type:
// Ready, Synced and LastAsyncOperation.
type Conditions map[string]Condition

// True reports whether the condition of this type is True.
func (c Conditions) True(t string) bool { return c[t].Status == "True" }

// False reports whether the condition of this type is False.
func (c Conditions) False(t string) bool { return c[t].Status == "False" }

// Missing reports whether the provider, allowed only to observe, found no
// such resource in AWS.
func (c Conditions) Missing() bool {
	return c.False(conditionSynced) && strings.Contains(c[conditionSynced].Message, missingMessage)
}

// ReadObserved reads the Key and Alias, composed in the key's region, and
// the replicas and their aliases from the observed composed resources.
// Missing or wrongly typed fields read as unknown, never as an error: the
// provider fills them in over time.
//
// Fields are read with apimachinery's unstructured helpers and conditions by
// walking the list, rather than with the SDK's fieldpath getters and
// GetValueInto, which parse each path and round-trip the conditions through
// JSON: most of the function's own CPU when the Key and Alias exist (see
// docs/performance.md).
func ReadObserved(ocds map[resource.Name]resource.ObservedComposed, keyRegion string) Observed {
	o := Observed{Region: keyRegion}
	if ocd, ok := ocds[keyName]; ok {
		k := ocd.Resource.Object
		o.Key = &ObservedKey{
			Region:             str(k, "spec", "forProvider", "region"),
			ProviderConfigName: str(k, "spec", "providerConfigRef", "name"),
			Orphan:             isOrphan(k),
			KeyID:              str(k, "status", "atProvider", "keyId"),
			ARN:                str(k, "status", "atProvider", "arn"),
			Policy:             str(k, "status", "atProvider", "policy"),
			Adoption:           Adoption(ocd.Resource.GetAnnotations()[adoptionAnnotation]),
			ObserveOnly:        observeOnly(k),
			ExternalName:       meta.GetExternalName(ocd.Resource),
			ReportedRegion:     str(k, "status", "atProvider", "region"),
			KeySpec:            str(k, "status", "atProvider", "customerMasterKeySpec"),
			KeyUsage:           str(k, "status", "atProvider", "keyUsage"),
			Conditions:         readConditions(k),
		}
		if b, ok, err := unstructured.NestedBool(k, "status", "atProvider", "isEnabled"); ok && err == nil {
			o.Key.Enabled = &b
		}
		if b, ok, err := unstructured.NestedBool(k, "status", "atProvider", "multiRegion"); ok && err == nil {
			o.Key.MultiRegionReported = &b
		}
		if b, ok, err := unstructured.NestedBool(k, "status", "atProvider", "enableKeyRotation"); ok && err == nil {
			o.Key.RotationEnabled = &b
		}
		o.Key.MultiRegion = boolAt(k, []string{"status", "atProvider", "multiRegion"}, []string{"spec", "forProvider", "multiRegion"})
		if v, ok, err := unstructured.NestedFieldNoCopy(k, "status", "atProvider", "deletionWindowInDays"); ok && err == nil {
			if w, ok := integral(v); ok {
				o.Key.DeletionWindowInDays = &w
			}
		}
	}
	for name, ocd := range ocds {
		switch kind := ocd.Resource.GetKind(); {
		case kind == kindReplicaKey && strings.HasPrefix(string(name), replicaNamePrefix):
			if o.Replicas == nil {
				o.Replicas = map[string]*ObservedReplica{}
			}
			r := ocd.Resource.Object
			o.Replicas[strings.TrimPrefix(string(name), replicaNamePrefix)] = &ObservedReplica{
				KeyID:      str(r, "status", "atProvider", "keyId"),
				ARN:        str(r, "status", "atProvider", "arn"),
				Conditions: readConditions(r),
			}
		case kind == kindAlias && strings.HasPrefix(string(name), replicaAliasNamePrefix):
			o.addAlias(strings.TrimPrefix(string(name), replicaAliasNamePrefix), ocd)
		}
	}
	// The key's Alias, read last: in the key's region it is the one that
	// counts.
	if ocd, ok := ocds[aliasName]; ok {
		o.addAlias(keyRegion, ocd)
	}
	return o
}

func (o *Observed) addAlias(region string, ocd resource.ObservedComposed) {
	if o.Aliases == nil {
		o.Aliases = map[string]*ObservedAlias{}
	}
	o.Aliases[region] = readAlias(ocd)
}

// readAlias reads an observed Alias.
func readAlias(ocd resource.ObservedComposed) *ObservedAlias {
	a := ocd.Resource
	annotations := a.GetAnnotations()
	return &ObservedAlias{
		Name:           strings.TrimPrefix(meta.GetExternalName(a), aliasPrefix),
		Region:         str(a.Object, "spec", "forProvider", "region"),
		ARN:            str(a.Object, "status", "atProvider", "arn"),
		TargetKeyID:    str(a.Object, "spec", "forProvider", "targetKeyId"),
		Created:        a.GetCreationTimestamp().Time,
		Adoption:       Adoption(annotations[adoptionAnnotation]),
		ObserveOnly:    observeOnly(a.Object),
		AliasID:        a.GetLabels()[aliasIDLabel],
		OwnerConfirmed: annotations[aliasOwnerAnnotation],

		ReportedTargetKeyID:  str(a.Object, "status", "atProvider", "targetKeyId"),
		ReportedTargetKeyARN: str(a.Object, "status", "atProvider", "targetKeyArn"),
		Conditions:           readConditions(a.Object),
	}
}

// boolAt returns the boolean at the first of the paths that holds one, or
// false.
func boolAt(obj map[string]any, paths ...[]string) bool {
	for _, p := range paths {
		if b, ok, err := unstructured.NestedBool(obj, p...); ok && err == nil {
			return b
		}
	}
	return false
}

// KeyID is the observed key's id, or empty while it is unknown.
func (o Observed) KeyID() string {
	if o.Key == nil {
		return ""
	}
	return o.Key.KeyID
}

// KeyARN is the observed key's ARN, or empty while it is unknown.
func (o Observed) KeyARN() string {
	if o.Key == nil {
		return ""
	}
	return o.Key.ARN
}

// RecordedAdoptions are the adoptions recorded on the observed Key and
// Aliases; the key's Alias, not yet observed, is yet to be probed.
func (o Observed) RecordedAdoptions() Adoptions {
	d := Adoptions{Aliases: map[string]Adoption{o.Region: adoptionProbe}}
	if o.Key != nil {
		d.Key = o.Key.Adoption
	}
	for r, a := range o.Aliases {
		d.Aliases[r] = a.Adoption
	}
	return d
}

// ConditionsIn returns the conditions of the key in a region (the claim's
// key in the key's region, a replica in the others) and of the Alias there,
// nil for one that does not exist.
func (o Observed) ConditionsIn(region string) (key, alias Conditions) {
	switch {
	case region == o.Region && o.Key != nil:
		key = o.Key.Conditions
	case region != o.Region && o.Replicas[region] != nil:
		key = o.Replicas[region].Conditions
	}
	if a := o.Aliases[region]; a != nil {
		alias = a.Conditions
	}
	return key, alias
}

// ReplicaKeyID is the key id the alias in a replica region names: the
// replica's, once it is observed, else the one the existing alias names;
// empty while neither is known.
func (o Observed) ReplicaKeyID(region string) string {
	if r := o.Replicas[region]; r != nil && r.KeyID != "" {
		return r.KeyID
	}
	if a := o.Aliases[region]; a != nil {
		return a.TargetKeyID
	}
	return ""
}

// str returns the string at path, or empty when there is none.
func str(obj map[string]any, path ...string) string {
	s, _, _ := unstructured.NestedString(obj, path...)
	return s
}

// readConditions reads the conditions provider-aws sets from
// status.conditions; one it has not set is Unknown, and entries that are
// not conditions are skipped.
func readConditions(obj map[string]any) Conditions {
	out := make(Conditions, 3)
	for _, t := range []string{conditionReady, conditionSynced, conditionLastAsync} {
		out[t] = Condition{Status: string(corev1.ConditionUnknown)}
	}
	cs, _, _ := unstructured.NestedFieldNoCopy(obj, "status", "conditions")
	list, _ := cs.([]any)
	for _, c := range list {
		m, ok := c.(map[string]any)
		if !ok {
			continue
		}
		t, _ := m["type"].(string)
		if _, known := out[t]; !known {
			continue
		}
		status, _ := m["status"].(string)
		reason, _ := m["reason"].(string)
		msg, _ := m["message"].(string)
		out[t] = Condition{Status: status, Reason: reason, Message: msg}
	}
	return out
}

// observeOnly reports whether a managed resource's management policies are
// Observe alone.
func observeOnly(obj map[string]any) bool {
	mp, ok, err := unstructured.NestedStringSlice(obj, "spec", "managementPolicies")
	return ok && err == nil && len(mp) > 0 && !slices.ContainsFunc(mp, func(p string) bool { return p != "Observe" })
}

// isOrphan reports whether deleting the managed resource keeps its external
// resource.
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
