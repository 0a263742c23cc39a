//go:build e2e && !e2e_provider

package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kmsv1 "github.com/upbound/provider-aws/v2/apis/cluster/kms/v1beta1"
)

const guarded = "xkmsbackends-guarded.kms.example.org"

// 1. The README's example claim: the Key and Alias appear with the claim's
// settings and computed policy; once the provider reports them, the claim
// shows all six status fields, its connection secret and Ready.
func TestExampleClaimBecomesReady(t *testing.T) {
	ctx := t.Context()
	ns := namespace(t, "vault")
	claim := exampleClaim(t, ns, "vault-backend")
	if err := cp.kube.Create(ctx, claim); err != nil {
		t.Fatal(err)
	}

	k, a := composedOne(t, ns, "vault-backend")
	fp := k.Spec.ForProvider
	if got := [4]any{ptr.Deref(fp.Region, ""), ptr.Deref(fp.DeletionWindowInDays, 0), ptr.Deref(fp.EnableKeyRotation, false), ptr.Deref(fp.Description, "")}; got != [4]any{"eu-west-1", 30.0, true, "KMS key for Vault backend encryption"} {
		t.Errorf("Key forProvider region, window, rotation, description: got %v", got)
	}
	if k.Spec.DeletionPolicy != "Delete" {
		t.Errorf("Key deletionPolicy: want Delete, got %q", k.Spec.DeletionPolicy)
	}
	if c := metav1.GetControllerOf(k); c == nil || c.Kind != "XKmsBackend" {
		t.Errorf("Key controller: want the XKmsBackend, got %v", c)
	}
	checkPolicy(t, ptr.Deref(fp.Policy, ""), map[string][]string{
		"EnableIAMUserPermissions":         {"arn:aws:iam::123456789012:root"},
		"KeyAdministrators":                {"arn:aws:iam::123456789012:role/platform-admin"},
		"KeyUsers":                         {"arn:aws:iam::123456789012:role/vault-server"},
		"KeyUsersPersistentResourceGrants": {"arn:aws:iam::123456789012:role/vault-server"},
	})
	if got := a.GetAnnotations()[externalName]; got != "vault-backend" {
		t.Errorf("Alias external name: want vault-backend, got %q", got)
	}
	if got := ptr.Deref(a.Spec.ForProvider.Region, ""); got != "eu-west-1" {
		t.Errorf("Alias region: want eu-west-1, got %q", got)
	}

	c := ready(t, ns, "vault-backend")
	aws, ok := sim.key(k.UID)
	if !ok {
		t.Fatal("the provider has not created the key")
	}
	checkStatus(t, c, aws, "vault-backend", 30)
	keyARN := "arn:aws:kms:eu-west-1:" + account + ":key/" + aws.ID
	if st, _, _ := condition(c, "SpecValid"); st != "True" {
		t.Errorf("claim SpecValid: want True, got %q", st)
	}

	s := &corev1.Secret{}
	eventually(t, "the claim's connection secret", func() error {
		if err := cp.kube.Get(ctx, objectKey(ns, "vault-backend-kms"), s); err != nil {
			return err
		}
		if got := string(s.Data["kmsKeyArn"]); got != keyARN {
			return fmt.Errorf("kmsKeyArn: want %q, got %q", keyARN, got)
		}
		return nil
	})

	// What an app team reads: the printer columns.
	// (kmsbackend alone would be ambiguous here: the namespaced flavour's
	// XR is a KmsBackend too, in kms.m.example.org.)
	out, err := kubectl(t, "get", "kmsbackends.kms.example.org", "-n", ns)
	if err != nil {
		t.Fatalf("kubectl get kmsbackend: %v\n%s", err, out)
	}
	t.Logf("kubectl get kmsbackends.kms.example.org -n %s:\n%s", ns, out)
	for _, w := range []string{"ALIAS", "KEY-ARN", "VALID", "SYNCED", "READY", "vault-backend", keyARN, reasonAvailable} {
		if !strings.Contains(out, w) {
			t.Errorf("kubectl get kmsbackend: want %q in\n%s", w, out)
		}
	}
}

// checkStatus checks the six status fields of a claim or XR against the
// key the provider made.
func checkStatus(t *testing.T, xr *unstructured.Unstructured, aws awsKey, alias string, window int64) {
	t.Helper()
	want := map[string]any{
		"kmsKeyId":              aws.ID,
		"kmsKeyArn":             "arn:aws:kms:eu-west-1:" + account + ":key/" + aws.ID,
		"kmsKeyAliasName":       "alias/" + alias,
		"kmsKeyAliasArn":        "arn:aws:kms:eu-west-1:" + account + ":alias/" + alias,
		"kmsKeyRotationEnabled": true,
		"kmsKeyDeletionWindow":  window,
	}
	for f, v := range want {
		if got, _, _ := unstructured.NestedFieldNoCopy(xr.Object, "status", f); got != v {
			t.Errorf("%s status.%s: want %v, got %v (%T)", xr.GetKind(), f, v, got, got)
		}
	}
}

