package main

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"google.golang.org/protobuf/types/known/structpb"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	"github.com/crossplane/function-sdk-go/logging"
	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"github.com/crossplane/function-sdk-go/resource/composed"

	kmsv1 "github.com/upbound/provider-aws/v2/apis/cluster/kms/v1beta1"
	kmsm "github.com/upbound/provider-aws/v2/apis/namespaced/kms/v1beta1"
)

// The fuzz targets' seed corpora live in testdata/fuzz/<target>/, where
// `go test` runs them as ordinary tests; `make fuzz` explores from them.

// maxProblemBytes bounds one problem's message whatever the input: at most
// three quoted values, each at most maxShown characters of at most 4 bytes,
// and the words around them.
const maxProblemBytes = 3*maxShown*4 + 1024

// FuzzParsePrincipal checks that any string parses as a valid principal, with
// the partition and account it names, or is refused with a short message.
func FuzzParsePrincipal(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		p, msg := ParsePrincipal(s)
		if msg != "" {
			if p != (Principal{}) {
				t.Errorf("ParsePrincipal(%q): refused with %q but returned %+v", s, msg, p)
			}
			if len(msg) > 256 {
				t.Errorf("ParsePrincipal(%q): message of %d bytes", s, len(msg))
			}
			return
		}
		switch {
		case !partitions[p.Partition] || !IsAccountID(p.Account):
			t.Errorf("ParsePrincipal(%q) = %+v: unknown partition or bad account", s, p)
		case !strings.HasPrefix(s, "arn:"+p.Partition+":iam::"+p.Account+":"):
			t.Errorf("ParsePrincipal(%q) = %+v: not what the ARN names", s, p)
		case strings.ContainsAny(s, "*? \n") || !utf8.ValidString(s):
			t.Errorf("ParsePrincipal(%q): accepted a wildcard, a space or invalid UTF-8", s)
		}
	})
}

// FuzzParseSpec feeds any JSON, as Crossplane would send it (a structpb
// value), to ParseSpec and Resolve: every problem names a spec field in a
// short message, and a claim without problems gives a valid policy.
func FuzzParseSpec(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		v, ok := structValue(data)
		if !ok {
			return
		}
		raw, errs := ParseSpec(v.GetStructValue().GetFields())
		c, _, rerrs := Resolve(raw, defaultSettings())
		errs = append(errs, withoutFieldsOf(rerrs, errs)...)
		errs = append(errs, CheckReplacement(c, Observed{})...)
		for _, e := range errs {
			if !strings.HasPrefix(e.Field, "spec") {
				t.Errorf("error outside spec: %v", e)
			}
			if len(e.Error()) > maxProblemBytes {
				t.Errorf("error of %d bytes: %.200s…", len(e.Error()), e.Error())
			}
		}
		if len(errs) > 0 {
			return
		}
		checkKeyPolicy(t, KeyPolicy(c))
		if c.AliasName == "" || !regionPattern.MatchString(c.Region) || len(c.AdminUsers) == 0 || len(c.StandardUsers) == 0 {
			t.Errorf("valid claim lacks a required field: %+v", c)
		}
	})
}

