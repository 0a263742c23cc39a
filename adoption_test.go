package main

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/crossplane/function-sdk-go/logging"
	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
)

// Fixtures of adoption: the example claim adopting the key the Terraform
// module made (spec.existingKeyId), that key as provider-aws reports it
// while it may only observe it, and the claim's Alias while it is probed.
const (
	terraformKeyID = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
	adoptSpec      = exampleSpec + `
    existingKeyId: ` + terraformKeyID

	// probedKey is the Terraform module's key, observe-only, as
	// provider-aws reports it once it has read it.
	probedKey = `
      key:
        resource:
          apiVersion: kms.aws.upbound.io/v1beta1
          kind: Key
          metadata:
            name: vault-backend-k
            annotations: {crossplane.io/external-name: ` + terraformKeyID + `, kms.example.org/adoption: Probe}
          spec:
            deletionPolicy: Delete
            managementPolicies: [Observe]
            forProvider: {region: eu-west-1}
          status:
            atProvider:
              arn: arn:aws:kms:eu-west-1:123456789012:key/` + terraformKeyID + `
              keyId: ` + terraformKeyID + `
              id: ` + terraformKeyID + `
              region: eu-west-1
              customerMasterKeySpec: SYMMETRIC_DEFAULT
              keyUsage: ENCRYPT_DECRYPT
              isEnabled: true
              multiRegion: false
              enableKeyRotation: true
              description: KMS key for Vault backend encryption
            conditions:
            - {type: Ready, status: "True", reason: Available, lastTransitionTime: "2026-11-27T12:00:00Z"}
            - {type: Synced, status: "True", reason: ReconcileSuccess, lastTransitionTime: "2026-11-27T12:00:00Z"}`

	// probedAlias is the claim's Alias, observe-only, before the provider
	// has reported on it.
	probedAlias = `
      alias:
        resource:
          apiVersion: kms.aws.upbound.io/v1beta1
          kind: Alias
          metadata:
            name: vault-backend-a
            annotations: {crossplane.io/external-name: vault-backend, kms.example.org/adoption: Probe}
          spec:
            deletionPolicy: Delete
            managementPolicies: [Observe]
            forProvider: {region: eu-west-1, targetKeyId: 1234abcd-12ab-34cd-56ef-1234567890ab}`

	// missingAliasConditions is what provider-aws reports of an
	// observe-only Alias whose alias does not exist in AWS.
	missingConditions = `
          status:
            conditions:
            - {type: Ready, status: "False", reason: Unavailable, lastTransitionTime: "2026-11-27T12:00:00Z"}
            - {type: Synced, status: "False", reason: ReconcileError, message: "observe failed: external resource does not exist", lastTransitionTime: "2026-11-27T12:00:00Z"}`
)

// aliasInAWS is what provider-aws reports of an observe-only Alias whose
// alias exists in AWS and targets the key with this id.
func aliasInAWS(keyID string) string {
	return `
          status:
            atProvider:
              arn: arn:aws:kms:eu-west-1:123456789012:alias/vault-backend
              id: alias/vault-backend
              targetKeyId: ` + keyID + `
              targetKeyArn: arn:aws:kms:eu-west-1:123456789012:key/` + keyID + `
            conditions:
            - {type: Ready, status: "True", reason: Available, lastTransitionTime: "2026-11-27T12:00:00Z"}
            - {type: Synced, status: "True", reason: ReconcileSuccess, lastTransitionTime: "2026-11-27T12:00:00Z"}`
}

// withAdoption records an adoption on an observed Alias fixture.
func withAdoption(alias string, a Adoption) string {
	return strings.Replace(alias, "kms.example.org/adoption: Probe", "kms.example.org/adoption: "+string(a), 1)
}

// misfit is the probed Terraform key with one field of status.atProvider
// replaced.
func misfit(from, to string) string {
	if !strings.Contains(probedKey, from) {
		panic("no " + from + " in the probed key")
	}
	return strings.Replace(probedKey, from, to, 1)
}

// aliasOf the Terraform key: the probed Alias naming it.
var aliasOfTerraformKey = strings.Replace(probedAlias, "targetKeyId: 1234abcd-12ab-34cd-56ef-1234567890ab", "targetKeyId: "+terraformKeyID, 1)