// checkPolicy checks the key policy's statements: each Sid with its
// principals, in order.
func checkPolicy(t *testing.T, policy string, want map[string][]string) {
	t.Helper()
	var p struct {
		Version   string
		Statement []struct {
			Sid       string
			Principal struct{ AWS []string }
		}
	}
	if err := json.Unmarshal([]byte(policy), &p); err != nil {
		t.Fatalf("Key policy is not JSON: %v\n%s", err, policy)
	}
	got := map[string][]string{}
	for _, s := range p.Statement {
		got[s.Sid] = s.Principal.AWS
	}
	if p.Version != "2012-10-17" || len(got) != len(want) {
		t.Errorf("Key policy: want version 2012-10-17 and statements %v, got %s", want, policy)
	}
	for sid, principals := range want {
		if !slices.Equal(got[sid], principals) {
			t.Errorf("Key policy statement %s: want principals %v, got %v", sid, principals, got[sid])
		}
	}
}

// 2. A claim the XRD's schema refuses: kubectl apply fails naming each
// field, and nothing is stored.
func TestSchemaRefusesClaim(t *testing.T) {
	ns := namespace(t, "schema")
	claim := exampleClaim(t, ns, "bad", func(s map[string]any) {
		s["deletionWindowInDays"] = 3
		s["adminUsers"] = []any{"arn:aws:iam::123456789012:group/admins"}
		s["aliasName"] = "aws/bad"
	})
	out, err := kubectlIn(t, asYAML(t, claim), "apply", "-f", "-")
	if err == nil {
		t.Fatalf("kubectl apply of an invalid claim: want an error, got none:\n%s", out)
	}
	for _, f := range []string{"spec.deletionWindowInDays", "spec.adminUsers[0]", "spec.aliasName"} {
		if !strings.Contains(out, f) {
			t.Errorf("kubectl apply: want %s named in\n%s", f, out)
		}
	}
	if _, err := getClaim(t.Context(), ns, "bad"); !kerrors.IsNotFound(err) {
		t.Errorf("the refused claim: want not found, got %v", err)
	}
}

// 3. A claim the schema accepts but the function refuses (a principal in an
// account the platform's guardrail does not allow): SpecValid=False naming
// the field on the claim, a warning event to read with kubectl describe,
// and nothing composed.
func TestFunctionRefusesClaim(t *testing.T) {
	ctx := t.Context()
	ns := namespace(t, "guardrail")
	claim := exampleClaim(t, ns, "payments", func(s map[string]any) {
		s["compositionRef"] = map[string]any{"name": guarded}
		s["standardUsers"] = []any{"arn:aws:iam::123456789012:role/payments-api", "arn:aws:iam::999999999999:role/partner-etl"}
	})
	if err := cp.kube.Create(ctx, claim); err != nil {
		t.Fatal(err)
	}
	const field = `spec.standardUsers[1]: Invalid value: "arn:aws:iam::999999999999:role/partner-etl": account 999999999999 is not one the platform allows (123456789012)`
	eventually(t, "SpecValid=False on the claim", func() error {
		c, err := getClaim(ctx, ns, "payments")
		if err != nil {
			return err
		}
		if st, _, msg := condition(c, "SpecValid"); st != "False" || !strings.Contains(msg, field) {
			return fmt.Errorf("want SpecValid=False with %q: %s", field, claimState(ctx, ns, "payments"))
		}
		return nil
	})
	claimEvent(t, ns, "payments", "a warning naming the field", func(e string) bool {
		return strings.HasPrefix(e, "Warning") && strings.Contains(e, field)
	})
	keys, aliases, err := composed(ctx, ns, "payments")
	if err != nil {
		t.Fatal(err)
	}
	if len(keys)+len(aliases) != 0 {
		t.Errorf("a refused claim: want nothing composed, got %d Keys and %d Aliases", len(keys), len(aliases))
	}
}