// FuzzRunFunction runs the whole function on any spec, observed Key and
// Alias, and input, each as JSON, for a legacy or a namespaced XR. Its
// invariants: no panic and no Go error; either a Fatal result, last, or a
// Key and an Alias, and replicas and their aliases, that the provider
// accepts, with a policy that is valid JSON within the KMS limit; never a change the provider would apply by
// replacing the observed Key or Alias; never Orphan to Delete unsaid; a
// KeyAvailable condition on every answer that is not a refusal; no message
// larger than maxMessageBytes.
func FuzzRunFunction(f *testing.F) {
	fn := &Function{log: logging.NewNopLogger()}
	f.Fuzz(func(t *testing.T, spec, key, alias, input string, namespaced bool) {
		req := fuzzRequest(spec, key, alias, input, namespaced)
		rsp, err := fn.RunFunction(context.Background(), req)
		if err != nil {
			t.Fatalf("RunFunction(...): want no error, got %v", err)
		}
		for _, r := range rsp.GetResults() {
			if len(r.GetMessage()) > maxMessageBytes {
				t.Errorf("result message of %d bytes: %.200s…", len(r.GetMessage()), r.GetMessage())
			}
		}
		available := false
		for _, c := range rsp.GetConditions() {
			if len(c.GetMessage()) > maxMessageBytes {
				t.Errorf("condition message of %d bytes: %.200s…", len(c.GetMessage()), c.GetMessage())
			}
			available = available || c.GetType() == conditionKeyAvailable
		}
		if hasFatal(rsp) {
			if last := rsp.GetResults()[len(rsp.GetResults())-1]; last.GetSeverity() != fnv1.Severity_SEVERITY_FATAL {
				t.Errorf("the Fatal result is not last: Crossplane would drop the results after it")
			}
			if n := len(rsp.GetDesired().GetResources()); n != 0 {
				t.Errorf("a refusal desires %d resources", n)
			}
			return
		}
		if !available {
			t.Errorf("no KeyAvailable condition in a response Crossplane would apply")
		}
		checkComposed(t, req, rsp, namespaced)
	})
}

// structValue decodes JSON into the structpb value Crossplane would send.
func structValue(data []byte) (*structpb.Value, bool) {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, false
	}
	sv, err := structpb.NewValue(v)
	return sv, err == nil
}

// fuzzRequest builds a request from JSON texts: a spec that is not JSON
// becomes a string, an observed resource or input that is not a JSON object
// is left out.
func fuzzRequest(spec, key, alias, input string, namespaced bool) *fnv1.RunFunctionRequest {
	sv, ok := structValue([]byte(spec))
	if !ok {
		sv = structpb.NewStringValue(strings.ToValidUTF8(spec, ""))
	}
	md := map[string]any{"name": "fuzz"}
	apiVersion, kind := "kms.example.org/v1alpha1", "XKmsBackend"
	if namespaced {
		md["namespace"] = "fuzz"
		apiVersion, kind = "kms.m.example.org/v1alpha1", "KmsBackend"
	}
	xr, _ := structpb.NewStruct(map[string]any{"apiVersion": apiVersion, "kind": kind, "metadata": md})
	xr.Fields["spec"] = sv
	req := crossplaneV2(&fnv1.RunFunctionRequest{Observed: &fnv1.State{
		Composite: &fnv1.Resource{Resource: xr},
		Resources: map[string]*fnv1.Resource{},
	}})
	for name, text := range map[string]string{keyName: key, aliasName: alias} {
		if v, ok := structValue([]byte(text)); ok && v.GetStructValue() != nil {
			req.Observed.Resources[name] = &fnv1.Resource{Resource: v.GetStructValue()}
		}
	}
	if v, ok := structValue([]byte(input)); ok && v.GetStructValue() != nil {
		req.Input = v.GetStructValue()
	}
	return req
}

// checkComposedReplicas checks each replica and its alias that a response composes:
// provider-aws accepts them, each in its own region, none the Key's, each
// replica with the Key's policy and its alias in the same region.
func checkComposedReplicas(t *testing.T, d map[string]*fnv1.Resource, keyRegion, policy string, namespaced bool) {
	t.Helper()
	for name, r := range d {
		obj := r.GetResource().AsMap()
		var region, replicaPolicy *string
		switch {
		case strings.HasPrefix(name, replicaNamePrefix) && namespaced:
			var rk kmsm.ReplicaKey
			strict(t, obj, &rk)
			region, replicaPolicy = rk.Spec.ForProvider.Region, rk.Spec.ForProvider.Policy
		case strings.HasPrefix(name, replicaNamePrefix):
			var rk kmsv1.ReplicaKey
			strict(t, obj, &rk)
			region, replicaPolicy = rk.Spec.ForProvider.Region, rk.Spec.ForProvider.Policy
		case strings.HasPrefix(name, replicaAliasNamePrefix) && namespaced:
			var al kmsm.Alias
			strict(t, obj, &al)
			region = al.Spec.ForProvider.Region
		case strings.HasPrefix(name, replicaAliasNamePrefix):
			var al kmsv1.Alias
			strict(t, obj, &al)
			region = al.Spec.ForProvider.Region
		default:
			continue
		}
		r := name[strings.IndexByte(name, '-')+1:]
		if region == nil || *region != r || r == keyRegion {
			got := "none"
			if region != nil {
				got = *region
			}
			t.Errorf("%s: in region %s, want %s, not the Key's %s", name, got, r, keyRegion)
		}
		if strings.HasPrefix(name, replicaNamePrefix) && (replicaPolicy == nil || *replicaPolicy != policy) {
			t.Errorf("%s: the policy is not the Key's", name)
		}
	}
}

