package main

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	extv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsvalidation "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/validation"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"sigs.k8s.io/yaml"
)

// These tests check that the XRD refuses at `kubectl apply` what the function
// would refuse later, with the real CLI's `crossplane beta validate`, which
// derives the XR's and the claim's CRDs from the XRD as Crossplane does and
// runs the API server's OpenAPI and CEL validation on them. Rules comparing
// an object with its previous version (self == oldSelf) need the old object,
// which the CLI has not: TestXRDTransitions checks those with the API server's
// own CEL library, and TestXRDIsValidCRD checks what only the API server
// checks: that every rule compiles within its cost budget.

// xrd is one of the Configurations' XRDs and the example XRs and claims it
// must accept.
type xrd struct {
	definition string
	// examples are the XR first, then its claim if the XRD offers one.
	examples []string
	// others are more examples that the schema accepts.
	others []string
}

var xrds = map[string]xrd{
	"Legacy": {
		definition: "configuration/legacy/definition.yaml",
		examples:   []string{"example/xr.yaml", "example/claim.yaml"},
		// The guardrails are the function's to apply: the schema accepts
		// these claims.
		others: []string{"example/guardrails/xr-defaults.yaml", "example/guardrails/xr-foreign-account.yaml", "example/guardrails/xr-short-window.yaml", "example/allowed-services/xr.yaml", "example/replicas/xr.yaml"},
	},
	"Namespaced": {
		definition: "configuration/namespaced/definition.yaml",
		examples:   []string{"example/namespaced/xr.yaml"},
		others:     []string{"example/replicas/namespaced-xr.yaml"},
	},
}

// TestXRDAcceptsExamples validates every example XR and claim against its
// XRD.
func TestXRDAcceptsExamples(t *testing.T) {
	cli := crossplaneCLI(t)
	for name, x := range xrds {
		t.Run(name, func(t *testing.T) {
			all := append(slices.Clone(x.examples), x.others...)
			out, err := validate(t, cli, x.definition, strings.Join(all, ","))
			if want := fmt.Sprintf("%d success cases", len(all)); err != nil || !strings.Contains(out, want) {
				t.Fatalf("crossplane beta validate of %v: want %s, got %v\n%s", all, want, err, out)
			}
		})
	}
	// The example of the function's refusal cannot get past the schema.
	if out, err := validate(t, cli, xrds["Legacy"].definition, "example/xr-invalid.yaml"); err == nil {
		t.Errorf("crossplane beta validate of example/xr-invalid.yaml: want refused, got:\n%s", out)
	}
}

// TestXRDsMatch checks that the two XRDs offer the same API: the same
// schema, rule for rule, and the same printer columns.
func TestXRDsMatch(t *testing.T) {
	legacy, namespaced := xrdCRD(t, xrds["Legacy"].definition), xrdCRD(t, xrds["Namespaced"].definition)
	if diff := cmp.Diff(legacy.Spec.Validation, namespaced.Spec.Validation); diff != "" {
		t.Errorf("schemas: -legacy, +namespaced:\n%s", diff)
	}
	if diff := cmp.Diff(legacy.Spec.AdditionalPrinterColumns, namespaced.Spec.AdditionalPrinterColumns); diff != "" {
		t.Errorf("printer columns: -legacy, +namespaced:\n%s", diff)
	}
}

// xrdCase is one claim the schema must refuse: the example's spec with one
// change, and what the refusal must say.
type xrdCase struct {
	reason string
	// edit changes the example's spec.
	edit func(spec map[string]any)
	// field is the field path the message must name; want is a part of it.
	field, want string
}

func set(k string, v any) func(map[string]any) { return func(s map[string]any) { s[k] = v } }

func unset(k string) func(map[string]any) { return func(s map[string]any) { delete(s, k) } }