// 4. Edits that would replace the key (its region) or rename its alias are
// refused, at admission by the XRD's transition rules or, where the region
// came from the platform's default, by the function; the Key is untouched
// and the key stays in AWS.
func TestKeyReplacingEditsAreRefused(t *testing.T) {
	ctx := t.Context()
	ns := namespace(t, "edits")

	t.Run("Admission", func(t *testing.T) {
		claim := exampleClaim(t, ns, "orders")
		if err := cp.kube.Create(ctx, claim); err != nil {
			t.Fatal(err)
		}
		k, _ := composedOne(t, ns, "orders")
		ready(t, ns, "orders")
		before := keyNow(t, k)

		for field, edit := range map[string]func(map[string]any){
			"spec.region":    func(s map[string]any) { s["region"] = "us-east-1" },
			"spec.aliasName": func(s map[string]any) { s["aliasName"] = "orders-renamed" },
		} {
			edited := exampleClaim(t, ns, "orders", edit)
			out, err := kubectlIn(t, asYAML(t, edited), "apply", "-f", "-")
			if err == nil || !strings.Contains(out, field) {
				t.Errorf("kubectl apply changing %s: want refused naming it, got err %v:\n%s", field, err, out)
			}
		}
		untouched(t, before)
	})

	t.Run("Function", func(t *testing.T) {
		// The platform's default region applied: the claim has none.
		claim := exampleClaim(t, ns, "ledger", func(s map[string]any) {
			s["compositionRef"] = map[string]any{"name": guarded}
			delete(s, "region")
		})
		if err := cp.kube.Create(ctx, claim); err != nil {
			t.Fatal(err)
		}
		k, _ := composedOne(t, ns, "ledger")
		ready(t, ns, "ledger")
		before := keyNow(t, k)
		if got := ptr.Deref(before.Spec.ForProvider.Region, ""); got != "eu-west-1" {
			t.Fatalf("Key region from the platform default: want eu-west-1, got %q", got)
		}

		// A first region passes admission (there was none to keep), so
		// the function must refuse it.
		out, err := kubectl(t, "patch", "kmsbackend", "ledger", "-n", ns, "--type=merge", "-p", `{"spec":{"region":"us-east-1"}}`)
		if err != nil {
			t.Fatalf("kubectl patch: %v\n%s", err, out)
		}
		eventually(t, "SpecValid=False naming spec.region", func() error {
			c, err := getClaim(ctx, ns, "ledger")
			if err != nil {
				return err
			}
			if st, _, msg := condition(c, "SpecValid"); st != "False" || !strings.Contains(msg, "spec.region") {
				return fmt.Errorf("%s", claimState(ctx, ns, "ledger"))
			}
			return nil
		})
		// Let Crossplane call the function twice more (a refused XR is
		// retried at once, with backoff) before looking for harm.
		twoMoreCalls(t)
		untouched(t, before)
	})
}

// keyNow returns the Key as it is now.
func keyNow(t *testing.T, k *kmsv1.Key) *kmsv1.Key {
	t.Helper()
	now := &kmsv1.Key{}
	if err := cp.kube.Get(t.Context(), client.ObjectKeyFromObject(k), now); err != nil {
		t.Fatal(err)
	}
	return now
}

// untouched checks the Key is the same object with the same forProvider,
// and its key is still enabled in AWS.
func untouched(t *testing.T, before *kmsv1.Key) {
	t.Helper()
	now := &kmsv1.Key{}
	if err := cp.kube.Get(t.Context(), client.ObjectKeyFromObject(before), now); err != nil {
		t.Fatalf("the Key: %v", err)
	}
	if now.UID != before.UID || now.DeletionTimestamp != nil {
		t.Errorf("the Key was replaced or is being deleted: UID %s -> %s, deletion %v", before.UID, now.UID, now.DeletionTimestamp)
	}
	b, _ := json.Marshal(before.Spec.ForProvider)
	n, _ := json.Marshal(now.Spec.ForProvider)
	if string(b) != string(n) {
		t.Errorf("the Key's forProvider changed:\nbefore %s\nnow    %s", b, n)
	}
	if aws, ok := sim.key(before.UID); !ok || aws.State != "Enabled" {
		t.Errorf("the key in AWS: want Enabled, got %+v", aws)
	}
}

// 5. Deleting a claim deletes its XR, Key and Alias from the API server.
// With deletionPolicy Delete the provider schedules the key's deletion after
// the claim's window and deletes the alias; with Orphan it keeps both in
// AWS.
func TestDeletion(t *testing.T) {
	ns := namespace(t, "deletion")
	for _, tc := range deletionPolicies {
		t.Run(tc.policy, func(t *testing.T) {
			ctx := t.Context()
			name := "gone-" + strings.ToLower(tc.policy)
			claim := exampleClaim(t, ns, name, func(s map[string]any) {
				s["deletionPolicy"] = tc.policy
				s["deletionWindowInDays"] = 9
			})
			if err := cp.kube.Create(ctx, claim); err != nil {
				t.Fatal(err)
			}
			k, a := composedOne(t, ns, name)
			if string(k.Spec.DeletionPolicy) != tc.policy || string(a.Spec.DeletionPolicy) != tc.policy {
				t.Errorf("deletionPolicy of Key and Alias: want %s, got %s and %s", tc.policy, k.Spec.DeletionPolicy, a.Spec.DeletionPolicy)
			}
			c := ready(t, ns, name)
			xr, _, _ := unstructured.NestedString(c.Object, "spec", "resourceRef", "name")

			if err := cp.kube.Delete(ctx, c); err != nil {
				t.Fatal(err)
			}
			x := &unstructured.Unstructured{}
			x.SetGroupVersionKind(xrGVK)
			gone := []struct {
				obj client.Object
				key client.ObjectKey
			}{
				{c, client.ObjectKeyFromObject(c)},
				{x, objectKey("", xr)},
				{&kmsv1.Key{}, objectKey("", k.Name)},
				{&kmsv1.Alias{}, objectKey("", a.Name)},
			}
			eventually(t, "the claim, XR, Key and Alias gone", func() error {
				for _, g := range gone {
					err := cp.kube.Get(ctx, g.key, g.obj)
					if err == nil {
						return fmt.Errorf("%T %s still there", g.obj, g.key)
					}
					if !kerrors.IsNotFound(err) {
						return err
					}
				}
				return nil
			})
			aws, ok := sim.key(k.UID)
			if !ok || aws.State != tc.wantState {
				t.Errorf("the key in AWS after deleting a claim with deletionPolicy %s: want %s, got %+v", tc.policy, tc.wantState, aws)
			}
			if tc.wantState == "PendingDeletion" && aws.Window != 9 {
				t.Errorf("the key's deletion window: want the claim's 9 days, got %v", aws.Window)
			}
			if _, ok := sim.alias(name); ok != (tc.policy == "Orphan") {
				t.Errorf("alias/%s in AWS after deleting a claim with deletionPolicy %s: exists %v", name, tc.policy, ok)
			}
		})
	}
}