// checkComposed checks a response that Crossplane would apply.
func checkComposed(t *testing.T, req *fnv1.RunFunctionRequest, rsp *fnv1.RunFunctionResponse, namespaced bool) {
	t.Helper()
	d := rsp.GetDesired().GetResources()
	if d[keyName] == nil || d[aliasName] == nil {
		t.Fatalf("no Fatal result, but the Key or the Alias is not desired: %v", rsp)
	}
	k, a := d[keyName].GetResource().AsMap(), d[aliasName].GetResource().AsMap()

	var region, policy *string
	if namespaced {
		var key kmsm.Key
		var al kmsm.Alias
		strict(t, k, &key)
		strict(t, a, &al)
		region, policy = key.Spec.ForProvider.Region, key.Spec.ForProvider.Policy
		if al.Spec.ForProvider.Region == nil || region == nil || *al.Spec.ForProvider.Region != *region {
			t.Errorf("the Alias is not in the Key's region")
		}
	} else {
		var key kmsv1.Key
		var al kmsv1.Alias
		strict(t, k, &key)
		strict(t, a, &al)
		region, policy = key.Spec.ForProvider.Region, key.Spec.ForProvider.Policy
		if al.Spec.ForProvider.Region == nil || region == nil || *al.Spec.ForProvider.Region != *region {
			t.Errorf("the Alias is not in the Key's region")
		}
	}
	if region == nil || !regionPattern.MatchString(*region) {
		t.Fatalf("the Key has no valid region")
	}
	if policy == nil {
		t.Fatalf("the Key has no policy")
	}
	if len(*policy) > maxPolicyBytes || !json.Valid([]byte(*policy)) {
		t.Errorf("policy of %d bytes, valid JSON: %t", len(*policy), json.Valid([]byte(*policy)))
	}
	for _, f := range forceNewKeyFields {
		if _, ok, _ := unstructured.NestedFieldNoCopy(k, "spec", "forProvider", f); ok {
			t.Errorf("the Key sets the force-new field %s", f)
		}
	}
	name, _, _ := unstructured.NestedString(a, "metadata", "annotations", meta.AnnotationKeyExternalName)
	if name == "" {
		t.Errorf("the Alias has no name")
	}
	checkComposedReplicas(t, d, *region, *policy, namespaced)
	checkAdoption(t, req, d)

	obs := req.GetObserved().GetResources()
	for n := range obs {
		if d[n] == nil {
			t.Errorf("observed %s is not desired", n)
		}
	}
	if ok := obs[keyName]; ok != nil {
		ok := ok.GetResource().AsMap()
		if r, _, _ := unstructured.NestedString(ok, "spec", "forProvider", "region"); r != "" && r != *region {
			t.Errorf("the observed Key in %s would be replaced by one in %s", r, *region)
		}
		if isOrphan(ok) && !isOrphan(k) && !warned(rsp, "spec.deletionPolicy: changes from Orphan to Delete") {
			t.Errorf("the observed Key is orphaned, the desired one is not, and no warning says so")
		}
	}
	if oa := obs[aliasName]; oa != nil {
		oa := oa.GetResource().AsMap()
		if r, _, _ := unstructured.NestedString(oa, "spec", "forProvider", "region"); r != "" && r != *region {
			t.Errorf("the observed Alias in %s would be re-created in %s", r, *region)
		}
		on, _, _ := unstructured.NestedString(oa, "metadata", "annotations", meta.AnnotationKeyExternalName)
		if on = strings.TrimPrefix(on, aliasPrefix); on != "" && on != name {
			t.Errorf("the observed Alias %s would be re-created as %s", on, name)
		}
	}
}

