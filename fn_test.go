package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/structpb"
	"sigs.k8s.io/yaml"

	xplogging "github.com/crossplane/crossplane-runtime/v2/pkg/logging"

	"github.com/crossplane/function-sdk-go/logging"
	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// Fixtures shared by the tests: the Terraform module's example claim, and the
// Key and Alias as provider-aws reports them once they exist.
const (
	exampleSpec = `
    aliasName: vault-backend
    description: KMS key for Vault backend encryption
    deletionWindowInDays: 30
    enableKeyRotation: true
    region: eu-west-1
    adminUsers: [arn:aws:iam::123456789012:role/platform-admin]
    standardUsers: [arn:aws:iam::123456789012:role/vault-server]`

	observedKey = `
      key:
        resource:
          apiVersion: kms.aws.upbound.io/v1beta1
          kind: Key
          metadata:
            name: vault-backend-k
            annotations: {crossplane.io/external-name: 1234abcd-12ab-34cd-56ef-1234567890ab}
          spec:
            deletionPolicy: Delete
            forProvider: {region: eu-west-1}
          status:
            atProvider:
              arn: arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab
              keyId: 1234abcd-12ab-34cd-56ef-1234567890ab
              enableKeyRotation: true
              deletionWindowInDays: 30
            conditions:
            - {type: Ready, status: "True", reason: Available, lastTransitionTime: "2026-11-27T12:00:00Z"}
            - {type: Synced, status: "True", reason: ReconcileSuccess, lastTransitionTime: "2026-11-27T12:00:00Z"}`

	observedAlias = `
      alias:
        resource:
          apiVersion: kms.aws.upbound.io/v1beta1
          kind: Alias
          metadata:
            name: vault-backend-a
            annotations: {crossplane.io/external-name: vault-backend}
          spec:
            forProvider: {region: eu-west-1, targetKeyId: 1234abcd-12ab-34cd-56ef-1234567890ab}
          status:
            atProvider: {arn: "arn:aws:kms:eu-west-1:123456789012:alias/vault-backend"}
            conditions:
            - {type: Ready, status: "True", reason: Available, lastTransitionTime: "2026-11-27T12:00:00Z"}
            - {type: Synced, status: "True", reason: ReconcileSuccess, lastTransitionTime: "2026-11-27T12:00:00Z"}`
)

// Fixtures of a multi-region key: the example claim with two replica
// regions (not in order), and its Key, replicas and aliases as provider-aws
// reports them once they exist.
const (
	replicaSpec = exampleSpec + `
    replicaRegions: [us-east-1, eu-central-1]`

	mrkID = "mrk-1234abcd12ab34cd56ef1234567890ab"
)

// observedMultiRegionKey is the example Key as a multi-region key, with
// its Alias.
var observedMultiRegionKey = strings.NewReplacer(
	"1234abcd-12ab-34cd-56ef-1234567890ab", mrkID,
	"forProvider: {region: eu-west-1}", "forProvider: {region: eu-west-1, multiRegion: true}",
).Replace(observedKey) + strings.ReplaceAll(observedAlias, "1234abcd-12ab-34cd-56ef-1234567890ab", mrkID)

// observedReplica is the example key's replica in a region, with the alias
// there.
func observedReplica(region string) string {
	return observedReplicaKey(region) + strings.ReplaceAll(`
      alias-REGION:
        resource:
          apiVersion: kms.aws.upbound.io/v1beta1
          kind: Alias
          metadata:
            name: vault-backend-a-REGION
            annotations: {crossplane.io/external-name: vault-backend}
          spec:
            forProvider: {region: REGION, targetKeyId: `+mrkID+`}
          status:
            atProvider: {arn: "arn:aws:kms:REGION:123456789012:alias/vault-backend"}
            conditions:
            - {type: Ready, status: "True", reason: Available, lastTransitionTime: "2026-11-27T12:00:00Z"}
            - {type: Synced, status: "True", reason: ReconcileSuccess, lastTransitionTime: "2026-11-27T12:00:00Z"}`, "REGION", region)
}

// replicaAtProvider is the status.atProvider of the example key's replica
// in a region (REGION), in the shape provider-aws v2.5.0 reports it (see
// testdata/provider-replicas/ready/).
const replicaAtProvider = `{arn: "arn:aws:kms:REGION:123456789012:key/` + mrkID + `", id: ` + mrkID + `, keyId: ` + mrkID + `,
              primaryKeyArn: "arn:aws:kms:eu-west-1:123456789012:key/` + mrkID + `", region: REGION, enabled: true,
              description: KMS key for Vault backend encryption, deletionWindowInDays: 30, keyRotationEnabled: true,
              keySpec: SYMMETRIC_DEFAULT, keyUsage: ENCRYPT_DECRYPT, bypassPolicyLockoutSafetyCheck: false}`

// observedReplicaKey is the example key's replica in a region.
func observedReplicaKey(region string) string {
	return strings.ReplaceAll(`
      replica-REGION:
        resource:
          apiVersion: kms.aws.upbound.io/v1beta1
          kind: ReplicaKey
          metadata: {name: vault-backend-r-REGION}
          spec:
            deletionPolicy: Delete
            forProvider: {region: REGION, primaryKeyArn: "arn:aws:kms:eu-west-1:123456789012:key/`+mrkID+`"}
          status:
            atProvider: `+replicaAtProvider+`
            conditions:
            - {type: Ready, status: "True", reason: Available, lastTransitionTime: "2026-11-27T12:00:00Z"}
            - {type: Synced, status: "True", reason: ReconcileSuccess, lastTransitionTime: "2026-11-27T12:00:00Z"}`, "REGION", region)
}

// creatingReplicaKey is the example key's replica in a region before the
// provider has reported its ARN.
func creatingReplicaKey(region string) string {
	return strings.NewReplacer(
		strings.ReplaceAll(replicaAtProvider, "REGION", region), "{}",
		`{type: Ready, status: "True", reason: Available,`, `{type: Ready, status: "False", reason: Creating,`,
	).Replace(observedReplicaKey(region))
}

// namespacedReq builds a request for the example's namespaced XR, with
// observed resources written as cluster-scoped ones, moved to the
// namespaced group and the XR's namespace.
func namespacedReq(t *testing.T, spec, observed string) *fnv1.RunFunctionRequest {
	t.Helper()
	observed = strings.NewReplacer(
		"kms.aws.upbound.io/v1beta1", "kms.aws.m.upbound.io/v1beta1",
		"metadata:\n", "metadata:\n            namespace: vault\n",
	).Replace(deletionPolicyLine.ReplaceAllString(observed, ""))
	return xrRequest(t, "kms.m.example.org/v1alpha1", "KmsBackend", "{name: vault-backend, namespace: vault}", spec, observed, "")
}

// deletionPolicyLine matches a line that sets a deletion policy, which
// namespaced managed resources do not have.
var deletionPolicyLine = regexp.MustCompile(`(?m)^ *deletionPolicy: Delete\n`)