// xrdCases holds one case per rule the schema expresses.
var xrdCases = map[string]xrdCase{
	"alias-missing":       {"aliasName is required", unset("aliasName"), "spec.aliasName", "Required value"},
	"alias-chars":         {"aliasName has a space", set("aliasName", "vault backend"), "spec.aliasName", "should match"},
	"alias-too-long":      {"aliasName has 251 characters", set("aliasName", strings.Repeat("a", 251)), "spec.aliasName", "should match"},
	"alias-prefix-only":   {"aliasName names no alias", set("aliasName", "alias/"), "spec.aliasName", "after the optional alias/ prefix"},
	"alias-reserved":      {"aliasName is in AWS's aws/ namespace", set("aliasName", "aws/ebs"), "spec.aliasName", "which AWS reserves"},
	"alias-reserved-full": {"aliasName is in aws/ after the prefix", set("aliasName", "alias/aws/ebs"), "spec.aliasName", "which AWS reserves"},
	"description-long":    {"description has 8193 characters", set("description", strings.Repeat("d", 8193)), "spec.description", "Too long"},
	"window-short":        {"deletionWindowInDays below 7", set("deletionWindowInDays", 6), "spec.deletionWindowInDays", "greater than or equal to 7"},
	"window-long":         {"deletionWindowInDays above 30", set("deletionWindowInDays", 31), "spec.deletionWindowInDays", "less than or equal to 30"},
	"window-type":         {"deletionWindowInDays is a string", set("deletionWindowInDays", "thirty"), "spec.deletionWindowInDays", "must be of type integer"},
	"rotation-type":       {"enableKeyRotation is a string", set("enableKeyRotation", "yes"), "spec.enableKeyRotation", "must be of type boolean"},
	"period-short":        {"rotationPeriodInDays below 90", set("rotationPeriodInDays", 89), "spec.rotationPeriodInDays", "greater than or equal to 90"},
	"period-long":         {"rotationPeriodInDays above 2560", set("rotationPeriodInDays", 2561), "spec.rotationPeriodInDays", "less than or equal to 2560"},
	"period-no-rotation": {"rotationPeriodInDays without rotation", func(s map[string]any) {
		s["enableKeyRotation"] = false
		s["rotationPeriodInDays"] = 365
	}, "spec.rotationPeriodInDays", "only with enableKeyRotation"},
	"admins-missing":     {"adminUsers is required", unset("adminUsers"), "spec.adminUsers", "Required value"},
	"admins-empty":       {"adminUsers is empty", set("adminUsers", []any{}), "spec.adminUsers", "at least 1 items"},
	"admins-too-many":    {"adminUsers has 1001 ARNs", set("adminUsers", roles(1001)), "spec.adminUsers", "Too many"},
	"admin-group":        {"an IAM group", set("adminUsers", []any{"arn:aws:iam::123456789012:group/admins"}), "spec.adminUsers[0]", "should match"},
	"admin-wildcard":     {"a wildcard", set("adminUsers", []any{"arn:aws:iam::123456789012:role/*"}), "spec.adminUsers[0]", "should match"},
	"admin-account":      {"an 11-digit account", set("adminUsers", []any{"arn:aws:iam::12345678901:root"}), "spec.adminUsers[0]", "should match"},
	"admin-service":      {"an S3 ARN", set("adminUsers", []any{"arn:aws:s3:::bucket"}), "spec.adminUsers[0]", "should match"},
	"admin-partition":    {"an unknown partition", set("adminUsers", []any{"arn:azure:iam::123456789012:root"}), "spec.adminUsers[0]", "should match"},
	"admin-name-long":    {"a role name of 65 characters", set("adminUsers", []any{"arn:aws:iam::123456789012:role/" + strings.Repeat("r", 65)}), "spec.adminUsers[0]", "should match"},
	"admin-too-long":     {"an ARN of 2049 characters", set("adminUsers", []any{"arn:aws:iam::123456789012:role/" + strings.Repeat("p/", 1010) + "r"}), "spec.adminUsers[0]", "Too long"},
	"users-missing":      {"standardUsers is required", unset("standardUsers"), "spec.standardUsers", "Required value"},
	"users-empty":        {"standardUsers is empty", set("standardUsers", []any{}), "spec.standardUsers", "at least 1 items"},
	"user-bad":           {"a user that is no ARN", set("standardUsers", []any{"vault-server"}), "spec.standardUsers[0]", "should match"},
	"partitions":         {"principals in two partitions", set("standardUsers", []any{"arn:aws-cn:iam::123456789012:role/vault"}), "spec.standardUsers", "share one partition"},
	"region":             {"a region that is no AWS region", set("region", "europe"), "spec.region", "should match"},
	"region-long":        {"a region of 33 characters", set("region", "eu-"+strings.Repeat("w", 28)+"-1"), "spec.region", "Too long"},
	"tags-too-many":      {"48 tags", set("tags", tags(48)), "spec.tags", "Too many"},
	"tag-value-long":     {"a tag value of 257 characters", set("tags", map[string]any{"team": strings.Repeat("v", 257)}), "spec.tags.team", "Too long"},
	"tag-value-chars":    {"a tag value with <", set("tags", map[string]any{"team": "<vault>"}), "spec.tags.team", "should match"},
	"tag-key-empty":      {"an empty tag key", set("tags", map[string]any{"": "x"}), "spec.tags", "1-128 characters"},
	"tag-key-long":       {"a tag key of 129 characters", set("tags", map[string]any{strings.Repeat("k", 129): "x"}), "spec.tags", "1-128 characters"},
	"tag-key-aws":        {"a tag key in AWS's aws: namespace", set("tags", map[string]any{"AWS:owner": "x"}), "spec.tags", "which AWS reserves"},
	"replicas-too-many":  {"11 replica regions", set("replicaRegions", regions(11)), "spec.replicaRegions", "Too many"},
	"replicas-own":       {"the key's own region as a replica region", set("replicaRegions", []any{"us-east-1", "eu-west-1"}), "spec.replicaRegions", "key's own region"},
	"replicas-duplicate": {"a replica region named twice", set("replicaRegions", []any{"us-east-1", "us-east-1"}), "spec.replicaRegions", "each region once"},
	"replica-bad":        {"a replica region that is no AWS region", set("replicaRegions", []any{"europe"}), "spec.replicaRegions[0]", "should match"},
	"services-unknown":   {"a service the function does not know", set("allowedServices", []any{"s3", "s4"}), "spec.allowedServices[1]", "Unsupported value"},
	"services-duplicate": {"a service named twice", set("allowedServices", []any{"s3", "rds", "s3"}), "spec.allowedServices", "each service once"},
	"services-too-many":  {"21 services", set("allowedServices", services(21)), "spec.allowedServices", "Too many"},
	"tag-key-ours":       {"a tag key provider-aws sets", set("tags", map[string]any{"crossplane-name": "x"}), "spec.tags", "set by provider-aws"},
	"provider-config":    {"a providerConfigName that is no object name", set("providerConfigName", "AWS_Prod"), "spec.providerConfigName", "should match"},
	"existing-key-arn":   {"an existingKeyId that is an ARN", set("existingKeyId", "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"), "spec.existingKeyId", "should match"},
	"existing-key-alias": {"an existingKeyId that is an alias", set("existingKeyId", "alias/vault-backend"), "spec.existingKeyId", "should match"},
	"policy":             {"an unknown deletionPolicy", set("deletionPolicy", "Keep"), "spec.deletionPolicy", "Unsupported value"},
	"unknown-field":      {"a misspelt field", set("adminUser", []any{"arn:aws:iam::123456789012:root"}), "spec.adminUser", "unknown field"},
}