// checkAdoption checks that a response never takes over what exists in
// AWS: a new Alias is observed only; an Alias observed only gets no Create or
// Update unless the provider reported it missing or targeting the claim's
// key; a Key that names an existing key (adopted or being adopted) never gets
// Create.
func checkAdoption(t *testing.T, req *fnv1.RunFunctionRequest, d map[string]*fnv1.Resource) {
	t.Helper()
	obs := req.GetObserved().GetResources()
	keyID := str(req.GetObserved().GetComposite().GetResource().AsMap(), "spec", "existingKeyId")
	if k := obs[keyName]; k != nil {
		if id := str(k.GetResource().AsMap(), "status", "atProvider", "keyId"); id != "" {
			keyID = id
		}
	}
	for name, r := range d {
		obj := r.GetResource().AsMap()
		desired := policiesOf(obj)
		switch {
		case name == keyName:
			if a := str(obj, "metadata", "annotations", adoptionAnnotation); a != "" && (len(desired) == 0 || slices.Contains(desired, "Create") || slices.Contains(desired, "*")) {
				t.Errorf("the Key names an existing key (%s) but may create one: management policies %v", a, desired)
			}
		case name == aliasName || strings.HasPrefix(name, replicaAliasNamePrefix):
			o := obs[name]
			if o == nil {
				if !slices.Equal(desired, observePolicies) {
					t.Errorf("%s: a new Alias must be observed only, got management policies %v", name, desired)
				}
				continue
			}
			oa := o.GetResource().AsMap()
			if !slices.Equal(policiesOf(oa), observePolicies) || !writes(desired) {
				continue
			}
			missing := readConditions(oa).Missing()
			target := str(oa, "status", "atProvider", "targetKeyId")
			ours := keyID != "" && target == keyID
			if name != aliasName {
				ours = target != "" && target == str(obs[replicaNamePrefix+strings.TrimPrefix(name, replicaAliasNamePrefix)].GetResource().AsMap(), "status", "atProvider", "keyId")
			}
			if !missing && !ours {
				t.Errorf("%s: observed only, neither reported missing nor targeting the claim's key (it targets %q), yet given %v", name, target, desired)
			}
		}
	}
}

// policiesOf returns a managed resource's management policies.
func policiesOf(obj map[string]any) []string {
	mp, _, _ := unstructured.NestedStringSlice(obj, "spec", "managementPolicies")
	return mp
}

// writes reports whether management policies let the provider create or
// change the external resource.
func writes(mp []string) bool {
	return len(mp) == 0 || slices.ContainsFunc(mp, func(p string) bool { return p == "*" || p == "Create" || p == "Update" })
}

// strict decodes a desired resource into its provider-aws type, refusing a
// field the type does not have.
func strict(t *testing.T, obj map[string]any, into any) {
	t.Helper()
	b, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		t.Errorf("the desired %T is not one provider-aws accepts: %v", into, err)
	}
}

func warned(rsp *fnv1.RunFunctionResponse, prefix string) bool {
	for _, r := range rsp.GetResults() {
		if r.GetSeverity() == fnv1.Severity_SEVERITY_WARNING && strings.HasPrefix(r.GetMessage(), prefix) {
			return true
		}
	}
	return false
}

// checkKeyPolicy checks a key policy is JSON within the KMS limit, or too big
// and refused.
func checkKeyPolicy(t *testing.T, d PolicyDocument) {
	t.Helper()
	p, err := d.Marshal()
	if err != nil {
		t.Fatalf("cannot marshal the policy: %v", err)
	}
	if !json.Valid([]byte(p)) {
		t.Errorf("policy is not valid JSON: %s", p)
	}
	if len(p) > maxPolicyBytes && len(CheckPolicySize(p)) == 0 {
		t.Errorf("policy of %d bytes is not refused", len(p))
	}
}

// asComposed wraps an object as the SDK's composed resource.
func asComposed(obj map[string]any) *composed.Unstructured {
	return &composed.Unstructured{Unstructured: unstructured.Unstructured{Object: obj}}
}
