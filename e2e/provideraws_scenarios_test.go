//go:build e2e_provider

package e2e

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite the provider-failure fixtures under testdata/ from what the provider writes")

// How long a failure is left to settle before -update records it: two of
// Crossplane's polls and more than one of the provider's.
const settle = 35 * time.Second

// secondUser adds a standard user to the example, after the one it has and
// out of their sorted order, so that two statements name two principals
// each. Scenario 1 compares the policy in KMS with the Key's as JSON, where
// order counts, so a principal order that changed between reconciles fails
// there. (Scenario 2 would not see it: provider-aws treats reordered
// policies as equivalent and writes nothing.)
func secondUser(spec map[string]any) {
	spec["standardUsers"] = append(spec["standardUsers"].([]any), "arn:aws:iam::123456789012:role/vault-agent")
}

// The edit an app team makes to a Ready claim: a second standard user, a
// new description and a shorter deletion window.
const (
	addedUser     = "arn:aws:iam::123456789012:role/vault-auditor"
	editedDesc    = "KMS key for Vault backend encryption, shared with auditors"
	editedWindow  = 7
	exampleWindow = 30
)

// The example claim on provider-aws' own KMS controllers, in both flavours,
// with a second standard user (secondUser), one scenario after another on
// the same claim:
//
//  1. it becomes Ready; the emulator holds one new key with the
//     description, rotation and policy the function computed, the alias
//     targets it, and the status carries the emulator's ids and ARNs;
//  2. once Ready, nothing is written to KMS over three of the provider's polls;
//  3. an edit (a user, the description, the window) reaches the key in place;
//  4. deleting it schedules the key's deletion with the claim's window and
//     deletes the alias; with deletionPolicy Orphan both stay.
func TestExampleClaimOnProviderAWS(t *testing.T) {
	t.Parallel()
	for _, f := range flavours {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			ns := namespace(t, "aws-"+f.name)
			s := newLane(t, ns, localKMS).story(f, ns, "vault-backend", secondUser)
			for _, step := range []struct {
				name string
				run  func(*testing.T)
			}{
				{"1 Ready with the key in KMS", s.ready},
				{"2 no write to KMS once Ready", s.steady},
				{"3 an edit reaches the key in place", s.edit},
				{"4 Delete schedules the key's deletion", s.deleted},
			} {
				if !t.Run(step.name, step.run) {
					return
				}
			}
		})
	}
	for _, f := range flavours {
		t.Run(f.name+"/4 Orphan keeps the key and alias", func(t *testing.T) {
			t.Parallel()
			ns := namespace(t, "aws-"+f.name+"-orphan")
			l := newLane(t, ns, localKMS)
			s := l.story(f, ns, "vault-kept-"+f.name, func(spec map[string]any) {
				spec["deletionPolicy"] = "Orphan"
			})
			s.ready(t)
			s.orphaned(t)
			// The kept alias, named by a new claim, is not taken over: it
			// still targets the orphaned key.
			refusedForAliasInAWS(t, f, l, f.app(t, namespace(t, "aws-"+f.name+"-orphan-again"), s.name, l.use), s.name, s.keyID, providerPoll)
		})
	}
}

// story is one claim (or namespaced XR) through the scenarios, and what
// they learn of it.
type story struct {
	f     flavour
	lane  *lane
	kms   *kms.Client // the lane's emulator, in emulatorRegion
	ns    string
	name  string
	edits []func(map[string]any)

	app   *unstructured.Unstructured // as last read
	keyID string                     // the key in KMS
}