func roles(n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = fmt.Sprintf("arn:aws:iam::123456789012:role/r%d", i)
	}
	return out
}

// regions returns n distinct AWS regions, none the examples' eu-west-1.
func regions(n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = fmt.Sprintf("us-test-%d", i+1)
	}
	return out
}

// services returns n services the function knows, repeating them once
// they run out.
func services(n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = viaServices[i%len(viaServices)]
	}
	return out
}

func tags(n int) map[string]any {
	out := make(map[string]any, n)
	for i := range n {
		out[fmt.Sprintf("tag%d", i)] = "v"
	}
	return out
}

// TestXRDRefusesInvalid validates each case, as an XR and as a claim, in one
// run of the CLI per XRD, and checks that each is refused for its own field
// only.
func TestXRDRefusesInvalid(t *testing.T) {
	cli := crossplaneCLI(t)
	// "[x] <kind of check> error <GVK>, <name> : <field error>"
	line := regexp.MustCompile(`(?m)^\[x\] .* error [\w.]+/v1alpha1, Kind=(\w+), ([\w-]+) : (.*)$`)
	for flavour, x := range xrds {
		t.Run(flavour, func(t *testing.T) {
			var docs, kinds []string
			for _, example := range x.examples {
				for _, name := range slices.Sorted(maps.Keys(xrdCases)) {
					docs = append(docs, editedExample(t, example, name, xrdCases[name].edit))
				}
				kinds = append(kinds, readObject(t, example).GetKind())
			}
			resources := filepath.Join(t.TempDir(), "invalid.yaml")
			if err := os.WriteFile(resources, []byte(strings.Join(docs, "---\n")), 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := validate(t, cli, x.definition, resources)
			if err == nil {
				t.Fatalf("crossplane beta validate accepted every invalid claim:\n%s", out)
			}
			got := map[string][]string{}
			for _, m := range line.FindAllStringSubmatch(out, -1) {
				got[m[1]+"/"+m[2]] = append(got[m[1]+"/"+m[2]], m[3])
			}
			for _, kind := range kinds {
				for name, tc := range xrdCases {
					errs := got[kind+"/"+name]
					if len(errs) == 0 {
						t.Errorf("%s %s (%s): accepted, want refused naming %s", kind, name, tc.reason, tc.field)
						continue
					}
					for _, e := range errs {
						if !strings.HasPrefix(e, tc.field) {
							t.Errorf("%s %s (%s): refused for %q, want only %s", kind, name, tc.reason, e, tc.field)
						}
					}
					if !slices.ContainsFunc(errs, func(e string) bool { return strings.Contains(e, tc.want) }) {
						t.Errorf("%s %s (%s): messages %q, want one with %q", kind, name, tc.reason, errs, tc.want)
					}
				}
			}
		})
	}
}

// readObject reads the one object of an example file.
func readObject(t *testing.T, file string) *unstructured.Unstructured {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(b, &u.Object); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return u
}

// editedExample returns the example file's object renamed to name, with its
// spec edited.
func editedExample(t *testing.T, file, name string, edit func(map[string]any)) string {
	t.Helper()
	u := readObject(t, file)
	u.SetName(name)
	spec, _, err := unstructured.NestedMap(u.Object, "spec")
	if err != nil {
		t.Fatal(err)
	}
	edit(spec)
	u.Object["spec"] = spec
	out, err := yaml.Marshal(u.Object)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// xrdCRD returns the CRD of the XRD's composite resource as the API server
// sees it: the XRD's schema, which Crossplane copies into the CRDs it derives
// (adding its own fields, which have no rules).
func xrdCRD(t *testing.T, file string) *apiextensions.CustomResourceDefinition {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	xrd := struct {
		Spec struct {
			Scope    string                              `json:"scope"`
			Group    string                              `json:"group"`
			Names    extv1.CustomResourceDefinitionNames `json:"names"`
			Versions []struct {
				Name                     string                                 `json:"name"`
				AdditionalPrinterColumns []extv1.CustomResourceColumnDefinition `json:"additionalPrinterColumns"`
				Schema                   extv1.CustomResourceValidation         `json:"schema"`
			} `json:"versions"`
		} `json:"spec"`
	}{}
	if err := yaml.Unmarshal(b, &xrd); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	// Legacy XRs are cluster scoped; a v2 XRD says Namespaced or Cluster.
	scope := extv1.ClusterScoped
	if xrd.Spec.Scope == "Namespaced" {
		scope = extv1.NamespaceScoped
	}
	names := xrd.Spec.Names
	names.Singular = strings.ToLower(names.Kind)
	names.ListKind = names.Kind + "List"
	crd := &extv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: names.Plural + "." + xrd.Spec.Group},
		Spec: extv1.CustomResourceDefinitionSpec{
			Group: xrd.Spec.Group,
			Names: names,
			Scope: scope,
		},
	}
	for i, v := range xrd.Spec.Versions {
		s := v.Schema
		crd.Spec.Versions = append(crd.Spec.Versions, extv1.CustomResourceDefinitionVersion{
			Name:                     v.Name,
			Served:                   true,
			Storage:                  i == 0,
			Schema:                   &s,
			Subresources:             &extv1.CustomResourceSubresources{Status: &extv1.CustomResourceSubresourceStatus{}},
			AdditionalPrinterColumns: v.AdditionalPrinterColumns,
		})
	}
	internal := &apiextensions.CustomResourceDefinition{}
	if err := extv1.Convert_v1_CustomResourceDefinition_To_apiextensions_CustomResourceDefinition(crd, internal, nil); err != nil {
		t.Fatal(err)
	}
	return internal
}