// 5b. A claim with a replica region: the multi-region Key, its ReplicaKey in
// the other region naming the Key's ARN, and an Alias in each region; the
// claim Ready with the replica's key and alias ARNs in its status; deleting
// the claim schedules both the primary key and the replica for deletion,
// with the claim's window.
func TestReplicas(t *testing.T) {
	ctx := t.Context()
	ns := namespace(t, "replicas")
	const name = "dr-backend"
	claim := exampleClaim(t, ns, name, func(s map[string]any) {
		s["replicaRegions"] = []any{"us-east-1"}
		s["deletionWindowInDays"] = 9
	})
	if err := cp.kube.Create(ctx, claim); err != nil {
		t.Fatal(err)
	}
	c := ready(t, ns, name)

	sel := client.MatchingLabels{"crossplane.io/claim-namespace": ns, "crossplane.io/claim-name": name}
	keys, replicas, aliases := &kmsv1.KeyList{}, &kmsv1.ReplicaKeyList{}, &kmsv1.AliasList{}
	for _, l := range []client.ObjectList{keys, replicas, aliases} {
		if err := cp.kube.List(ctx, l, sel); err != nil {
			t.Fatal(err)
		}
	}
	if len(keys.Items) != 1 || len(replicas.Items) != 1 || len(aliases.Items) != 2 {
		t.Fatalf("want one Key, one ReplicaKey and two Aliases, got %d, %d and %d", len(keys.Items), len(replicas.Items), len(aliases.Items))
	}
	k, r := &keys.Items[0], &replicas.Items[0]
	if !ptr.Deref(k.Spec.ForProvider.MultiRegion, false) {
		t.Errorf("Key multiRegion: want true, got %v", k.Spec.ForProvider.MultiRegion)
	}
	keyARN := ptr.Deref(k.Status.AtProvider.Arn, "")
	if got := ptr.Deref(r.Spec.ForProvider.PrimaryKeyArn, ""); keyARN == "" || got != keyARN {
		t.Errorf("ReplicaKey primaryKeyArn: want the Key's ARN %q, got %q", keyARN, got)
	}
	if got := ptr.Deref(r.Spec.ForProvider.Region, ""); got != "us-east-1" {
		t.Errorf("ReplicaKey region: want us-east-1, got %q", got)
	}
	regions := map[string]string{}
	for _, a := range aliases.Items {
		regions[ptr.Deref(a.Spec.ForProvider.Region, "")] = ptr.Deref(a.Spec.ForProvider.TargetKeyID, "")
	}
	id := ptr.Deref(k.Status.AtProvider.KeyID, "")
	if want := map[string]string{"eu-west-1": id, "us-east-1": id}; id == "" || !equality.Semantic.DeepEqual(regions, want) {
		t.Errorf("Aliases by region, with their target key id: want %v, got %v", want, regions)
	}
	want := []any{map[string]any{
		"region":   "us-east-1",
		"keyArn":   ptr.Deref(r.Status.AtProvider.Arn, ""),
		"aliasArn": "arn:aws:kms:us-east-1:" + account + ":alias/" + name,
	}}
	if got, _, _ := unstructured.NestedSlice(c.Object, "status", "replicas"); !equality.Semantic.DeepEqual(got, want) {
		t.Errorf("claim status.replicas: want %v, got %v", want, got)
	}

	deleteAndWait(t, c, named(keyKinds[0], k.Name), named(replicaKinds[0], r.Name))
	for what, uid := range map[string]types.UID{"key": k.UID, "replica": r.UID} {
		if aws, ok := sim.key(uid); !ok || aws.State != "PendingDeletion" || aws.Window != 9 {
			t.Errorf("the %s in AWS after deleting the claim: want PendingDeletion with the claim's 9-day window, got %+v", what, aws)
		}
	}
}