func (s *story) ready(t *testing.T) {
	ctx := t.Context()
	before, err := emulatorKeys(ctx, s.kms)
	if err != nil {
		t.Fatal(err)
	}
	rec := s.lane.rec
	mark := rec.mark()
	s.app = s.f.app(t, s.ns, s.name)
	for _, e := range s.edits {
		e(s.app.Object["spec"].(map[string]any))
	}
	if err := cp.kube.Create(ctx, s.app); err != nil {
		t.Fatal(err)
	}
	s.waitReady(t)
	t.Logf("the provider's KMS writes until Ready: %v", writes(rec.since(mark)))
	key, _ := s.composed(t)

	after, err := emulatorKeys(ctx, s.kms)
	if err != nil {
		t.Fatal(err)
	}
	var created []string
	for id := range after {
		if !before[id] {
			created = append(created, id)
		}
	}
	if len(created) != 1 {
		t.Fatalf("want one new key in KMS, got %d: %v", len(created), created)
	}
	s.keyID = created[0]
	if got := key.GetAnnotations()[externalName]; got != s.keyID {
		t.Errorf("Key external name: want the KMS key id %s, got %q", s.keyID, got)
	}
	s.checkKey(t, key)

	alias := s.alias(t)
	if alias == nil || alias.TargetKeyID != s.keyID {
		t.Fatalf("KMS alias alias/%s: want it to target key %s, got %v", s.name, s.keyID, alias)
	}
	meta := s.describe(t)
	rotation, err := s.kms.GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: aws.String(s.keyID)})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"kmsKeyId":              s.keyID,
		"kmsKeyArn":             aws.ToString(meta.Arn),
		"kmsKeyAliasName":       "alias/" + s.name,
		"kmsKeyAliasArn":        alias.ARN,
		"kmsKeyRotationEnabled": rotation.KeyRotationEnabled,
		"kmsKeyDeletionWindow":  int64(exampleWindow),
	}
	checkStatusIs(t, s.app, want)

	// What an app team reads: the printer columns. A legacy claim copies
	// its XR's conditions, and Crossplane's claim controller has been seen
	// to copy an older XR's for a moment right after the first Ready, so
	// the columns are read until they show Available.
	var out string
	eventually(t, "kubectl get "+s.f.resource+" shows the key Available", func() error {
		var err error
		if out, err = kubectl(t, "get", s.f.resource, "-n", s.ns, s.name); err != nil {
			return fmt.Errorf("kubectl get %s: %w\n%s", s.f.resource, err, out)
		}
		for _, w := range []string{"ALIAS", "KEY-ARN", "VALID", "READY", "alias/" + s.name, aws.ToString(meta.Arn), "True", reasonAvailable} {
			if !strings.Contains(out, w) {
				return fmt.Errorf("want %q in\n%s", w, out)
			}
		}
		return nil
	})
	t.Logf("kubectl get %s -n %s %s:\n%s", s.f.resource, s.ns, s.name, out)
}

// checkKey checks the key in KMS against the Key the function composed:
// description, rotation and policy (as JSON), and that it is Enabled.
func (s *story) checkKey(t *testing.T, key *unstructured.Unstructured) {
	t.Helper()
	ctx := t.Context()
	fp, _, _ := unstructured.NestedMap(key.Object, "spec", "forProvider")
	meta := s.describe(t)
	if got := aws.ToString(meta.Description); got != fp["description"] {
		t.Errorf("KMS key description: want %q (the Key's), got %q", fp["description"], got)
	}
	if meta.KeyState != kmstypes.KeyStateEnabled {
		t.Errorf("KMS key state: want Enabled, got %s", meta.KeyState)
	}
	rotation, err := s.kms.GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: aws.String(s.keyID)})
	if err != nil {
		t.Fatal(err)
	}
	if rotation.KeyRotationEnabled != fp["enableKeyRotation"] {
		t.Errorf("KMS key rotation: want %v (the Key's), got %v", fp["enableKeyRotation"], rotation.KeyRotationEnabled)
	}
	policy, err := s.kms.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: aws.String(s.keyID), PolicyName: aws.String("default")})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := fp["policy"].(string)
	if err := sameJSON(want, aws.ToString(policy.Policy)); err != nil {
		t.Errorf("KMS key policy: not the Key's: %v", err)
	}
}

func (s *story) steady(t *testing.T) {
	// Three of the provider's polls, and Crossplane's (15s) as many times.
	window := 3*providerPoll + providerPoll/2
	rec := s.lane.rec
	mark := rec.mark()
	select {
	case <-t.Context().Done():
		t.Fatal(t.Context().Err())
	case <-time.After(window):
	}
	calls := rec.since(mark)
	if w := writes(calls); len(w) > 0 {
		t.Errorf("KMS write calls in %s after Ready: want none, got %v (every call, by region: %v)", window, w, rec.sinceIn(mark))
	}
	// The window proves something only if the provider did compare the key
	// with KMS meanwhile.
	if n := count(calls, "GetKeyPolicy"); n < 3 {
		t.Errorf("the provider read the key policy %d times in %s: want at least 3 polls (every call: %v)", n, window, calls)
	}
}