// crossplaneV2 makes a request what Crossplane v2.4 sends with the
// function's last call of a reconcile when no other Alias carries the
// claim's alias id: its capabilities, and its answer to the function's
// requirement.
func crossplaneV2(r *fnv1.RunFunctionRequest) *fnv1.RunFunctionRequest {
	if r.Meta == nil {
		r.Meta = &fnv1.RequestMeta{}
	}
	r.Meta.Capabilities = []fnv1.Capability{
		fnv1.Capability_CAPABILITY_CAPABILITIES,
		fnv1.Capability_CAPABILITY_REQUIRED_RESOURCES,
		fnv1.Capability_CAPABILITY_CREDENTIALS,
		fnv1.Capability_CAPABILITY_CONDITIONS,
		fnv1.Capability_CAPABILITY_REQUIRED_SCHEMAS,
	}
	// The fixtures' replica regions are answered too.
	r.RequiredResources = map[string]*fnv1.Resources{
		aliasesRequirement: {}, "aliases-us-east-1": {}, "aliases-eu-central-1": {},
	}
	return r
}

// deletedUserPolicy is the example claim's key policy as KMS returns it
// once the role vault-server was deleted: its unique id in its place.
const deletedUserPolicy = `{"Version":"2012-10-17","Statement":[` +
	`{"Sid":"EnableIAMUserPermissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"kms:*","Resource":"*"},` +
	`{"Sid":"KeyAdministrators","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:role/platform-admin"},"Action":"kms:*","Resource":"*"},` +
	`{"Sid":"KeyUsers","Effect":"Allow","Principal":{"AWS":"AROAZ3EXAMPLE4UNIQUE7"},"Action":["kms:Decrypt","kms:DescribeKey","kms:Encrypt","kms:GenerateDataKey*","kms:ReEncrypt*"],"Resource":"*"}]}`

// withAliases sets Crossplane's answer to the alias requirement: one Alias
// for the example claim's alias, composed for the XR named composite and
// created at 2026-11-20T09:00:00Z.
func withAliases(t *testing.T, r *fnv1.RunFunctionRequest, composite string) *fnv1.RunFunctionRequest {
	t.Helper()
	c := Backend{AliasName: "vault-backend", Region: "eu-west-1", ProviderConfigName: "default"}
	other := reqFromYAML(t, `
requiredResources:
  `+aliasesRequirement+`:
    items:
    - resource:
        apiVersion: kms.aws.upbound.io/v1beta1
        kind: Alias
        metadata:
          name: `+composite+`-3f9a1c
          creationTimestamp: "2026-11-20T09:00:00Z"
          labels: {crossplane.io/composite: `+composite+`, `+aliasIDLabel+`: `+c.AliasID()+`}
          annotations: {crossplane.io/external-name: vault-backend}
        spec:
          forProvider: {region: eu-west-1, targetKeyId: 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0}`)
	r.RequiredResources = other.GetRequiredResources()
	return r
}

// req builds a RunFunctionRequest from YAML: an XR's spec, the observed
// composed resources (indented under "resources:") and an optional input,
// with Crossplane's answer that no other Alias has the claim's alias.
func req(t testing.TB, spec, observed, input string) *fnv1.RunFunctionRequest {
	t.Helper()
	return xrRequest(t, "kms.example.org/v1alpha1", "XKmsBackend", "{name: vault-backend}", spec, observed, input)
}

// xrRequest builds a RunFunctionRequest for an XR of this apiVersion, kind
// and metadata (a YAML flow mapping), with its spec, observed composed
// resources and input as req takes them.
func xrRequest(t testing.TB, apiVersion, kind, metadata, spec, observed, input string) *fnv1.RunFunctionRequest {
	t.Helper()
	y := `
observed:
  composite:
    resource:
      apiVersion: ` + apiVersion + `
      kind: ` + kind + `
      metadata: ` + metadata + `
      spec:` + indent(spec) + `
  resources:` + observed + "\n"
	if observed == "" {
		y = strings.Replace(y, "  resources:\n", "", 1)
	}
	if input != "" {
		y += "input:" + input + "\n"
	}
	return crossplaneV2(reqFromYAML(t, y))
}

// indent moves a spec written at four spaces under an XR's spec.
func indent(spec string) string { return strings.ReplaceAll(spec, "\n", "\n    ") }

func reqFromYAML(t testing.TB, y string) *fnv1.RunFunctionRequest {
	t.Helper()
	j, err := yaml.YAMLToJSON([]byte(y))
	if err != nil {
		t.Fatalf("cannot convert request YAML: %v\n%s", err, y)
	}
	r := &fnv1.RunFunctionRequest{}
	if err := protojson.Unmarshal(j, r); err != nil {
		t.Fatalf("cannot parse request: %v\n%s", err, j)
	}
	return r
}

// golden compares a message with the golden file at path, or rewrites the
// file with -update. The file holds indented JSON with sorted keys, so a
// reviewer reads output changes as plain diffs.
func golden(t *testing.T, path string, got *fnv1.RunFunctionResponse) {
	t.Helper()
	if *update {
		j, err := protojson.Marshal(got)
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if err := json.Unmarshal(j, &v); err != nil {
			t.Fatal(err)
		}
		out, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(out, '\n'), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("cannot read golden file (run go test ./... -update): %v", err)
	}
	want := &fnv1.RunFunctionResponse{}
	if err := protojson.Unmarshal(b, want); err != nil {
		t.Fatalf("cannot parse golden file %s: %v", path, err)
	}
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("response differs from %s (-want, +got):\n%s", path, diff)
	}
}