// 5c. Two multi-region keys in different regions, replicated into one
// region under one alias name: the second claim is refused, naming
// spec.replicaRegions and the region, with nothing composed, because the
// first's Alias there already manages the alias; the first stays Ready.
func TestReplicaAliasOwner(t *testing.T) {
	ctx := t.Context()
	first, second := namespace(t, "dr-first"), namespace(t, "dr-second")
	const alias = "shared-dr"
	claimIn := func(ns, region string) *unstructured.Unstructured {
		return exampleClaim(t, ns, "dr", func(s map[string]any) {
			s["aliasName"], s["region"], s["replicaRegions"] = alias, region, []any{"us-east-1"}
		})
	}
	if err := cp.kube.Create(ctx, claimIn(first, "eu-west-1")); err != nil {
		t.Fatal(err)
	}
	ready(t, first, "dr")
	if err := cp.kube.Create(ctx, claimIn(second, "eu-central-1")); err != nil {
		t.Fatal(err)
	}
	const want = "spec.replicaRegions: Forbidden: alias/" + alias + " in us-east-1, with provider config default, is already managed by another KmsBackend"
	eventually(t, "SpecValid=False on the second claim", func() error {
		c, err := getClaim(ctx, second, "dr")
		if err != nil {
			return err
		}
		if st, _, msg := condition(c, "SpecValid"); st != "False" || !strings.Contains(msg, want) {
			return fmt.Errorf("want SpecValid=False with %q: %s", want, claimState(ctx, second, "dr"))
		}
		return nil
	})
	keys, aliases, err := composed(ctx, second, "dr")
	if err != nil {
		t.Fatal(err)
	}
	if len(keys)+len(aliases) != 0 {
		t.Errorf("the refused claim: want nothing composed, got %d Keys and %d Aliases", len(keys), len(aliases))
	}
	c := ready(t, first, "dr")
	if st, reason, _ := condition(c, keyAvailable); st != "True" || reason != reasonAvailable {
		t.Errorf("the first claim: want KeyAvailable=True, got %s (%s)", st, reason)
	}
}

// 5d. One call per steady reconcile. A claim's Alias, once Ready and a
// minute old, is confirmed as the owner of its alias by an answer of
// Crossplane that lists it and no older Alias, and records it
// (kms.example.org/alias-owner-confirmed, its alias id). From then on the
// function asks Crossplane nothing for that claim: each call logs no region
// asked and none answered, so Crossplane, which calls again only when a call
// returns requirements, makes one call per reconcile. A second claim naming
// the alias asks on its first call, is answered on its second, and is
// refused, with nothing composed; the first keeps the alias and its
// confirmation.
func TestAliasOwnerConfirmed(t *testing.T) {
	ctx := t.Context()
	first, second := namespace(t, "owner-first"), namespace(t, "owner-second")
	const alias = "steady-owner"
	claimIn := func(ns string) *unstructured.Unstructured {
		return exampleClaim(t, ns, "steady", func(s map[string]any) { s["aliasName"] = alias })
	}
	if err := cp.kube.Create(ctx, claimIn(first)); err != nil {
		t.Fatal(err)
	}
	ready(t, first, "steady")
	owner := xrName(t, first, "steady")
	// Crossplane reconciles a steady XR about once a minute; a change to
	// the XR (an annotation of the test's) makes it reconcile at once.
	pokes := 0
	poke := func() {
		pokes++
		xr := named(xrGVK, owner)
		patch := fmt.Sprintf(`{"metadata":{"annotations":{"e2e.kms.example.org/poke":"%d"}}}`, pokes)
		if err := cp.kube.Patch(ctx, xr, client.RawPatch(types.MergePatchType, []byte(patch))); err != nil {
			t.Fatal(err)
		}
	}
	// nudged pokes the XR every five seconds while it waits for check.
	poked := time.Now()
	nudged := func(check func() error) func() error {
		return func() error {
			if time.Since(poked) > 5*time.Second {
				poke()
				poked = time.Now()
			}
			return check()
		}
	}
	eventually(t, "the owner's Alias confirmed", nudged(func() error {
		_, aliases, err := composed(ctx, first, "steady")
		if err != nil {
			return err
		}
		if len(aliases) != 1 {
			return fmt.Errorf("want one Alias, got %d", len(aliases))
		}
		a := aliases[0]
		if id, got := a.GetLabels()[aliasIDLabel], a.GetAnnotations()[aliasOwnerAnnotation]; id == "" || got != id {
			return fmt.Errorf("want %s=%q (its %s label), got %q", aliasOwnerAnnotation, id, aliasIDLabel, got)
		}
		return nil
	}))

	// The first call after the confirmation may still carry an answer to
	// the last reconcile's requirement (Crossplane v2.4 seeds it); from the
	// first call that neither asks nor is answered on, every call is one.
	eventually(t, "a call for the owner that asks nothing", nudged(func() error {
		for _, c := range ownerChecks(t, owner, 0) {
			if len(c.Asked)+len(c.Answered) == 0 {
				return nil
			}
		}
		return errors.New("none yet")
	}))
	reconcilesFrom, callsFrom := logSize(t, crossplaneLog(t)), logSize(t, cp.fn.log)
	for range 3 {
		n := len(ownerChecks(t, owner, callsFrom))
		poke()
		eventually(t, "a call for the owner after a change of its XR", func() error {
			if len(ownerChecks(t, owner, callsFrom)) == n {
				return errors.New("none yet")
			}
			return nil
		})
	}
	calls := ownerChecks(t, owner, callsFrom)
	for _, c := range calls {
		if len(c.Asked)+len(c.Answered) != 0 || !slices.Equal(c.Confirmed, []string{"eu-west-1"}) {
			t.Errorf("a steady call for the owner: want nothing asked or answered and eu-west-1 confirmed, got %+v", c)
		}
	}
	// Crossplane logs each reconcile of the XR. A reconcile under way when
	// the logs were measured may have its call counted and not itself: one
	// more call than reconciles is one call each; two calls each would be
	// twice as many.
	if reconciles := reconcilesOf(t, owner, reconcilesFrom); len(calls) > reconciles+1 {
		t.Errorf("the owner's steady reconciles: want one call each, got %d calls in %d reconciles", len(calls), reconciles)
	}

	from := logSize(t, cp.fn.log)
	if err := cp.kube.Create(ctx, claimIn(second)); err != nil {
		t.Fatal(err)
	}
	const want = "spec.aliasName: Forbidden: alias/" + alias + " in eu-west-1, with provider config default, is already managed by another KmsBackend"
	eventually(t, "SpecValid=False on the second claim", func() error {
		c, err := getClaim(ctx, second, "steady")
		if err != nil {
			return err
		}
		if st, _, msg := condition(c, "SpecValid"); st != "False" || !strings.Contains(msg, want) {
			return fmt.Errorf("want SpecValid=False with %q: %s", want, claimState(ctx, second, "steady"))
		}
		return nil
	})
	newcomer := ownerChecks(t, xrName(t, second, "steady"), from)
	if len(newcomer) < 2 || !slices.Equal(newcomer[0].Asked, []string{"eu-west-1"}) || len(newcomer[0].Answered) != 0 ||
		!slices.Equal(newcomer[1].Answered, []string{"eu-west-1"}) {
		t.Errorf("the newcomer's first reconcile: want a call that asks for eu-west-1, then one with the answer, got %+v", newcomer)
	}
	keys, aliases, err := composed(ctx, second, "steady")
	if err != nil {
		t.Fatal(err)
	}
	if len(keys)+len(aliases) != 0 {
		t.Errorf("the refused claim: want nothing composed, got %d Keys and %d Aliases", len(keys), len(aliases))
	}
	c := ready(t, first, "steady")
	if st, reason, _ := condition(c, keyAvailable); st != "True" || reason != reasonAvailable {
		t.Errorf("the owner: want KeyAvailable=True, got %s (%s)", st, reason)
	}
	_, a := composedOne(t, first, "steady")
	if got := a.GetAnnotations()[aliasOwnerAnnotation]; got == "" || got != a.GetLabels()[aliasIDLabel] {
		t.Errorf("the owner's Alias: want its confirmation kept, got %q", got)
	}
}