func (s *story) edit(t *testing.T) {
	ctx := t.Context()
	before, err := emulatorKeys(ctx, s.kms)
	if err != nil {
		t.Fatal(err)
	}
	s.get(t)
	rec := s.lane.rec
	mark := rec.mark()
	orig := s.app.DeepCopy()
	spec := s.app.Object["spec"].(map[string]any)
	spec["standardUsers"] = append(spec["standardUsers"].([]any), addedUser)
	spec["description"] = editedDesc
	spec["deletionWindowInDays"] = int64(editedWindow)
	if err := cp.kube.Patch(ctx, s.app, client.MergeFrom(orig), fieldOwner); err != nil {
		t.Fatal(err)
	}

	eventually(t, "the edit in KMS", func() error {
		meta := s.describe(t)
		if got := aws.ToString(meta.Description); got != editedDesc {
			return fmt.Errorf("description %q", got)
		}
		policy, err := s.kms.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: aws.String(s.keyID), PolicyName: aws.String("default")})
		if err != nil {
			return err
		}
		if users := principals(aws.ToString(policy.Policy), "KeyUsers"); !slices.Contains(users, addedUser) {
			return fmt.Errorf("KeyUsers are %v", users)
		}
		return nil
	})
	w := writes(rec.since(mark))
	t.Logf("the provider's KMS writes for the edit: %v", w)
	for _, op := range []string{"CreateKey", "ScheduleKeyDeletion", "CreateAlias", "DeleteAlias"} {
		if slices.Contains(w, op) {
			t.Errorf("KMS writes for an edit: want it made in place, got %s among %v", op, w)
		}
	}
	key, _ := s.composed(t)
	if got := key.GetAnnotations()[externalName]; got != s.keyID {
		t.Errorf("Key external name after the edit: want %s, got %q", s.keyID, got)
	}
	s.checkKey(t, key)
	after, err := emulatorKeys(ctx, s.kms)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(before, after) {
		t.Errorf("KMS keys: want the same after an edit, got %v before and %v after", before, after)
	}
	eventually(t, "the new window in the status", func() error {
		s.get(t)
		if got, _, _ := unstructured.NestedInt64(s.app.Object, "status", "kmsKeyDeletionWindow"); got != editedWindow {
			return fmt.Errorf("status.kmsKeyDeletionWindow is %d", got)
		}
		if got, _, _ := unstructured.NestedString(s.app.Object, "status", "kmsKeyId"); got != s.keyID {
			return fmt.Errorf("status.kmsKeyId is %q", got)
		}
		return nil
	})
}

func (s *story) deleted(t *testing.T) {
	key, alias := s.composed(t)
	window, _, _ := unstructured.NestedInt64(key.Object, "spec", "forProvider", "deletionWindowInDays")
	requested := time.Now()
	deleteAndWait(t, s.app, key, alias)

	meta := s.describe(t)
	if meta.KeyState != kmstypes.KeyStatePendingDeletion || meta.DeletionDate == nil {
		t.Fatalf("KMS key after deleting a claim with deletionPolicy Delete: want PendingDeletion, got %s (deletion date %v)", meta.KeyState, meta.DeletionDate)
	}
	want := requested.Add(time.Duration(window) * 24 * time.Hour)
	if window != editedWindow || meta.DeletionDate.Before(want.Add(-time.Hour)) || meta.DeletionDate.After(want.Add(time.Hour)) {
		t.Errorf("KMS key deletion date: want the claim's window, %d days from %s, got %s (the Key's window: %d)", editedWindow, requested.Format(time.RFC3339), meta.DeletionDate.Format(time.RFC3339), window)
	}
	if a := s.alias(t); a != nil {
		t.Errorf("KMS alias alias/%s after deleting the claim: want none, got %v", s.name, a)
	}
}

func (s *story) orphaned(t *testing.T) {
	key, alias := s.composed(t)
	deleteAndWait(t, s.app, key, alias)
	if meta := s.describe(t); meta.KeyState != kmstypes.KeyStateEnabled || meta.DeletionDate != nil {
		t.Errorf("KMS key after deleting a claim with deletionPolicy Orphan: want Enabled, got %s (deletion date %v)", meta.KeyState, meta.DeletionDate)
	}
	if a := s.alias(t); a == nil || a.TargetKeyID != s.keyID {
		t.Errorf("KMS alias alias/%s after deleting a claim with deletionPolicy Orphan: want it kept, targeting %s, got %v", s.name, s.keyID, a)
	}
}