// TestXRDServicesAreTheFunctions checks that each XRD offers exactly the
// services the function knows for allowedServices.
func TestXRDServicesAreTheFunctions(t *testing.T) {
	for name, x := range xrds {
		crd := xrdCRD(t, x.definition)
		items := crd.Spec.Validation.OpenAPIV3Schema.Properties["spec"].Properties["allowedServices"].Items
		if items == nil || items.Schema == nil {
			t.Fatalf("%s: spec.allowedServices has no items schema", name)
		}
		var enum []string
		for _, v := range items.Schema.Enum {
			enum = append(enum, fmt.Sprint(v))
		}
		if diff := cmp.Diff(viaServices, enum); diff != "" {
			t.Errorf("%s: spec.allowedServices enum differs from the function's services (-function, +XRD):\n%s", name, diff)
		}
	}
}

// TestXRDIsValidCRD runs the API server's validation of a CRD on the XRD's
// schema: structural, every CEL rule compiles and fits its cost budget,
// printer columns parse. A rule that fails here would make Crossplane's CRD,
// and so the XRD, fail to establish.
func TestXRDIsValidCRD(t *testing.T) {
	for name, x := range xrds {
		t.Run(name, func(t *testing.T) {
			crd := xrdCRD(t, x.definition)
			crd.Status.StoredVersions = []string{crd.Spec.Versions[0].Name}
			if errs := apiextensionsvalidation.ValidateCustomResourceDefinition(context.Background(), crd); len(errs) > 0 {
				t.Errorf("the API server would refuse the CRD of %s:\n%s", x.definition, errs.ToAggregate())
			}
		})
	}
}