// The label and annotation of the function's alias guard.
const (
	aliasIDLabel         = "kms.example.org/alias-id"
	aliasOwnerAnnotation = "kms.example.org/alias-owner-confirmed"
)

// xrName is the name of a claim's XR.
func xrName(t *testing.T, ns, claim string) string {
	t.Helper()
	var name string
	eventually(t, "the XR of "+ns+"/"+claim, func() error {
		c, err := getClaim(t.Context(), ns, claim)
		if err != nil {
			return err
		}
		if name, _, _ = unstructured.NestedString(c.Object, "spec", "resourceRef", "name"); name == "" {
			return errors.New("the claim names no XR yet")
		}
		return nil
	})
	return name
}

// ownerCheck is what the function logs, at debug level, of one call's
// check of the alias's owners: the regions it asked Crossplane for, those
// Crossplane had answered, and those whose ownership is confirmed.
type ownerCheck struct {
	XR        string   `json:"xr-name"`
	Asked     []string `json:"asked"`
	Answered  []string `json:"answered"`
	Confirmed []string `json:"confirmed"`
}

// ownerChecks returns the checks of the alias's owners the function logged
// for the XR named xr, one a call, from the offset from of its log on.
func ownerChecks(t *testing.T, xr string, from int64) []ownerCheck {
	t.Helper()
	b, err := os.ReadFile(cp.fn.log)
	if err != nil {
		t.Fatal(err)
	}
	var out []ownerCheck
	for line := range strings.Lines(string(b[min(from, int64(len(b))):])) {
		// The development logger's line: time, level, caller, message and
		// the fields as a JSON object, separated by tabs.
		if !strings.Contains(line, "\tChecked the alias's owners\t") {
			continue
		}
		var c ownerCheck
		if err := json.Unmarshal([]byte(line[strings.LastIndex(line, "\t")+1:]), &c); err != nil {
			t.Fatalf("cannot read the function's log line %q: %v", line, err)
		}
		if c.XR == xr {
			out = append(out, c)
		}
	}
	return out
}