// get reads the app's object again.
func (s *story) get(t *testing.T) {
	t.Helper()
	if err := cp.kube.Get(t.Context(), client.ObjectKeyFromObject(s.app), s.app); err != nil {
		t.Fatal(err)
	}
}

// waitReady waits for the app's object to be Ready.
func (s *story) waitReady(t *testing.T) {
	t.Helper()
	eventually(t, s.app.GetKind()+" "+s.ns+"/"+s.name+" Ready", func() error {
		if err := cp.kube.Get(t.Context(), client.ObjectKeyFromObject(s.app), s.app); err != nil {
			return err
		}
		if st, reason, msg := condition(s.app, "Ready"); st != "True" {
			return fmt.Errorf("Ready=%q (%s) %s", st, reason, msg)
		}
		return nil
	})
}

// composed returns the one Key and the one Alias in its region composed
// for the app's object (a claim with replicas has an Alias in each replica
// region too).
func (s *story) composed(t *testing.T) (key, alias *unstructured.Unstructured) {
	t.Helper()
	var err error
	if key, err = only(t.Context(), s.f.key, s.f.owned(s.ns, s.name)); err != nil {
		t.Fatal(err)
	}
	region, _, _ := unstructured.NestedString(key.Object, "spec", "forProvider", "region")
	if alias, err = aliasIn(t.Context(), s.f, s.ns, s.name, region); err != nil {
		t.Fatal(err)
	}
	return key, alias
}

// describe returns the KMS key's metadata.
func (s *story) describe(t *testing.T) *kmstypes.KeyMetadata {
	t.Helper()
	out, err := s.kms.DescribeKey(t.Context(), &kms.DescribeKeyInput{KeyId: aws.String(s.keyID)})
	if err != nil {
		t.Fatal(err)
	}
	return out.KeyMetadata
}

// alias returns the KMS alias of the story's name, or nil.
func (s *story) alias(t *testing.T) *aliasEntry {
	t.Helper()
	a, err := emulatorAlias(t.Context(), s.kms, "alias/"+s.name)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// checkStatusIs checks status fields of a claim or XR.
func checkStatusIs(t *testing.T, o *unstructured.Unstructured, want map[string]any) {
	t.Helper()
	for f, v := range want {
		if got, _, _ := unstructured.NestedFieldNoCopy(o.Object, "status", f); got != v {
			t.Errorf("%s status.%s: want %v (%T), got %v (%T)", o.GetKind(), f, v, v, got, got)
		}
	}
}

// sameJSON returns an error unless the two documents are the same JSON
// value, whatever their formatting and key order.
func sameJSON(want, got string) error {
	var w, g any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		return fmt.Errorf("want is not JSON: %w", err)
	}
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		return fmt.Errorf("got is not JSON: %w: %s", err, got)
	}
	if !reflect.DeepEqual(w, g) {
		return fmt.Errorf("want %s, got %s", want, got)
	}
	return nil
}

// principals returns the AWS principals of a key policy's statement.
func principals(policy, sid string) []string {
	var p struct {
		Statement []struct {
			Sid       string
			Principal struct{ AWS []string }
		}
	}
	if json.Unmarshal([]byte(policy), &p) != nil {
		return nil
	}
	for _, s := range p.Statement {
		if s.Sid == sid {
			return s.Principal.AWS
		}
	}
	return nil
}