// TestXRDTransitions checks the rules on updates: the alias and the region
// are immutable, other fields may change.
func TestXRDTransitions(t *testing.T) {
	for flavour, x := range xrds {
		t.Run(flavour, func(t *testing.T) { testTransitions(t, x) })
	}
}

func testTransitions(t *testing.T, x xrd) {
	crd := xrdCRD(t, x.definition)
	// The conversion to the internal type moves a schema that every version
	// shares to the top.
	s, err := structuralschema.NewStructural(crd.Spec.Validation.OpenAPIV3Schema)
	if err != nil {
		t.Fatal(err)
	}
	example := func(edit func(map[string]any)) map[string]any {
		u := map[string]any{}
		if err := yaml.Unmarshal([]byte(editedExample(t, x.examples[0], "vault-backend", edit)), &u); err != nil {
			t.Fatal(err)
		}
		return u
	}
	keep := func(map[string]any) {}

	cases := map[string]struct {
		reason   string
		old, new map[string]any
		want     []string
	}{
		"AliasRenamed": {
			reason: "A new alias name would re-create the Alias.",
			old:    example(keep),
			new:    example(set("aliasName", "vault-backend-2")),
			want:   []string{"spec.aliasName: Invalid value: \"vault-backend-2\": is immutable; a new name would re-create the alias (create a new claim instead)"},
		},
		"RegionChanged": {
			reason: "A new region would replace the Key.",
			old:    example(keep),
			new:    example(set("region", "eu-central-1")),
			want:   []string{"spec.region: Invalid value: \"eu-central-1\": is immutable; a new region would replace the key and schedule the old one for deletion"},
		},
		"OtherFieldsChanged": {
			reason: "Every other field may change: it updates the Key in place.",
			old:    example(keep),
			new: example(func(s map[string]any) {
				s["aliasName"] = "vault-backend"
				s["description"] = "Vault's key"
				s["deletionWindowInDays"] = 7
				s["enableKeyRotation"] = false
				s["adminUsers"] = []any{"arn:aws:iam::123456789012:role/platform-admin", "arn:aws:iam::123456789012:role/break-glass"}
				s["tags"] = map[string]any{"team": "vault"}
				s["deletionPolicy"] = "Orphan"
			}),
		},
		"ExistingKeyIdChanged": {
			reason: "A claim adopts the key it was created with.",
			old:    example(set("existingKeyId", "1234abcd-12ab-34cd-56ef-1234567890ab")),
			new:    example(set("existingKeyId", "mrk-1234abcd12ab34cd56ef1234567890ab")),
			want:   []string{"spec.existingKeyId: Invalid value: \"mrk-1234abcd12ab34cd56ef1234567890ab\": existingKeyId is immutable; create a new claim to adopt another key"},
		},
		"ExistingKeyIdAdded": {
			reason: "A claim whose key was created for it cannot adopt another.",
			old:    example(keep),
			new:    example(set("existingKeyId", "1234abcd-12ab-34cd-56ef-1234567890ab")),
			want:   []string{"spec.existingKeyId: Invalid value: existingKeyId can be set only when the claim is created, and never removed"},
		},
		"ExistingKeyIdRemoved": {
			reason: "An adopted key stays adopted.",
			old:    example(set("existingKeyId", "1234abcd-12ab-34cd-56ef-1234567890ab")),
			new:    example(keep),
			want:   []string{"spec.existingKeyId: Invalid value: existingKeyId can be set only when the claim is created, and never removed"},
		},
		"ExistingKeyIdKept": {
			reason: "An adopted key's claim may change every other field.",
			old:    example(set("existingKeyId", "1234abcd-12ab-34cd-56ef-1234567890ab")),
			new: example(func(s map[string]any) {
				s["existingKeyId"] = "1234abcd-12ab-34cd-56ef-1234567890ab"
				s["description"] = "Vault's key"
			}),
		},
		"RegionFirstSet": {
			reason: "A region set where the platform's default applied before is the function's to judge against the observed Key.",
			old:    example(unset("region")),
			new:    example(keep),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			v := cel.NewValidator(s, true, celconfig.PerCallLimit)
			errs, _ := v.Validate(context.Background(), nil, s, tc.new, tc.old, celconfig.RuntimeCELCostBudget)
			got := make([]string, 0, len(errs))
			for _, e := range errs {
				got = append(got, e.Error())
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("%s\nValidate(new, old): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}