func TestRunFunction(t *testing.T) {
	type args struct {
		req *fnv1.RunFunctionRequest
	}
	cases := map[string]struct {
		reason string
		args   args
	}{
		"NewClaim": {
			reason: "A valid claim with nothing observed yet composes a Key with its policy and an Alias that selects the Key; only the alias name is known for status.",
			args:   args{req: req(t, exampleSpec, "", "")},
		},
		"ObservedKeyAndAlias": {
			reason: "Once the provider reports the Key and Alias, their ids flow into status and connection details, the Alias names the key id, and both are ready.",
			args:   args{req: req(t, exampleSpec, observedKey+observedAlias, "")},
		},
		"ObservedKeyWithoutStatus": {
			reason: "A Key that exists but has no atProvider yet gives no status fields and is not ready.",
			args: args{req: req(t, exampleSpec, `
      key:
        resource:
          apiVersion: kms.aws.upbound.io/v1beta1
          kind: Key
          metadata: {name: vault-backend-k}
          spec: {forProvider: {region: eu-west-1}}`, "")},
		},
		"Defaults": {
			reason: "A claim with only the required fields gets the default description, window, rotation, provider config and deletion policy.",
			args: args{req: req(t, `
    aliasName: alias/app
    region: us-east-1
    adminUsers: [arn:aws:iam::123456789012:root]
    standardUsers: [arn:aws:iam::123456789012:user/app]`, "", "")},
		},
		"EveryOptionalField": {
			reason: "Rotation period, tags, provider config and Orphan are passed to both resources.",
			args: args{req: req(t, exampleSpec+`
    rotationPeriodInDays: 180
    tags: {team: payments, cost-center: "42"}
    providerConfigName: aws-prod
    deletionPolicy: Orphan`, "", "")},
		},
		"DuplicatesRemoved": {
			reason: "Duplicate ARNs are removed with a warning each; an ARN may be admin and user at once.",
			args: args{req: req(t, `
    aliasName: app
    region: eu-west-1
    adminUsers: [arn:aws:iam::123456789012:role/b, arn:aws:iam::123456789012:role/a, arn:aws:iam::123456789012:role/b]
    standardUsers: [arn:aws:iam::123456789012:role/a, arn:aws:iam::123456789012:role/a]`, "", "")},
		},
		"InvalidClaim": {
			reason: "Every problem is named with its field in one Fatal result, a SpecValid=False condition and a warning; nothing is composed.",
			args: args{req: req(t, `
    aliasName: aws/reserved
    deletionWindowInDays: 3
    enableKeyRotation: false
    rotationPeriodInDays: 365
    region: europe
    adminUsers: [arn:aws:iam::123456789012:group/admins]
    standardUsers: []
    deletionPolicy: Keep`, "", "")},
		},
		"WrongTypes": {
			reason: "Fields of the wrong type are named with the type they must have.",
			args: args{req: req(t, `
    aliasName: 42
    deletionWindowInDays: "30"
    enableKeyRotation: "yes"
    region: eu-west-1
    adminUsers: arn:aws:iam::123456789012:root
    standardUsers: [7]
    tags: {a: 1}`, "", "")},
		},
		"RegionChangeRefused": {
			reason: "Moving an existing Key to another region would replace it: refused, and the observed resources stay desired as they were.",
			args:   args{req: req(t, strings.Replace(exampleSpec, "eu-west-1", "us-east-1", 1), observedKey+observedAlias, "")},
		},
		"AliasRenameRefused": {
			reason: "Renaming an existing Alias would delete it: refused.",
			args:   args{req: req(t, strings.Replace(exampleSpec, "aliasName: vault-backend", "aliasName: vault-backend-2", 1), observedKey+observedAlias, "")},
		},
		"AliasRegionChangeRefused": {
			reason: "An Alias observed before its Key would be re-created in another region: refused.",
			args:   args{req: req(t, strings.Replace(exampleSpec, "eu-west-1", "us-east-1", 1), observedAlias, "")},
		},
		"LateInitializedFieldsLeftAlone": {
			reason: "The force-new fields the provider late-initialized on the Key are not desired, so the function never changes them.",
			args: args{req: req(t, exampleSpec, strings.Replace(observedKey, "forProvider: {region: eu-west-1}",
				"forProvider: {region: eu-west-1, customerMasterKeySpec: SYMMETRIC_DEFAULT, keyUsage: ENCRYPT_DECRYPT, multiRegion: false}", 1)+observedAlias, "")},
		},
		"OrphanToDeleteWarnedNamespaced": {
			reason: "A namespaced Key orphaned by its management policies, now to be deleted with its XR, gets the warning too.",
			args: args{req: crossplaneV2(reqFromYAML(t, `
observed:
  composite:
    resource:
      apiVersion: kms.m.example.org/v1alpha1
      kind: KmsBackend
      metadata: {name: vault-backend, namespace: vault}
      spec:`+indent(exampleSpec)+`
  resources:
    key:
      resource:
        apiVersion: kms.aws.m.upbound.io/v1beta1
        kind: Key
        metadata: {name: vault-backend-k, namespace: vault}
        spec:
          managementPolicies: [Observe, Create, Update, LateInitialize]
          forProvider: {region: eu-west-1}`))},
		},
		"OrphanToDeleteWarned": {
			reason: "Turning an orphaned key into one deleted with its claim is allowed but said in a warning.",
			args:   args{req: req(t, exampleSpec, strings.Replace(observedKey, "deletionPolicy: Delete", "deletionPolicy: Orphan", 1), "")},
		},
		"InputDefaultsAndGuardrails": {
			reason: "The platform's input fills the region, provider config, window and tags, and its account is the policy's root.",
			args: args{req: req(t, `
    aliasName: app
    adminUsers: [arn:aws:iam::111111111111:role/admin, arn:aws:iam::222222222222:role/admin]
    standardUsers: [arn:aws:iam::222222222222:role/app]
    tags: {team: payments, env: prod}`, "", `
  apiVersion: kmsbackend.fn.example.org/v1beta1
  kind: Input
  defaults:
    region: eu-central-1
    providerConfigName: aws-platform
    deletionWindowInDays: 14
    enableKeyRotation: false
    tags: {env: dev, managed-by: crossplane}
  policy: {accountId: "111111111111"}
  guardrails:
    allowedAccountIds: ["111111111111", "222222222222"]
    minDeletionWindowInDays: 14`)},
		},
		"GuardrailsRefuse": {
			reason: "An ARN outside the allowed accounts and a window under the platform's minimum are refused, naming the ARN.",
			args: args{req: req(t, `
    aliasName: app
    region: eu-west-1
    deletionWindowInDays: 7
    adminUsers: [arn:aws:iam::333333333333:role/admin]
    standardUsers: [arn:aws:iam::111111111111:role/app]`, "", `
  apiVersion: kmsbackend.fn.example.org/v1beta1
  kind: Input
  guardrails:
    allowedAccountIds: ["111111111111"]
    minDeletionWindowInDays: 14`)},
		},
		"InvalidInput": {
			reason: "A bad input is the platform team's mistake: the Fatal result names the input fields.",
			args: args{req: req(t, exampleSpec, "", `
  apiVersion: kmsbackend.fn.example.org/v1beta1
  kind: Input
  defaults: {region: mars-1, deletionWindowInDays: 5}
  policy: {accountId: "12345"}`)},
		},
		"InputLockout": {
			reason: "An input that drops the root statement without naming provider-aws' principal would let a policy lock the key: refused, naming the input field.",
			args: args{req: req(t, exampleSpec, "", `
  apiVersion: kmsbackend.fn.example.org/v1beta1
  kind: Input
  policy: {includeAccountRoot: false}`)},
		},
		"InputWithoutRoot": {
			reason: "Without the root statement, provider-aws' principal is among the administrators, who have AWS's key-administrator actions.",
			args: args{req: req(t, exampleSpec, "", `
  apiVersion: kmsbackend.fn.example.org/v1beta1
  kind: Input
  policy: {includeAccountRoot: false, providerPrincipalArn: "arn:aws:iam::123456789012:role/crossplane-provider-aws", administratorActions: KeyAdministration}`)},
		},
		"UnknownInputField": {
			reason: "An input field the function does not know is refused rather than ignored.",
			args: args{req: req(t, exampleSpec, "", `
  apiVersion: kmsbackend.fn.example.org/v1beta1
  kind: Input
  default: {region: eu-west-1}`)},
		},
		"Namespaced": {
			reason: "A namespaced XR gets namespaced kms.aws.m.upbound.io resources in its namespace, with management policies for Orphan and no connection details.",
			args: args{req: crossplaneV2(reqFromYAML(t, `
observed:
  composite:
    resource:
      apiVersion: kms.m.example.org/v1alpha1
      kind: KmsBackend
      metadata: {name: vault-backend, namespace: vault}
      spec:`+indent(exampleSpec+`
    deletionPolicy: Orphan`)))},
		},
		"AliasesNotYetAnswered": {
			reason: "Until Crossplane answers which Aliases carry the claim's alias id, the function asks for them and composes only the Key.",
			args: args{req: func() *fnv1.RunFunctionRequest {
				r := req(t, exampleSpec, "", "")
				r.RequiredResources = nil
				return r
			}()},
		},
		"AskedInExtraResources": {
			reason: "A Crossplane that advertises no capabilities (before v2.2, v1 included) is asked in extra_resources, and its answer there is read.",
			args: args{req: func() *fnv1.RunFunctionRequest {
				r := req(t, exampleSpec, "", "")
				r.Meta, r.RequiredResources = nil, nil
				r.ExtraResources = map[string]*fnv1.Resources{aliasesRequirement: {}} //nolint:staticcheck // What Crossplane v1 sends.
				return r
			}()},
		},
		"ExistingAliasKeptBeforeAnswer": {
			reason: "An Alias that exists stays desired while Crossplane has not answered: leaving it out would delete it.",
			args: args{req: func() *fnv1.RunFunctionRequest {
				r := req(t, exampleSpec, observedKey+observedAlias, "")
				r.RequiredResources = nil
				return r
			}()},
		},
		"OwnAliasListed": {
			reason: "The XR's own Alias carries the label too: it is not another owner.",
			args:   args{req: withAliases(t, req(t, exampleSpec, observedKey+observedAlias, ""), "vault-backend")},
		},
		"AliasTaken": {
			reason: "A claim whose alias another XR's Alias manages is refused, naming spec.aliasName and not the other claim; nothing is composed.",
			args:   args{req: withAliases(t, req(t, exampleSpec, "", ""), "payments-x7k2p")},
		},
		"AliasTakenByYoungerAlias": {
			reason: "Of two Aliases composed before either saw the other, the older one's XR keeps the alias.",
			args: args{req: withAliases(t, req(t, exampleSpec, observedKey+strings.Replace(observedAlias,
				"name: vault-backend-a\n", "name: vault-backend-a\n            creationTimestamp: \"2026-11-20T08:59:59Z\"\n", 1), ""),
				"payments-x7k2p")},
		},
		"AliasTakenByOlderAlias": {
			reason: "Of two Aliases composed before either saw the other, the younger one's XR is refused.",
			args: args{req: withAliases(t, req(t, exampleSpec, observedKey+strings.Replace(observedAlias,
				"name: vault-backend-a\n", "name: vault-backend-a\n            creationTimestamp: \"2026-11-20T09:00:01Z\"\n", 1), ""),
				"payments-x7k2p")},
		},
		"DeletedPrincipal": {
			reason: "A key policy in which KMS replaced a user's ARN with its unique id gets a warning naming the claim's field.",
			args: args{req: req(t, exampleSpec, strings.Replace(observedKey, "deletionWindowInDays: 30\n",
				"deletionWindowInDays: 30\n              policy: '"+deletedUserPolicy+"'\n", 1)+observedAlias, "")},
		},
		"ReplicasNew": {
			reason: "A claim with replica regions composes a multi-region Key and, per region, a ReplicaKey that selects it; the aliases there wait for the replicas' key id.",
			args:   args{req: req(t, replicaSpec, "", "")},
		},
		"ReplicasCreating": {
			reason: "Once the Key's ARN is known, the replicas name it; a replica whose key id is known gets its alias, and the XR waits for the other.",
			args:   args{req: req(t, replicaSpec, observedMultiRegionKey+observedReplicaKey("eu-central-1")+creatingReplicaKey("us-east-1"), "")},
		},
		"ReplicasObserved": {
			reason: "With every resource reported, the status lists each replica's key and alias ARN, the aliases name the key id, and the key is available.",
			args:   args{req: req(t, replicaSpec, observedMultiRegionKey+observedReplica("eu-central-1")+observedReplica("us-east-1"), "")},
		},
		"ReplicasNamespaced": {
			reason: "A namespaced XR gets namespaced ReplicaKeys and Aliases in its namespace.",
			args:   args{req: namespacedReq(t, replicaSpec, "")},
		},
		"ReplicasNamespacedObserved": {
			reason: "A namespaced XR's replicas and their aliases report into its status.",
			args:   args{req: namespacedReq(t, replicaSpec, observedMultiRegionKey+observedReplica("eu-central-1")+observedReplica("us-east-1"))},
		},
		"ReplicasAddedRefused": {
			reason: "Replica regions for a key that exists as a single-region key would replace it: refused.",
			args:   args{req: req(t, replicaSpec, observedKey+observedAlias, "")},
		},
		"ReplicasEmptiedRefused": {
			reason: "No replica regions for a multi-region key would replace it with a single-region key: refused.",
			args:   args{req: req(t, exampleSpec, observedMultiRegionKey+observedReplica("us-east-1"), "")},
		},
		"RegionSwappedWithReplicaRefused": {
			reason: "Moving the key to the region of its replica, and the replica to the key's region, would replace both: refused.",
			args: args{req: req(t, strings.Replace(exampleSpec, "region: eu-west-1", "region: us-east-1", 1)+`
    replicaRegions: [eu-west-1]`, observedMultiRegionKey+observedReplica("us-east-1"), "")},
		},
		"ReplicaRegionRemoved": {
			reason: "Removing one replica region is applied, with a warning that the replica there is scheduled for deletion.",
			args: args{req: req(t, exampleSpec+`
    replicaRegions: [eu-central-1]`, observedMultiRegionKey+observedReplica("eu-central-1")+observedReplica("us-east-1"), "")},
		},
		"ReplicaAliasTaken": {
			reason: "A claim whose alias another XR's Alias manages in one of its replica regions is refused, naming spec.replicaRegions and the region; nothing is composed.",
			args: args{req: func() *fnv1.RunFunctionRequest {
				r := req(t, replicaSpec, "", "")
				other := withAliases(t, req(t, exampleSpec, "", ""), "payments-x7k2p").GetRequiredResources()[aliasesRequirement]
				c := Backend{AliasName: "vault-backend", ProviderConfigName: "default"}
				a := other.GetItems()[0].GetResource()
				a.GetFields()["metadata"].GetStructValue().GetFields()["labels"].GetStructValue().GetFields()[aliasIDLabel] = structpb.NewStringValue(c.AliasIDIn("us-east-1"))
				r.RequiredResources["aliases-us-east-1"] = other
				return r
			}()},
		},
		"ReplicaFailure": {
			reason: "A replica the provider failed to create makes the key unavailable, naming the replica's region and the provider's words.",
			args: args{req: req(t, replicaSpec, observedMultiRegionKey+observedReplica("eu-central-1")+strings.Replace(observedReplica("us-east-1"),
				`{type: Synced, status: "True", reason: ReconcileSuccess, lastTransitionTime: "2026-11-27T12:00:00Z"}`,
				`{type: Synced, status: "False", reason: ReconcileError, message: "create failed: async create failed: failed to create the resource: [{0 creating KMS Replica Key: operation error KMS: ReplicateKey, https response error StatusCode: 400, RequestID: 5e9f, api error UnsupportedOperationException: us-east-1 is not enabled  []}]", lastTransitionTime: "2026-11-27T12:00:00Z"}`, 1), "")},
		},
		"KeepsEarlierSteps": {
			reason: "Desired resources of earlier pipeline steps are kept.",
			args: args{req: func() *fnv1.RunFunctionRequest {
				r := req(t, exampleSpec, "", "")
				r.Desired = reqFromYAML(t, `
desired:
  resources:
    bucket:
      resource: {apiVersion: s3.aws.upbound.io/v1beta1, kind: Bucket, spec: {forProvider: {region: eu-west-1}}}`).GetDesired()
				return r
			}()},
		},
	}

	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			f := &Function{log: logging.NewNopLogger()}
			rsp, err := f.RunFunction(context.Background(), tc.args.req)
			if err != nil {
				t.Fatalf("%s\nRunFunction(...): want no error, got %v", tc.reason, err)
			}
			golden(t, filepath.Join("testdata", "responses", name+".json"), rsp)
			checkRefusal(t, rsp)
		})
	}
}