// logSize is the size of a process's log so far.
func logSize(t *testing.T, log string) int64 {
	t.Helper()
	fi, err := os.Stat(log)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// reconcilesOf counts the reconciles of the XR named xr that Crossplane
// logged, at debug level, from the offset from of its log on.
func reconcilesOf(t *testing.T, xr string, from int64) int {
	t.Helper()
	b, err := os.ReadFile(crossplaneLog(t))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for line := range strings.Lines(string(b[min(from, int64(len(b))):])) {
		if strings.Contains(line, "\tReconciling\t") && strings.Contains(line, `"request": {"name":"`+xr+`"}`) {
			n++
		}
	}
	return n
}

// crossplaneLog is the path of Crossplane core's log.
func crossplaneLog(t *testing.T) string {
	t.Helper()
	for _, p := range cp.procs {
		if p.name == "crossplane" {
			return p.log
		}
	}
	t.Fatal("Crossplane core is not running")
	return ""
}

// named is a cluster-scoped object of a kind by name, as deleteAndWait
// takes it.
func named(gvk schema.GroupVersionKind, name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	u.SetName(name)
	return u
}

// 6. The function process is killed while Crossplane reconciles. Crossplane
// v2.4's gRPC client does not fail a call to a function that is down: it
// waits for the connection to come back (up to the XR's reconcile timeout).
// So: kill the function, create a claim, see Crossplane's call to the
// function in flight (its own metrics) and nothing composed; start the
// function again, and the claim converges.
func TestFunctionRestart(t *testing.T) {
	ctx := t.Context()
	ns := namespace(t, "restart")

	cp.fn.kill()
	t.Cleanup(func() {
		if cp.fn.running() != nil {
			_ = cp.startFunction()
		}
	})
	claim := exampleClaim(t, ns, "billing")
	if err := cp.kube.Create(ctx, claim); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a call to the killed function in flight", func() error {
		sent, answered, err := functionCalls()
		if err != nil {
			return err
		}
		if sent <= answered {
			return fmt.Errorf("calls sent %v, answered %v", sent, answered)
		}
		return nil
	})
	keys, aliases, err := composed(ctx, ns, "billing")
	if err != nil {
		t.Fatal(err)
	}
	if len(keys)+len(aliases) != 0 {
		t.Errorf("with the function down: want nothing composed, got %d Keys and %d Aliases", len(keys), len(aliases))
	}

	if err := cp.startFunction(); err != nil {
		t.Fatal(err)
	}
	composedOne(t, ns, "billing")
	c := ready(t, ns, "billing")
	if got, _, _ := unstructured.NestedString(c.Object, "status", "kmsKeyArn"); got == "" {
		t.Errorf("claim status.kmsKeyArn: want the key's ARN, got none")
	}
}

// twoMoreCalls waits until Crossplane has had two more answers from the
// function (one reconcile of a valid XR calls it twice, to answer its
// requirements; a refused one once).
func twoMoreCalls(t *testing.T) {
	t.Helper()
	_, answered, err := functionCalls()
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "two more calls to the function", func() error {
		_, n, err := functionCalls()
		if err != nil {
			return err
		}
		if n < answered+2 {
			return fmt.Errorf("%v answered calls, want %v", n, answered+2)
		}
		return nil
	})
}

// functionCalls returns how many calls Crossplane has sent to the function
// and how many were answered (with any gRPC code), from its metrics.
func functionCalls() (sent, answered float64, err error) {
	rsp, err := http.Get("http://" + crossplaneMetrics + "/metrics") //nolint:noctx // Loopback, short.
	if err != nil {
		return 0, 0, err
	}
	defer rsp.Body.Close() //nolint:errcheck // Read only.
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(rsp.Body)
	if err != nil {
		return 0, 0, err
	}
	sum := func(name string) float64 {
		var n float64
		for _, m := range mfs[name].GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "function_name" && l.GetValue() == functionName {
					n += m.GetCounter().GetValue()
				}
			}
		}
		return n
	}
	return sum("function_run_function_request_total"), sum("function_run_function_response_total"), nil
}

// 7. The namespaced flavour (Crossplane v2): a KmsBackend XR in the app
// team's namespace composes namespaced Key and Alias next to it, with a
// ClusterProviderConfig; it becomes Ready with the six status fields.
// Deleting it deletes them; with deletionPolicy Orphan the Key's management
// policies leave out Delete, and the key stays in AWS.
func TestNamespacedXR(t *testing.T) {
	for _, tc := range deletionPolicies {
		t.Run(tc.policy, func(t *testing.T) {
			ctx := t.Context()
			ns := namespace(t, "namespaced-"+strings.ToLower(tc.policy))
			name := "vault-" + strings.ToLower(tc.policy)
			xr := namespacedXR(t, ns, name, tc.policy)
			if err := cp.kube.Create(ctx, xr); err != nil {
				t.Fatal(err)
			}

			var k, a *unstructured.Unstructured
			eventually(t, "the XR's namespaced Key and Alias", func() error {
				var err error
				k, err = onlyOne(ctx, keyKinds[1], ns, name)
				if err != nil {
					return err
				}
				a, err = onlyOne(ctx, aliasKinds[1], ns, name)
				return err
			})
			if kind, _, _ := unstructured.NestedString(k.Object, "spec", "providerConfigRef", "kind"); kind != "ClusterProviderConfig" {
				t.Errorf("Key providerConfigRef.kind: want ClusterProviderConfig, got %q", kind)
			}
			mp, _, _ := unstructured.NestedStringSlice(k.Object, "spec", "managementPolicies")
			if keeps := len(mp) > 0 && !slices.Contains(mp, "*") && !slices.Contains(mp, "Delete"); keeps != (tc.policy == "Orphan") {
				t.Errorf("Key managementPolicies with deletionPolicy %s: got %v", tc.policy, mp)
			}
			if got := a.GetAnnotations()[externalName]; got != name {
				t.Errorf("Alias external name: want %s, got %q", name, got)
			}

			eventually(t, "the XR Ready", func() error {
				if err := cp.kube.Get(ctx, client.ObjectKeyFromObject(xr), xr); err != nil {
					return err
				}
				if st, _, msg := condition(xr, "Ready"); st != "True" {
					return fmt.Errorf("Ready=%q %s", st, msg)
				}
				return nil
			})
			aws, ok := sim.key(k.GetUID())
			if !ok {
				t.Fatal("the provider has not created the key")
			}
			checkStatus(t, xr, aws, name, 30)

			deleteAndWait(t, xr, k, a)
			if aws, _ := sim.key(k.GetUID()); aws.State != tc.wantState {
				t.Errorf("the key in AWS after deleting an XR with deletionPolicy %s: want %s, got %+v", tc.policy, tc.wantState, aws)
			}
		})
	}
}