// 5. A claim whose provider config points at an endpoint that refuses
// connections: the provider's failure, condition by condition, on the Key,
// the Alias, the XR and the claim, as they are written to
// testdata/provider-failures/ (go test -update rewrites them).
func TestProviderFailureIsRecorded(t *testing.T) {
	t.Parallel()
	for _, f := range flavours {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			ns := namespace(t, "unreachable-"+f.name)
			app := f.app(t, ns, "unreachable")
			app.Object["spec"].(map[string]any)["providerConfigName"] = configUnreachable
			if err := cp.kube.Create(ctx, app); err != nil {
				t.Fatal(err)
			}
			opts := f.owned(ns, app.GetName())
			var key, alias *unstructured.Unstructured
			eventually(t, "the Key's create failed, and the Alias waiting", func() error {
				var err error
				if key, err = only(ctx, f.key, opts); err != nil {
					return err
				}
				if alias, err = only(ctx, f.alias, opts); err != nil {
					return err
				}
				if st, reason, msg := condition(key, "LastAsyncOperation"); st != "False" || !strings.Contains(msg, "connection refused") {
					return fmt.Errorf("Key LastAsyncOperation=%q (%s) %s", st, reason, msg)
				}
				if st, reason, msg := condition(key, "Synced"); st != "False" || !strings.Contains(msg, "connection refused") {
					return fmt.Errorf("Key Synced=%q (%s) %s", st, reason, msg)
				}
				// The Alias, though observed only, resolves its reference
				// to the Key first: it waits for the Key's id.
				if st, reason, msg := condition(alias, "Synced"); st != "False" || !strings.Contains(msg, "referenced field was empty") {
					return fmt.Errorf("Alias Synced=%q (%s) %s", st, reason, msg)
				}
				return nil
			})
			// What the app team reads: the provider's error, on its claim
			// (or namespaced XR).
			eventually(t, "KeyAvailable=False (ProviderError) on the "+app.GetKind(), func() error {
				if err := cp.kube.Get(ctx, client.ObjectKeyFromObject(app), app); err != nil {
					return err
				}
				st, reason, msg := condition(app, keyAvailable)
				if st != "False" || reason != reasonProviderError || !strings.HasPrefix(msg, "key: create failed: ") || !strings.Contains(msg, "connection refused") {
					return fmt.Errorf("KeyAvailable=%q (%s) %s", st, reason, msg)
				}
				return nil
			})
			objects := map[string]*unstructured.Unstructured{"key": key, "alias": alias, "xr": app}
			if f.name == "legacy" {
				if err := cp.kube.Get(ctx, client.ObjectKeyFromObject(app), app); err != nil {
					t.Fatal(err)
				}
				xr := &unstructured.Unstructured{}
				xr.SetGroupVersionKind(xrGVK)
				ref, _, _ := unstructured.NestedString(app.Object, "spec", "resourceRef", "name")
				xr.SetName(ref)
				objects["claim"], objects["xr"] = app, xr
			}
			if *update {
				time.Sleep(settle)
			}
			for what, o := range objects {
				checkFixture(t, filepath.Join("..", "testdata", "provider-failures", "unreachable", f.name, what+".yaml"), o)
			}
		})
	}
}

// 6. One alias, one owner: a second claim (or namespaced XR), in another
// namespace, naming the alias of a Ready one in the same region with the
// same provider config. Without the function's guard provider-aws imports
// the alias for the second claim too, and the two Aliases point it at their
// own keys in turn on every poll. With it:
//   - the second is refused, naming spec.aliasName and not the first claim,
//     and nothing is composed for it;
//   - the alias in KMS targets the first key through three of the
//     provider's polls, with no alias written, and after the second is
//     deleted;
//   - the first stays KeyAvailable=True throughout.
func TestOneAliasOneOwner(t *testing.T) {
	t.Parallel()
	for _, f := range flavours {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			// The lane is named apart from either namespace: the refusal
			// names the provider config, and must not name the first's
			// namespace.
			l := newLane(t, "one-owner-"+f.name, localKMS)
			first := l.story(f, namespace(t, "alias-first-"+f.name), "shared-"+f.name)
			first.ready(t)
			first.available(t)

			mark := l.rec.mark()
			ns := namespace(t, "alias-second-"+f.name)
			second := f.app(t, ns, first.name, l.use)
			if err := cp.kube.Create(ctx, second); err != nil {
				t.Fatal(err)
			}
			const refusal = "spec.aliasName: Forbidden: alias/%s in eu-west-1, with provider config %s, is already managed by another KmsBackend; choose another alias name"
			want := fmt.Sprintf(refusal, first.name, l.name)
			eventually(t, "SpecValid=False on the second, naming spec.aliasName", func() error {
				if err := cp.kube.Get(ctx, client.ObjectKeyFromObject(second), second); err != nil {
					return err
				}
				if st, _, msg := condition(second, "SpecValid"); st != "False" || !strings.Contains(msg, want) {
					return fmt.Errorf("want SpecValid=False with %q, got %s: %q", want, st, msg)
				}
				return nil
			})
			if _, _, msg := condition(second, "SpecValid"); strings.Contains(msg, first.ns) {
				t.Errorf("the refusal names the first claim's namespace %s: %q", first.ns, msg)
			}
			out, err := kubectl(t, "describe", f.resource, "-n", ns, first.name)
			if err != nil || !strings.Contains(out, "already managed by another KmsBackend") {
				t.Errorf("kubectl describe %s of the second: want the refusal, got %v:\n%s", f.resource, err, out)
			}
			t.Logf("kubectl describe %s -n %s %s:\n%s", f.resource, ns, first.name, out)

			window := 3*providerPoll + providerPoll/2
			deadline := time.Now().Add(window)
			for time.Now().Before(deadline) {
				if a := first.alias(t); a == nil || a.TargetKeyID != first.keyID {
					t.Fatalf("KMS alias alias/%s while a second claim names it: want it to target the first key %s, got %v", first.name, first.keyID, a)
				}
				time.Sleep(providerPoll / 3)
			}
			calls := l.rec.since(mark)
			for _, op := range []string{"CreateKey", "CreateAlias", "UpdateAlias", "DeleteAlias"} {
				if n := count(calls, op); n > 0 {
					t.Errorf("KMS %s calls in %s after the second claim: want none, got %d (every write: %v)", op, window, n, writes(calls))
				}
			}
			for _, o := range []schema.GroupVersionKind{f.key, f.alias} {
				l := &unstructured.UnstructuredList{}
				l.SetGroupVersionKind(o.GroupVersion().WithKind(o.Kind + "List"))
				if err := cp.kube.List(ctx, l, f.owned(ns, first.name)...); err != nil {
					t.Fatal(err)
				}
				if len(l.Items) > 0 {
					t.Errorf("a refused claim: want no %s composed, got %d", o.Kind, len(l.Items))
				}
			}
			first.available(t)

			deleteAndWait(t, second)
			time.Sleep(providerPoll + providerPoll/2)
			if a := first.alias(t); a == nil || a.TargetKeyID != first.keyID {
				t.Errorf("KMS alias alias/%s after the second claim was deleted: want it to target the first key %s, got %v", first.name, first.keyID, a)
			}
			first.available(t)

			key, alias := first.composed(t)
			deleteAndWait(t, first.app, key, alias)
		})
	}
}