// TestObservedNeverDropped checks that the function never drops a composed
// resource that exists, but for the replica, and its alias, of a region the
// claim removed. A response that Crossplane applies, one without a Fatal
// result, desires every other observed resource. A refusal desires nothing,
// and that drops nothing: Crossplane (v2.2.1, FunctionComposer.Compose in
// internal/controller/apiextensions/composite/composition_functions.go)
// reads each step's results as soon as the step answers and returns at the
// first Fatal one, before it reads the desired resources, garbage-collects
// the observed ones that are not desired, or applies anything. So on a
// refusal every observed resource stays exactly as it is.
func TestObservedNeverDropped(t *testing.T) {
	cases := map[string]struct {
		reason string
		req    *fnv1.RunFunctionRequest
		fatal  bool
		// dropped are the observed resources an applied response may leave
		// out: those of a replica region the claim removed.
		dropped []string
	}{
		"Unchanged": {
			reason: "An unchanged claim desires the observed Key and Alias.",
			req:    req(t, exampleSpec, observedKey+observedAlias, ""),
		},
		"KeyOnly": {
			reason: "A Key observed without its Alias is still desired.",
			req:    req(t, exampleSpec, observedKey, ""),
		},
		"Warned": {
			reason: "An Orphan to Delete change is applied, with both resources desired.",
			req:    req(t, exampleSpec, strings.Replace(observedKey, "deletionPolicy: Delete", "deletionPolicy: Orphan", 1)+observedAlias, ""),
		},
		"InvalidClaim": {
			reason: "An invalid edit of an existing claim is refused, not applied as an empty desired state.",
			req:    req(t, strings.Replace(exampleSpec, "deletionWindowInDays: 30", "deletionWindowInDays: 3", 1), observedKey+observedAlias, ""),
			fatal:  true,
		},
		"Replacement": {
			reason: "A change that would replace the Key is refused.",
			req:    req(t, strings.Replace(exampleSpec, "eu-west-1", "us-east-1", 1), observedKey+observedAlias, ""),
			fatal:  true,
		},
		"Replicas": {
			reason: "A multi-region key's replicas and their aliases all stay desired.",
			req:    req(t, replicaSpec, observedMultiRegionKey+observedReplica("eu-central-1")+observedReplica("us-east-1"), ""),
		},
		"ReplicaRemoved": {
			reason: "Only the replica of the region the claim removed, and its alias, are dropped.",
			req: req(t, exampleSpec+`
    replicaRegions: [eu-central-1]`, observedMultiRegionKey+observedReplica("eu-central-1")+observedReplica("us-east-1"), ""),
			dropped: []string{"alias-us-east-1", "replica-us-east-1"},
		},
		"ReplicasEmptied": {
			reason: "Emptying replicaRegions would replace the key: refused, nothing dropped.",
			req:    req(t, exampleSpec, observedMultiRegionKey+observedReplica("us-east-1"), ""),
			fatal:  true,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			f := &Function{log: logging.NewNopLogger()}
			rsp, err := f.RunFunction(context.Background(), tc.req)
			if err != nil {
				t.Fatalf("%s\nRunFunction(...): want no error, got %v", tc.reason, err)
			}
			if got := hasFatal(rsp); got != tc.fatal {
				t.Fatalf("%s\nFatal result: want %t, got %t: %v", tc.reason, tc.fatal, got, rsp.GetResults())
			}
			if tc.fatal {
				return
			}
			var dropped []string
			for name := range tc.req.GetObserved().GetResources() {
				if _, ok := rsp.GetDesired().GetResources()[name]; !ok {
					dropped = append(dropped, name)
				}
			}
			slices.Sort(dropped)
			if diff := cmp.Diff(tc.dropped, dropped); diff != "" {
				t.Errorf("%s\nobserved resources not desired, which Crossplane would delete: -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func hasFatal(rsp *fnv1.RunFunctionResponse) bool {
	for _, r := range rsp.GetResults() {
		if r.GetSeverity() == fnv1.Severity_SEVERITY_FATAL {
			return true
		}
	}
	return false
}

// checkRefusal checks how a refusal is reported, on a response with a Fatal result:
// Crossplane stops reading results at the first Fatal one, so the Fatal
// result must come last, after a warning with the same message for the XR
// and the claim, and a SpecValid=False condition must say it too.
func checkRefusal(t *testing.T, rsp *fnv1.RunFunctionResponse) {
	t.Helper()
	rs := rsp.GetResults()
	fatal := -1
	for i, r := range rs {
		if r.GetSeverity() == fnv1.Severity_SEVERITY_FATAL {
			fatal = i
			break
		}
	}
	if fatal < 0 {
		return
	}
	msg := rs[fatal].GetMessage()
	if fatal != len(rs)-1 {
		t.Errorf("the Fatal result is result %d of %d: Crossplane would drop the results after it", fatal+1, len(rs))
	}
	warned := false
	for _, r := range rs[:fatal] {
		warned = warned || (r.GetSeverity() == fnv1.Severity_SEVERITY_WARNING && r.GetTarget() == fnv1.Target_TARGET_COMPOSITE_AND_CLAIM && r.GetMessage() == msg)
	}
	if !warned {
		t.Errorf("want a warning for the XR and the claim before the Fatal result, with its message %q", msg)
	}
	conditioned := false
	for _, c := range rsp.GetConditions() {
		conditioned = conditioned || (c.GetType() == "SpecValid" && c.GetStatus() == fnv1.Status_STATUS_CONDITION_FALSE &&
			c.GetTarget() == fnv1.Target_TARGET_COMPOSITE_AND_CLAIM && c.GetMessage() == msg)
	}
	if !conditioned {
		t.Errorf("want a SpecValid=False condition for the XR and the claim with the message %q", msg)
	}
	if len(rsp.GetDesired().GetResources()) > 0 {
		t.Errorf("a refusal must compose nothing new, got %d desired resources", len(rsp.GetDesired().GetResources()))
	}
}

// logLine is one line a recordingLogger received, with every key and value
// it carries.
type logLine struct {
	level, msg string
	values     map[string]any
}

// recordingLogger records what the function logs.
type recordingLogger struct {
	lines  *[]logLine
	values []any
}

func (l recordingLogger) Info(msg string, kv ...any)  { l.add("info", msg, kv) }
func (l recordingLogger) Debug(msg string, kv ...any) { l.add("debug", msg, kv) }

func (l recordingLogger) WithValues(kv ...any) xplogging.Logger {
	return recordingLogger{lines: l.lines, values: append(slices.Clone(l.values), kv...)}
}

func (l recordingLogger) add(level, msg string, kv []any) {
	all := append(slices.Clone(l.values), kv...)
	values := map[string]any{}
	for i := 0; i+1 < len(all); i += 2 {
		values[fmt.Sprint(all[i])] = all[i+1]
	}
	*l.lines = append(*l.lines, logLine{level: level, msg: msg, values: values})
}

// applied returns the request Crossplane sends once it has applied a
// response's desired Key and Alias: each observed as desired, with the
// status the provider reported in req.
func applied(t *testing.T, req *fnv1.RunFunctionRequest, rsp *fnv1.RunFunctionResponse) *fnv1.RunFunctionRequest {
	t.Helper()
	next := proto.Clone(req).(*fnv1.RunFunctionRequest)
	for name, d := range rsp.GetDesired().GetResources() {
		obj := proto.Clone(d.GetResource()).(*structpb.Struct)
		if st, ok := req.GetObserved().GetResources()[name].GetResource().GetFields()["status"]; ok {
			obj.Fields["status"] = st
		}
		next.Observed.Resources[name] = &fnv1.Resource{Resource: obj}
	}
	return next
}

// notAnswered removes Crossplane's answer to the function's requirement, as
// in its first call of a reconcile.
func notAnswered(r *fnv1.RunFunctionRequest) *fnv1.RunFunctionRequest {
	r.RequiredResources = nil
	return r
}

func TestLogs(t *testing.T) {
	xr := map[string]any{"xr-apiversion": "kms.example.org/v1alpha1", "xr-kind": "XKmsBackend", "xr-name": "vault-backend", "xr-namespace": ""}
	with := func(kv ...any) map[string]any {
		m := maps.Clone(xr)
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	observed := req(t, exampleSpec, observedKey+observedAlias, "")
	first, err := (&Function{log: logging.NewNopLogger()}).RunFunction(context.Background(), observed)
	if err != nil {
		t.Fatal(err)
	}
	steady := applied(t, observed, first)
	edited := proto.Clone(steady).(*fnv1.RunFunctionRequest)
	edited.Observed.Composite.Resource.Fields["spec"].GetStructValue().Fields["deletionWindowInDays"] = structpb.NewNumberValue(14)
	// An edit of a claim whose Alias is confirmed as the owner of its
	// alias: Crossplane's only call of the reconcile.
	confirmed := notAnswered(proto.Clone(edited).(*fnv1.RunFunctionRequest))
	own := clusterAlias(t, "vault-backend", aliasCreated)
	metadataOf(own)["annotations"].GetStructValue().Fields[aliasOwnerAnnotation] = structpb.NewStringValue(exampleBackend.AliasID())
	confirmed.Observed.Resources[aliasName] = &fnv1.Resource{Resource: own}
	// A multi-region key's claim whose Alias is confirmed in the key's
	// region but not in the replicas' regions: the function asks for
	// theirs, and Crossplane calls again.
	replicaAsked := notAnswered(req(t, strings.Replace(exampleSpec, "deletionWindowInDays: 30", "deletionWindowInDays: 14", 1)+`
    replicaRegions: [us-east-1]`, observedMultiRegionKey+observedReplica("us-east-1"), ""))
	ownMRK := proto.Clone(own).(*structpb.Struct)
	ownMRK.Fields["spec"].GetStructValue().Fields["forProvider"].GetStructValue().Fields["targetKeyId"] = structpb.NewStringValue(mrkID)
	replicaAsked.Observed.Resources[aliasName] = &fnv1.Resource{Resource: ownMRK}
	owners := func(asked, answered, confirmed []string) logLine {
		return logLine{level: "debug", msg: "Checked the alias's owners", values: with("asked", asked, "answered", answered, "confirmed", confirmed)}
	}
	keyRegion, none := []string{"eu-west-1"}, []string{}

	cases := map[string]struct {
		reason string
		req    *fnv1.RunFunctionRequest
		want   []logLine
	}{
		"NewClaim": {
			reason: "A new claim's Key and Alias are one change, logged once with the XR's kind, name and namespace.",
			req:    req(t, exampleSpec, "", ""),
			want: []logLine{
				owners(keyRegion, keyRegion, none),
				{level: "info", msg: "Changing the composed resources", values: with("changes", []string{"key: new", "alias: new"})},
			},
		},
		"Refused": {
			reason: "A refusal is logged once, with its reason and message.",
			req:    req(t, "\n    aliasName: x", "", ""),
			want: []logLine{{level: "info", msg: "Refusing the XR", values: with("reason", "InvalidSpec", "message",
				"invalid spec: spec.adminUsers: Required value: at least one admin ARN is required; spec.standardUsers: Required value: at least one standard user ARN is required; spec.region: Required value: must name the key's AWS region, e.g. eu-west-1 (the platform sets no default)")}},
		},
		"NotYetAnswered": {
			reason: "Before Crossplane answers the requirement it calls again, and applies only that answer's response: the change is logged at debug level.",
			req:    notAnswered(req(t, exampleSpec, "", "")),
			want: []logLine{
				owners(keyRegion, none, none),
				{level: "debug", msg: "Changing the composed resources, once Crossplane answers the requirement", values: with("changes", []string{"key: new"})},
			},
		},
		"Applied": {
			reason: "Once Crossplane has applied the desired Key and Alias, a call changes nothing and logs only at debug level.",
			req:    steady,
			want:   []logLine{owners(keyRegion, keyRegion, none), {level: "debug", msg: "The composed resources are unchanged", values: xr}},
		},
		"Edited": {
			reason: "An accepted edit names the fields it changes.",
			req:    edited,
			want: []logLine{
				owners(keyRegion, keyRegion, none),
				{level: "info", msg: "Changing the composed resources", values: with("changes", []string{"key: spec.forProvider.deletionWindowInDays"})},
			},
		},
		"EditedConfirmed": {
			reason: "The edit of a claim whose alias ownership is confirmed: the function asks nothing, so Crossplane makes one call and applies its response; the change is logged at Info there.",
			req:    confirmed,
			want: []logLine{
				owners(none, none, keyRegion),
				{level: "info", msg: "Changing the composed resources", values: with("changes", []string{"key: spec.forProvider.deletionWindowInDays"})},
			},
		},
		"ReplicaRegionAsked": {
			reason: "Confirmed in the key's region only: the function asks for the replica's region, so Crossplane calls again and the change is logged at debug level here.",
			req:    replicaAsked,
			want: []logLine{
				owners([]string{"us-east-1"}, none, keyRegion),
				{level: "debug", msg: "Changing the composed resources, once Crossplane answers the requirement", values: with("changes", []string{
					"key: spec.forProvider.deletionWindowInDays, spec.forProvider.description, spec.forProvider.enableKeyRotation, spec.forProvider.policy, spec.providerConfigRef",
					"replica-us-east-1: spec.forProvider.deletionWindowInDays, spec.forProvider.description, spec.forProvider.policy, spec.providerConfigRef",
					"alias-us-east-1: metadata.labels, spec.deletionPolicy, spec.providerConfigRef",
				})},
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var lines []logLine
			f := &Function{log: recordingLogger{lines: &lines}}
			if _, err := f.RunFunction(context.Background(), tc.req); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, lines, cmp.AllowUnexported(logLine{})); diff != "" {
				t.Errorf("%s\nlogs: -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

// Fixtures of the alias guard over several reconciles: Aliases of the
// example claim's alias, as the API server holds them, for the XR named
// owner and for a newcomer, payments-x7k2p, that names the same alias.
var (
	exampleBackend = Backend{AliasName: "vault-backend", Region: "eu-west-1", ProviderConfigName: "default"}
	aliasCreated   = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
)

// clusterAlias is the Alias the XR named xr composed for the example
// claim's alias, created at created, Ready and labelled with the alias id.
func clusterAlias(t *testing.T, xr string, created time.Time) *structpb.Struct {
	t.Helper()
	return reqFromYAML(t, `
observed:
  composite:
    resource:
      apiVersion: kms.aws.upbound.io/v1beta1
      kind: Alias
      metadata:
        name: `+xr+`-3f9a1c
        creationTimestamp: "`+created.Format(time.RFC3339)+`"
        labels: {crossplane.io/composite: `+xr+`, `+aliasIDLabel+`: `+exampleBackend.AliasID()+`}
        annotations: {crossplane.io/external-name: vault-backend}
      spec:
        deletionPolicy: Delete
        providerConfigRef: {name: default}
        forProvider: {region: eu-west-1, targetKeyId: 1234abcd-12ab-34cd-56ef-1234567890ab}
      status:
        atProvider: {arn: "arn:aws:kms:eu-west-1:123456789012:alias/vault-backend"}
        conditions:
        - {type: Ready, status: "True", reason: Available, lastTransitionTime: "2026-11-27T12:00:00Z"}
        - {type: Synced, status: "True", reason: ReconcileSuccess, lastTransitionTime: "2026-11-27T12:00:00Z"}`).GetObserved().GetComposite().GetResource()
}

// metadataOf returns the fields of an object's metadata.
func metadataOf(obj *structpb.Struct) map[string]*structpb.Value {
	return obj.GetFields()["metadata"].GetStructValue().GetFields()
}

// confirmation is the alias id an Alias records the confirmation of its
// ownership of, or empty.
func confirmation(obj *structpb.Struct) string {
	return metadataOf(obj)["annotations"].GetStructValue().GetFields()[aliasOwnerAnnotation].GetStringValue()
}

// reconcile runs the function for one reconcile of the XR named xr, whose
// own Alias (nil for none) is among the cluster's, as Crossplane v2.2 does
// (FetchingFunctionRunner in internal/xfn/required_resources.go): it calls
// again, with the Aliases each requirement selects from cluster, until two
// calls return equal requirements (nil is what the first call's are compared
// with), or a call returns a Fatal result. It returns the last response and
// the number of calls, and applies the desired Alias's annotations to own as
// Crossplane would apply them.
func reconcile(t *testing.T, xr string, own *structpb.Struct, now time.Time, cluster []*structpb.Struct) (*fnv1.RunFunctionResponse, int) {
	t.Helper()
	r := notAnswered(xrRequest(t, "kms.example.org/v1alpha1", "XKmsBackend", "{name: "+xr+"}", exampleSpec, observedKey, ""))
	if own != nil {
		r.Observed.Resources[aliasName] = &fnv1.Resource{Resource: proto.Clone(own).(*structpb.Struct)}
	}
	f := &Function{log: logging.NewNopLogger(), clock: func() time.Time { return now }}
	var last *fnv1.Requirements
	for calls := 1; calls <= 5; calls++ {
		rsp, err := f.RunFunction(context.Background(), r)
		if err != nil {
			t.Fatalf("RunFunction(...): want no error, got %v", err)
		}
		if hasFatal(rsp) {
			return rsp, calls
		}
		if proto.Equal(rsp.GetRequirements(), last) {
			if d := rsp.GetDesired().GetResources()[aliasName]; own != nil && d != nil {
				metadataOf(own)["annotations"] = metadataOf(d.GetResource())["annotations"]
			}
			return rsp, calls
		}
		last = rsp.GetRequirements()
		r.RequiredResources = map[string]*fnv1.Resources{}
		for name, sel := range last.GetResources() {
			items := []*fnv1.Resource{}
			for _, a := range cluster {
				labels := metadataOf(a)["labels"].GetStructValue().GetFields()
				matches := true
				for k, v := range sel.GetMatchLabels().GetLabels() {
					matches = matches && labels[k].GetStringValue() == v
				}
				if matches {
					items = append(items, &fnv1.Resource{Resource: proto.Clone(a).(*structpb.Struct)})
				}
			}
			r.RequiredResources[name] = &fnv1.Resources{Items: items}
		}
	}
	t.Fatal("the requirements did not stabilise in 5 calls")
	return nil, 0
}

// TestAliasOwnerOneCall follows one alias's owner and a newcomer over
// reconciles, as Crossplane runs them: the owner's reconciles take two calls
// until an answer confirms its ownership, then one; the newcomer, whose
// Alias is younger, is refused on every reconcile, and the owner's
// confirmation stays.
func TestAliasOwnerOneCall(t *testing.T) {
	owner := clusterAlias(t, "vault-backend", aliasCreated)
	newcomer := clusterAlias(t, "payments-x7k2p", aliasCreated.Add(4*time.Minute))
	cluster := []*structpb.Struct{owner}
	steps := []struct {
		name      string
		reason    string
		xr        string
		own       *structpb.Struct
		after     time.Duration
		calls     int
		refused   bool
		confirmed bool
	}{
		{
			name:   "Young",
			reason: "Less than a minute after the owner's Alias was created, an answer cannot confirm it: two calls, nothing recorded.",
			xr:     "vault-backend", own: owner, after: 30 * time.Second, calls: 2,
		},
		{
			name:   "Confirmed",
			reason: "A minute later the answer lists the owner's Alias and no other: two calls, and the Alias records the confirmation.",
			xr:     "vault-backend", own: owner, after: 2 * time.Minute, calls: 2, confirmed: true,
		},
		{
			name:   "Steady",
			reason: "The confirmed Alias is Ready and labelled: the function asks nothing, so the reconcile makes one call, and keeps the confirmation.",
			xr:     "vault-backend", own: owner, after: 3 * time.Minute, calls: 1, confirmed: true,
		},
		{
			name:   "NewcomerRefused",
			reason: "A newcomer whose Alias names the confirmed alias is younger: its own check refuses it.",
			xr:     "payments-x7k2p", own: newcomer, after: 6 * time.Minute, calls: 2, refused: true,
		},
		{
			name:   "SteadyBesideNewcomer",
			reason: "The owner's reconcile stays one call, and valid, while the refused newcomer's Alias exists.",
			xr:     "vault-backend", own: owner, after: 7 * time.Minute, calls: 1, confirmed: true,
		},
		{
			name:   "NewcomerStillRefused",
			reason: "The newcomer is refused again on its next reconcile.",
			xr:     "payments-x7k2p", own: newcomer, after: 10 * time.Minute, calls: 2, refused: true,
		},
	}
	for _, s := range steps {
		if s.xr == "payments-x7k2p" && len(cluster) == 1 {
			cluster = append(cluster, newcomer)
		}
		rsp, calls := reconcile(t, s.xr, s.own, aliasCreated.Add(s.after), cluster)
		if calls != s.calls {
			t.Errorf("%s: %s\ncalls to the function: want %d, got %d", s.name, s.reason, s.calls, calls)
		}
		if got := hasFatal(rsp); got != s.refused {
			t.Fatalf("%s: %s\nrefused: want %t, got %t: %v", s.name, s.reason, s.refused, got, rsp.GetResults())
		}
		if s.refused {
			continue
		}
		if got := confirmation(rsp.GetDesired().GetResources()[aliasName].GetResource()) != ""; got != s.confirmed {
			t.Errorf("%s: %s\ndesired Alias records the confirmation: want %t, got %t", s.name, s.reason, s.confirmed, got)
		}
	}
	if got, want := confirmation(owner), exampleBackend.AliasID(); got != want {
		t.Errorf("the owner's Alias after the reconciles: want the confirmation of %s, got %q", want, got)
	}
	if got := confirmation(newcomer); got != "" {
		t.Errorf("the newcomer's Alias after the reconciles: want no confirmation, got %q", got)
	}
}

// TestAliasOwnerRace checks two claims whose Aliases were composed in the
// same second, before either saw the other, and both became Ready (the
// provider imports the alias that exists): neither is confirmed, so both
// ask; the one that sorts first (payments-x7k2p, by name) is confirmed and
// the other is refused, on its first reconcile after seeing the first and on
// every later one.
func TestAliasOwnerRace(t *testing.T) {
	first := clusterAlias(t, "payments-x7k2p", aliasCreated)
	second := clusterAlias(t, "vault-backend", aliasCreated)
	cluster := []*structpb.Struct{first, second}
	for _, after := range []time.Duration{2 * time.Minute, 3 * time.Minute, time.Hour} {
		rsp, _ := reconcile(t, "vault-backend", second, aliasCreated.Add(after), cluster)
		if !hasFatal(rsp) {
			t.Errorf("%s after: the younger of two Ready Aliases: want refused, got %v", after, rsp.GetResults())
		}
		rsp, _ = reconcile(t, "payments-x7k2p", first, aliasCreated.Add(after), cluster)
		if hasFatal(rsp) {
			t.Errorf("%s after: the older of two Ready Aliases: want it kept, got %v", after, rsp.GetResults())
		}
	}
	if confirmation(first) == "" || confirmation(second) != "" {
		t.Errorf("want the older Alias confirmed and the younger not, got %q and %q", confirmation(first), confirmation(second))
	}
	_, calls := reconcile(t, "payments-x7k2p", first, aliasCreated.Add(2*time.Hour), cluster)
	if calls != 1 {
		t.Errorf("the confirmed owner's reconcile: want 1 call, got %d", calls)
	}
}

// TestAliasOwnerRequirements checks which regions a call asks Crossplane
// for, on Crossplane's first call of a reconcile, and whether the desired
// Alias keeps the confirmation of its ownership: a region whose Alias is
// confirmed, labelled and Ready is not asked, and with no region to ask the
// response carries no requirements at all, for Crossplane v2.2 as for
// earlier versions (extra_resources).
func TestAliasOwnerRequirements(t *testing.T) {
	id := exampleBackend.AliasID()
	// own is the example claim's Alias, confirmed for the alias id
	// confirmed (none when empty), with its Ready condition's status.
	own := func(confirmed, ready string) *structpb.Struct {
		a := clusterAlias(t, "vault-backend", aliasCreated)
		if confirmed != "" {
			metadataOf(a)["annotations"].GetStructValue().Fields[aliasOwnerAnnotation] = structpb.NewStringValue(confirmed)
		}
		cond := a.Fields["status"].GetStructValue().Fields["conditions"].GetListValue().GetValues()[0].GetStructValue()
		cond.Fields["status"] = structpb.NewStringValue(ready)
		return a
	}
	request := func(spec, observed string, alias *structpb.Struct, legacy bool) *fnv1.RunFunctionRequest {
		r := notAnswered(req(t, spec, observed, ""))
		r.Observed.Resources[aliasName] = &fnv1.Resource{Resource: alias}
		if legacy {
			r.Meta = nil
		}
		return r
	}
	replicas := exampleSpec + `
    replicaRegions: [us-east-1]`
	mrk := func(a *structpb.Struct) *structpb.Struct {
		a.Fields["spec"].GetStructValue().Fields["forProvider"].GetStructValue().Fields["targetKeyId"] = structpb.NewStringValue(mrkID)
		return a
	}
	cases := map[string]struct {
		reason string
		req    *fnv1.RunFunctionRequest
		// asked are the requirements' names, nil for no requirements;
		// extra, whether they are asked in extra_resources.
		asked     []string
		extra     bool
		confirmed bool
	}{
		"Confirmed": {
			reason:    "A confirmed, labelled, Ready Alias: nothing asked, and the confirmation kept.",
			req:       request(exampleSpec, observedKey, own(id, "True"), false),
			confirmed: true,
		},
		"ConfirmedBeforeV22": {
			reason:    "The same before Crossplane v2.2: no extra_resources asked either.",
			req:       request(exampleSpec, observedKey, own(id, "True"), true),
			confirmed: true,
		},
		"NotConfirmedBeforeV22": {
			reason: "An Alias not yet confirmed, before Crossplane v2.2: asked in extra_resources.",
			req:    request(exampleSpec, observedKey, own("", "True"), true),
			asked:  []string{aliasesRequirement},
			extra:  true,
		},
		"NotConfirmed": {
			reason: "An Alias not yet confirmed: asked.",
			req:    request(exampleSpec, observedKey, own("", "True"), false),
			asked:  []string{aliasesRequirement},
		},
		"ConfirmedForAnotherAliasID": {
			reason: "A confirmation of another alias id (its provider config changed): asked again, and the confirmation dropped until an answer confirms it again.",
			req:    request(exampleSpec, observedKey, own(exampleBackend.AliasIDIn("us-east-1"), "True"), false),
			asked:  []string{aliasesRequirement},
		},
		"ConfirmedNotReady": {
			reason: "A confirmed Alias that is not Ready: asked again, and the confirmation dropped.",
			req:    request(exampleSpec, observedKey, own(id, "False"), false),
			asked:  []string{aliasesRequirement},
		},
		"ConfirmedInKeyRegionOnly": {
			reason:    "Confirmed in the key's region, not in the replica's: only the replica's region is asked.",
			req:       request(replicas, observedMultiRegionKey+observedReplica("us-east-1"), mrk(own(id, "True")), false),
			asked:     []string{"aliases-us-east-1"},
			confirmed: true,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			f := &Function{log: logging.NewNopLogger(), clock: func() time.Time { return aliasCreated.Add(time.Hour) }}
			rsp, err := f.RunFunction(context.Background(), tc.req)
			if err != nil || hasFatal(rsp) {
				t.Fatalf("%s\nRunFunction(...): want no error and no Fatal result, got %v, %v", tc.reason, err, rsp.GetResults())
			}
			asked := rsp.GetRequirements().GetResources()
			if tc.extra {
				asked = rsp.GetRequirements().GetExtraResources() //nolint:staticcheck // What the function asks Crossplane before v2.2.
			}
			if tc.asked == nil && rsp.Requirements != nil {
				t.Errorf("%s\nwant no requirements (nil, so that Crossplane calls once), got %v", tc.reason, rsp.GetRequirements())
			}
			if diff := cmp.Diff(tc.asked, slices.Sorted(maps.Keys(asked))); tc.asked != nil && diff != "" {
				t.Errorf("%s\nrequirements: -want, +got:\n%s", tc.reason, diff)
			}
			a := rsp.GetDesired().GetResources()[aliasName]
			if a == nil {
				t.Fatalf("%s\nthe observed Alias is not desired", tc.reason)
			}
			if got := confirmation(a.GetResource()) == id; got != tc.confirmed {
				t.Errorf("%s\ndesired Alias confirmed for %s: want %t, got %t", tc.reason, id, tc.confirmed, got)
			}
		})
	}
}