// 8. The provider reports that its credentials may not create the key: the
// claim alone says why it is not ready, in the provider's words, as
// KeyAvailable=False with reason ProviderError and a warning event. The
// request id in the provider's message changes every few seconds; the
// claim's condition does not. Once the claim names credentials that work,
// the key is created and the condition turns True.
func TestProviderFailureShowsOnClaim(t *testing.T) {
	ctx := t.Context()
	ns := namespace(t, "denied")
	claim := exampleClaim(t, ns, "denied", func(s map[string]any) { s["providerConfigName"] = deniedProviderConfig })
	if err := cp.kube.Create(ctx, claim); err != nil {
		t.Fatal(err)
	}
	const want = "key: create failed: async create failed: failed to create the resource: creating KMS Key: " +
		"operation error KMS: CreateKey, https response error StatusCode: 400, AccessDeniedException: User: " +
		"arn:aws:sts::" + account + ":assumed-role/crossplane-provider/session is not authorized to perform: kms:CreateKey " +
		"because no identity-based policy allows the kms:CreateKey action"
	eventually(t, "KeyAvailable=False, reason ProviderError, on the claim", func() error {
		c, err := getClaim(ctx, ns, "denied")
		if err != nil {
			return err
		}
		if st, reason, msg := condition(c, keyAvailable); st != "False" || reason != reasonProviderError || msg != want {
			return fmt.Errorf("want KeyAvailable=False (%s) %q, got %s (%s) %q", reasonProviderError, want, st, reason, msg)
		}
		return nil
	})
	claimEvent(t, ns, "denied", "a ProviderError warning", func(e string) bool {
		return e == "Warning "+reasonProviderError+": "+want
	})

	// The provider reports the failure again with another request id, and
	// the function runs again; the claim's condition stays as it was, down
	// to its transition time.
	k, _ := composedOne(t, ns, "denied")
	key := &unstructured.Unstructured{}
	key.SetGroupVersionKind(keyKinds[0])
	before, err := getClaim(ctx, ns, "denied")
	if err != nil {
		t.Fatal(err)
	}
	if err := cp.kube.Get(ctx, objectKey("", k.Name), key); err != nil {
		t.Fatal(err)
	}
	_, _, first := condition(key, "Synced")
	eventually(t, "the provider reporting the failure again", func() error {
		if err := cp.kube.Get(ctx, objectKey("", k.Name), key); err != nil {
			return err
		}
		if _, _, msg := condition(key, "Synced"); msg == first {
			return fmt.Errorf("the Key's Synced message is unchanged: %q", msg)
		}
		return nil
	})
	twoMoreCalls(t)
	after, err := getClaim(ctx, ns, "denied")
	if err != nil {
		t.Fatal(err)
	}
	if b, a := conditionOf(before, keyAvailable), conditionOf(after, keyAvailable); !equality.Semantic.DeepEqual(b, a) {
		t.Errorf("the claim's KeyAvailable changed while the failure stayed the same:\nbefore %v\nafter  %v", b, a)
	}

	// Credentials that work: the key is created and the condition turns True.
	if err := cp.kube.Patch(ctx, before, client.RawPatch(types.MergePatchType, []byte(`{"spec":{"providerConfigName":"default"}}`))); err != nil {
		t.Fatal(err)
	}
	eventually(t, "KeyAvailable=True on the claim", func() error {
		c, err := getClaim(ctx, ns, "denied")
		if err != nil {
			return err
		}
		if st, reason, msg := condition(c, keyAvailable); st != "True" || reason != reasonAvailable {
			return fmt.Errorf("KeyAvailable=%s (%s) %q", st, reason, msg)
		}
		return nil
	})
}

// conditionOf returns an object's condition of type t, as the API server
// holds it.
func conditionOf(u *unstructured.Unstructured, t string) map[string]any {
	cs, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range cs {
		if m, ok := c.(map[string]any); ok && m["type"] == t {
			return m
		}
	}
	return nil
}