func TestAdoption(t *testing.T) {
	cases := map[string]struct {
		reason string
		req    *fnv1.RunFunctionRequest
	}{
		"AliasProbed": {
			reason: "An Alias the provider has not reported on yet stays observe-only; the key waits for the check.",
			req:    req(t, exampleSpec, observedKey+probedAlias, ""),
		},
		"AliasReportedMissing": {
			reason: "An alias the provider reports missing in AWS is created: the Alias gets full management, and the claim waits for it.",
			req:    req(t, exampleSpec, observedKey+probedAlias+missingConditions, ""),
		},
		"AliasBeingCreated": {
			reason: "While an Alias whose alias was reported missing is being created, its stale 'does not exist' is no provider error.",
			req:    req(t, exampleSpec, observedKey+withAdoption(probedAlias, adoptionCreate)+missingConditions, ""),
		},
		"AliasCreatedNamespacedOrphan": {
			reason: "A namespaced Orphan claim's alias reported missing is created without Delete among its management policies.",
			req:    namespacedReq(t, exampleSpec+"\n    deletionPolicy: Orphan", observedKey+probedAlias+missingConditions),
		},
		"AliasTargetsOurKey": {
			reason: "An alias that exists in AWS and targets the claim's key is adopted: managed in place, never created or deleted by the claim.",
			req:    req(t, exampleSpec, observedKey+probedAlias+aliasInAWS("1234abcd-12ab-34cd-56ef-1234567890ab"), ""),
		},
		"AliasTargetsAnotherKey": {
			reason: "An alias that exists in AWS and targets another key is refused naming spec.aliasName; the refusal is recorded on the Alias, which stays observe-only, so the response is applied once.",
			req:    req(t, exampleSpec, observedKey+probedAlias+aliasInAWS(terraformKeyID), ""),
		},
		"AliasRefusedStaysRefused": {
			reason: "An Alias refused on an earlier call refuses the claim on every later call, whatever the provider now reports: nothing is applied.",
			req:    req(t, exampleSpec, observedKey+withAdoption(probedAlias, adoptionRefuse)+missingConditions, ""),
		},
		"AliasTargetsAnotherKeyBeforeOurs": {
			reason: "An alias that exists while the claim's new key has no id yet cannot target it: refused.",
			req:    req(t, exampleSpec, probedAlias+aliasInAWS(terraformKeyID), ""),
		},
		"ReplicaAliasTargetsAnotherKey": {
			reason: "A replica region's alias that targets another key is refused naming spec.replicaRegions.",
			req: req(t, replicaSpec, observedMultiRegionKey+observedReplica("eu-central-1")+observedReplicaKey("us-east-1")+strings.NewReplacer(
				"alias:", "alias-us-east-1:", "vault-backend-a\n", "vault-backend-a-us-east-1\n", "eu-west-1", "us-east-1",
			).Replace(probedAlias+aliasInAWS(terraformKeyID)), ""),
		},
		"AdoptNew": {
			reason: "A claim with existingKeyId composes its Key named by the id and observe-only, and its Alias targeting that id, observe-only too.",
			req:    req(t, adoptSpec, "", ""),
		},
		"AdoptNewNamespaced": {
			reason: "The same for a namespaced XR: management policies, not a deletion policy, keep the key.",
			req:    namespacedReq(t, adoptSpec, ""),
		},
		"AdoptKeyBeingRead": {
			reason: "Until the provider has read the key, the claim says it waits for it, not that anything failed.",
			req: req(t, adoptSpec, `
      key:
        resource:
          apiVersion: kms.aws.upbound.io/v1beta1
          kind: Key
          metadata:
            name: vault-backend-k
            annotations: {crossplane.io/external-name: `+terraformKeyID+`, kms.example.org/adoption: Probe}
          spec: {deletionPolicy: Delete, managementPolicies: [Observe], forProvider: {region: eu-west-1}}`, ""),
		},
		"AdoptKeyFits": {
			reason: "A key that fits is adopted: managed in place with Observe, Update and LateInitialize (never Create, never Delete); its alias, found targeting it, is adopted too.",
			req:    req(t, adoptSpec, probedKey+aliasOfTerraformKey+aliasInAWS(terraformKeyID), ""),
		},
		"AdoptKeyAdopted": {
			reason: "An adopted key stays adopted, and its ids flow into status.",
			req:    req(t, adoptSpec, withAdoption(probedKey, adoptionAdopt)+withAdoption(aliasOfTerraformKey, adoptionAdopt)+aliasInAWS(terraformKeyID), ""),
		},
		"AdoptKeyMissing": {
			reason: "A key the provider cannot find (a wrong id, or a key pending deletion) is refused naming spec.existingKeyId and saying both; no key is created.",
			req:    req(t, adoptSpec, strings.SplitN(probedKey, "          status:", 2)[0]+missingConditions, ""),
		},
		"AdoptKeyPendingDeletionNamespaced": {
			reason: "The same in the namespaced flavour.",
			req:    namespacedReq(t, adoptSpec, strings.SplitN(probedKey, "          status:", 2)[0]+missingConditions),
		},
		"AdoptKeyDisabled": {
			reason: "A disabled key is refused, and nothing is written to it.",
			req:    req(t, adoptSpec, misfit("isEnabled: true", "isEnabled: false"), ""),
		},
		"AdoptKeyAsymmetric": {
			reason: "An asymmetric signing key is refused, naming its spec and usage.",
			req: req(t, adoptSpec, strings.NewReplacer("customerMasterKeySpec: SYMMETRIC_DEFAULT", "customerMasterKeySpec: RSA_2048",
				"keyUsage: ENCRYPT_DECRYPT", "keyUsage: SIGN_VERIFY").Replace(probedKey), ""),
		},
		"AdoptKeyOtherRegion": {
			reason: "A key in another region than the claim's is refused.",
			req: req(t, adoptSpec, strings.NewReplacer("region: eu-west-1\n              customer", "region: us-east-1\n              customer",
				"arn:aws:kms:eu-west-1:", "arn:aws:kms:us-east-1:").Replace(probedKey), ""),
		},
		"AdoptKeyOtherAccount": {
			reason: "A key in another account than the key policy's is refused.",
			req:    req(t, adoptSpec, misfit("arn:aws:kms:eu-west-1:123456789012:", "arn:aws:kms:eu-west-1:210987654321:"), ""),
		},
		"AdoptKeyMultiRegionMismatch": {
			reason: "A multi-region key adopted by a claim without replica regions is refused: it could not be managed as the claim says.",
			req:    req(t, adoptSpec, misfit("multiRegion: false", "multiRegion: true"), ""),
		},
		"AdoptKeySingleRegionWithReplicas": {
			reason: "A single-region key adopted by a claim with replica regions is refused.",
			req:    req(t, adoptSpec+"\n    replicaRegions: [us-east-1]", probedKey, ""),
		},
		"ExistingKeyIdAddedRefused": {
			reason: "existingKeyId added to a claim whose key the function created is refused: a claim adopts a key only when it is created.",
			req:    req(t, adoptSpec, observedKey+observedAlias, ""),
		},
		"ExistingKeyIdChangedRefused": {
			reason: "existingKeyId changed on a claim that adopted a key is refused.",
			req: req(t, strings.Replace(adoptSpec, terraformKeyID, "11111111-2222-3333-4444-555555555555", 1),
				withAdoption(probedKey, adoptionAdopt), ""),
		},
		"ExistingKeyIdInvalid": {
			reason: "An existingKeyId that is no key id (an ARN, say) is refused with the form it must have.",
			req:    req(t, strings.Replace(adoptSpec, "existingKeyId: ", "existingKeyId: arn:aws:kms:eu-west-1:123456789012:key/", 1), "", ""),
		},
		"KeyReplaced": {
			reason: "A key id other than the one status recorded means the key was replaced outside the cluster: KeyReplaced names the old key and how to save it, with a warning event.",
			req:    withXRStatus(t, req(t, exampleSpec, observedKey+observedAlias, ""), "kmsKeyId: "+terraformKeyID+`, kmsKeyArn: "arn:aws:kms:eu-west-1:123456789012:key/`+terraformKeyID+`"`),
		},
		"KeyBeingReplaced": {
			reason: "While provider-aws re-creates a key it reads as missing, the Key reports no id: status keeps the recorded one, so that the next call can name it as replaced.",
			req: withXRStatus(t, req(t, exampleSpec, `
      key:
        resource:
          apiVersion: kms.aws.upbound.io/v1beta1
          kind: Key
          metadata: {name: vault-backend-k, annotations: {crossplane.io/external-name: `+terraformKeyID+`}}
          spec: {deletionPolicy: Delete, forProvider: {region: eu-west-1}}
          status: {atProvider: {}}`+observedAlias, ""), "kmsKeyId: "+terraformKeyID),
		},
		"KeyReplacedSaidAgain": {
			reason: "KeyReplaced is said on every call, with the same words and no new event, and the status names the old key, until the longest deletion window has passed since it was first said.",
			req: withXRStatus(t, req(t, exampleSpec, observedKey+observedAlias, ""),
				`kmsKeyId: `+terraformKeyID+`, kmsKeyArn: "arn:aws:kms:eu-west-1:123456789012:key/`+terraformKeyID+`", conditions: [{type: KeyAvailable, status: "False", reason: KeyReplaced, lastTransitionTime: "2026-11-20T12:00:00Z", message: "`+replacedMessage()+`"}]`),
		},
		"KeyReplacedForgottenAfterTheWindow": {
			reason: "Past the longest deletion window the old key is gone for good: the new key is the claim's, in the status, and available.",
			req: withXRStatus(t, req(t, exampleSpec, observedKey+observedAlias, ""),
				`kmsKeyId: `+terraformKeyID+`, kmsKeyArn: "arn:aws:kms:eu-west-1:123456789012:key/`+terraformKeyID+`", conditions: [{type: KeyAvailable, status: "False", reason: KeyReplaced, lastTransitionTime: "2026-10-20T12:00:00Z", message: "`+replacedMessage()+`"}]`),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			f := &Function{log: logging.NewNopLogger(), clock: fixedClock}
			rsp, err := f.RunFunction(context.Background(), tc.req)
			if err != nil {
				t.Fatalf("%s\nRunFunction(...): want no error, got %v", tc.reason, err)
			}
			golden(t, filepath.Join("testdata", "responses", "adoption", name+".json"), rsp)
			checkRefusal(t, rsp)
		})
	}
}