// available checks that the app's object says KeyAvailable=True.
func (s *story) available(t *testing.T) {
	t.Helper()
	eventually(t, s.app.GetKind()+" "+s.ns+"/"+s.name+" KeyAvailable=True", func() error {
		if err := cp.kube.Get(t.Context(), client.ObjectKeyFromObject(s.app), s.app); err != nil {
			return err
		}
		if st, reason, msg := condition(s.app, keyAvailable); st != "True" || reason != reasonAvailable {
			return fmt.Errorf("KeyAvailable=%q (%s) %s", st, reason, msg)
		}
		return nil
	})
}

// checkFixture waits until an object's conditions (type, status, reason and
// message) are those of the fixture at path. With -update, it waits for the
// control plane to settle instead (settle), then writes the object there,
// without its managed fields.
func checkFixture(t *testing.T, path string, o *unstructured.Unstructured) {
	t.Helper()
	ctx := t.Context()
	if *update {
		if err := cp.kube.Get(ctx, client.ObjectKeyFromObject(o), o); err != nil {
			t.Fatal(err)
		}
		o.SetManagedFields(nil)
		b, err := yaml.Marshal(o.Object)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		t.Fatalf("%s: no fixture; run make e2e-provider E2E_FLAGS=-update", path)
	}
	if err != nil {
		t.Fatal(err)
	}
	want := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(b, &want.Object); err != nil {
		t.Fatal(err)
	}
	eventually(t, o.GetKind()+" "+o.GetName()+" conditions as in "+path, func() error {
		if err := cp.kube.Get(ctx, client.ObjectKeyFromObject(o), o); err != nil {
			return err
		}
		if w, g := conditions(want), conditions(o); !slices.Equal(w, g) {
			return fmt.Errorf("\nwant %q\ngot  %q", w, g)
		}
		return nil
	})
}

// conditions lists an object's conditions as type, status, reason and
// message, sorted by type.
func conditions(o *unstructured.Unstructured) []string {
	cs, _, _ := unstructured.NestedSlice(o.Object, "status", "conditions")
	var l []string
	for _, c := range cs {
		m, _ := c.(map[string]any)
		l = append(l, fmt.Sprintf("%v=%v (%v) %v", m["type"], m["status"], m["reason"], m["message"]))
	}
	slices.Sort(l)
	return l
}