// replacedMessage is KeyReplaced as an earlier call said it, of the
// Terraform key replaced by the example's.
func replacedMessage() string {
	a, _ := KeyReplaced(terraformKeyID, "1234abcd-12ab-34cd-56ef-1234567890ab", Condition{}, fixedClock())
	return a.Message
}

// fixedClock is the time of the tests that read it.
func fixedClock() time.Time { return time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC) }

// withXRStatus sets the observed XR's status, written as a YAML flow
// mapping's fields.
func withXRStatus(t *testing.T, r *fnv1.RunFunctionRequest, fields string) *fnv1.RunFunctionRequest {
	t.Helper()
	status := reqFromYAML(t, "observed: {composite: {resource: {status: {"+fields+"}}}}").GetObserved().GetComposite().GetResource().GetFields()["status"]
	r.GetObserved().GetComposite().GetResource().GetFields()["status"] = status
	return r
}

// TestAliasRefusalIsNeverRelaxed feeds each response back as the next
// request's observed state, as Crossplane would: once an Alias is refused,
// no later call gives it more than Observe, whatever the provider reports
// next, and every later call refuses the claim.
func TestAliasRefusalIsNeverRelaxed(t *testing.T) {
	f := &Function{log: logging.NewNopLogger(), clock: fixedClock}
	r := req(t, exampleSpec, observedKey+probedAlias+aliasInAWS(terraformKeyID), "")
	rsp, err := f.RunFunction(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	recorded := rsp.GetDesired().GetResources()[aliasName].GetResource()
	if got := annotation(recorded, adoptionAnnotation); got != string(adoptionRefuse) {
		t.Fatalf("the first refusal must be recorded on the Alias: want %s, got %q", adoptionRefuse, got)
	}
	for name, status := range map[string]string{
		"still targets another key": aliasInAWS(terraformKeyID),
		"now reported missing":      missingConditions,
		"now targets the claim's":   aliasInAWS("1234abcd-12ab-34cd-56ef-1234567890ab"),
		"not reported":              "",
	} {
		t.Run(name, func(t *testing.T) {
			next := req(t, exampleSpec, observedKey+withAdoption(probedAlias, adoptionRefuse)+status, "")
			rsp, err := f.RunFunction(context.Background(), next)
			if err != nil {
				t.Fatal(err)
			}
			if !fatal(rsp) {
				t.Errorf("want the claim refused with a Fatal result, got %v", rsp.GetResults())
			}
			if strings.Contains(rsp.String(), `"Create"`) || strings.Contains(rsp.String(), `"*"`) {
				t.Errorf("a refused Alias got more than Observe: %v", rsp.GetDesired())
			}
		})
	}
}

// TestObservedOnlyAliasNeverTakenOver: an Alias that is observed only,
// whatever adoption it records or none, and that the provider reports
// targeting another key in AWS, stays observed only and is refused: the
// provider is never let write to an alias the claim does not own.
func TestObservedOnlyAliasNeverTakenOver(t *testing.T) {
	for name, alias := range map[string]string{
		"no adoption recorded": strings.Replace(probedAlias, ", kms.example.org/adoption: Probe", "", 1),
		"Create recorded":      withAdoption(probedAlias, adoptionCreate),
		"Adopt recorded":       withAdoption(probedAlias, adoptionAdopt),
		"unknown recorded":     withAdoption(probedAlias, "Bogus"),
		"Probe recorded":       probedAlias,
	} {
		t.Run(name, func(t *testing.T) {
			r := req(t, exampleSpec, observedKey+alias+aliasInAWS(terraformKeyID), "")
			rsp, err := (&Function{log: logging.NewNopLogger(), clock: fixedClock}).RunFunction(context.Background(), r)
			if err != nil {
				t.Fatal(err)
			}
			d := rsp.GetDesired().GetResources()[aliasName].GetResource()
			if d == nil {
				t.Fatalf("want the Alias desired, observed only, got %v", rsp.GetDesired().GetResources())
			}
			var policies []string
			for _, v := range d.GetFields()["spec"].GetStructValue().GetFields()["managementPolicies"].GetListValue().GetValues() {
				policies = append(policies, v.GetStringValue())
			}
			if !slices.Equal(policies, observePolicies) {
				t.Errorf("want the Alias observed only, got management policies %v", policies)
			}
			if got := annotation(d, adoptionAnnotation); got != string(adoptionRefuse) {
				t.Errorf("want the refusal recorded on the Alias, got adoption %q", got)
			}
			if c := responseCondition(rsp, conditionKeyAvailable); c.GetReason() != reasonRefused || !strings.Contains(c.GetMessage(), "targets another key") {
				t.Errorf("want KeyAvailable=False, reason Refused, saying the alias targets another key, got %v", c)
			}
			if c := responseCondition(rsp, conditionSpecValid); c.GetStatus() != fnv1.Status_STATUS_CONDITION_FALSE || !strings.Contains(c.GetMessage(), "spec.aliasName") {
				t.Errorf("want SpecValid=False naming spec.aliasName, got %v", c)
			}
		})
	}
}

// TestObservedOnlyKeyCheckedAgain: a Key observed only that records Adopt
// (by hand, say) is checked again before anything is written to it: a
// disabled key is refused, not updated.
func TestObservedOnlyKeyCheckedAgain(t *testing.T) {
	r := req(t, adoptSpec, withAdoption(misfit("isEnabled: true", "isEnabled: false"), adoptionAdopt), "")
	rsp, err := (&Function{log: logging.NewNopLogger(), clock: fixedClock}).RunFunction(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	if !fatal(rsp) || !strings.Contains(rsp.GetResults()[len(rsp.GetResults())-1].GetMessage(), "it is disabled") {
		t.Errorf("want the claim refused because the key is disabled, got results %v", rsp.GetResults())
	}
	if n := len(rsp.GetDesired().GetResources()); n != 0 {
		t.Errorf("want nothing applied, got %d desired resources", n)
	}
}

// TestUpgradeKeepsManagement: a claim whose Key and Alias were composed
// before adoption existed keeps them as they are: no adoption recorded, no
// management policies (the provider's default, everything), and ready, so
// there is no Observe-only step and nothing new to apply. (The goldens
// ObservedKeyAndAlias, Namespaced observed and ReplicasObserved hold the whole
// responses.)
func TestUpgradeKeepsManagement(t *testing.T) {
	for name, r := range map[string]*fnv1.RunFunctionRequest{
		"legacy":     req(t, exampleSpec, observedKey+observedAlias, ""),
		"namespaced": namespacedReq(t, exampleSpec, observedKey+observedAlias),
		"replicas":   req(t, replicaSpec, observedMultiRegionKey+observedReplica("eu-central-1")+observedReplica("us-east-1"), ""),
	} {
		t.Run(name, func(t *testing.T) {
			rsp, err := (&Function{log: logging.NewNopLogger()}).RunFunction(context.Background(), r)
			if err != nil {
				t.Fatal(err)
			}
			if len(rsp.GetDesired().GetResources()) != len(r.GetObserved().GetResources()) {
				t.Fatalf("want the %d observed resources desired, got %v", len(r.GetObserved().GetResources()), rsp.GetDesired().GetResources())
			}
			for n, d := range rsp.GetDesired().GetResources() {
				obj := d.GetResource()
				if a := annotation(obj, adoptionAnnotation); a != "" {
					t.Errorf("%s: want no adoption recorded, got %q", n, a)
				}
				if mp := obj.GetFields()["spec"].GetStructValue().GetFields()["managementPolicies"]; mp != nil {
					t.Errorf("%s: want the provider's default management policies, got %v", n, mp)
				}
				if d.GetReady() != fnv1.Ready_READY_TRUE {
					t.Errorf("%s: want ready, got %v", n, d.GetReady())
				}
			}
		})
	}
}

func annotation(obj *structpb.Struct, name string) string {
	return obj.GetFields()["metadata"].GetStructValue().GetFields()["annotations"].GetStructValue().GetFields()[name].GetStringValue()
}

func fatal(rsp *fnv1.RunFunctionResponse) bool {
	for _, r := range rsp.GetResults() {
		if r.GetSeverity() == fnv1.Severity_SEVERITY_FATAL {
			return true
		}
	}
	return false
}
