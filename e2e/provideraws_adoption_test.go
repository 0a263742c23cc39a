//go:build e2e_provider

package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Migrating from the Terraform module: keys and aliases made straight
// through the KMS API, as Terraform makes them, met by claims on
// provider-aws' own controllers, each flavour on a lane of its own.

// inEmulatorAccount moves a claim's principals into the emulator's account,
// which provider-aws assumes: a key is adopted only in the key policy's
// account.
func inEmulatorAccount(spec map[string]any) {
	for _, f := range []string{"adminUsers", "standardUsers"} {
		var out []any
		for _, a := range spec[f].([]any) {
			out = append(out, strings.Replace(a.(string), ":123456789012:", ":"+emulatorAccount+":", 1))
		}
		spec[f] = out
	}
}

// terraformKey makes a key, and an alias targeting it, straight through the
// KMS API, as the Terraform module does; it returns the key's id and ARN.
func terraformKey(t *testing.T, k *kms.Client, alias string) (string, string) {
	t.Helper()
	ctx := t.Context()
	out, err := k.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("made by Terraform")})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(out.KeyMetadata.KeyId)
	if alias != "" {
		if _, err := k.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/" + alias), TargetKeyId: aws.String(id)}); err != nil {
			t.Fatal(err)
		}
	}
	return id, aws.ToString(out.KeyMetadata.Arn)
}

// 7. A key and alias made beforehand are adopted by a claim naming the key
// in existingKeyId: no key or alias is created and the alias is not
// retargeted; the claim becomes Available with that key's id and ARN; the
// key's policy becomes the claim's; deleting the claim leaves the key
// Enabled and the alias in place.
func TestAdoptTerraformKey(t *testing.T) {
	t.Parallel()
	for _, f := range flavours {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			ns := namespace(t, "adopt-"+f.name)
			l := newLane(t, ns, localKMS)
			name := "adopted-" + f.name
			s := l.story(f, ns, name)
			k := s.kms
			id, arn := terraformKey(t, k, name)
			s.keyID = id

			mark := l.rec.mark()
			s.app = f.app(t, s.ns, name, s.edits...)
			spec := s.app.Object["spec"].(map[string]any)
			inEmulatorAccount(spec)
			spec["existingKeyId"] = id
			start := time.Now()
			if err := cp.kube.Create(ctx, s.app); err != nil {
				t.Fatal(err)
			}
			s.available(t)
			t.Logf("KeyAvailable=True %s after the create", time.Since(start).Round(time.Second))
			if a := s.alias(t); a == nil || a.TargetKeyID != id {
				t.Errorf("KMS alias alias/%s: want it to target the adopted key %s, got %v", name, id, a)
			}
			s.get(t)
			checkStatusIs(t, s.app, map[string]any{"kmsKeyId": id, "kmsKeyArn": arn})
			key, alias := s.composed(t)
			for _, o := range []*unstructured.Unstructured{key, alias} {
				if mp, _, _ := unstructured.NestedStringSlice(o.Object, "spec", "managementPolicies"); !slices.Equal(mp, []string{"Observe", "Update", "LateInitialize"}) {
					t.Errorf("%s managementPolicies: want Observe, Update, LateInitialize, got %v", o.GetKind(), mp)
				}
			}
			eventually(t, "the claim's policy on the adopted key", func() error {
				if err := cp.kube.Get(ctx, client.ObjectKeyFromObject(key), key); err != nil {
					return err
				}
				want, _, _ := unstructured.NestedString(key.Object, "spec", "forProvider", "policy")
				got, err := k.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: aws.String(id), PolicyName: aws.String("default")})
				if err != nil {
					return err
				}
				return sameJSON(want, aws.ToString(got.Policy))
			})
			w := writes(l.rec.since(mark))
			t.Logf("the provider's KMS writes until the key has the claim's policy: %v", w)
			for _, op := range []string{"CreateKey", "CreateAlias", "UpdateAlias", "DeleteAlias", "ScheduleKeyDeletion"} {
				if slices.Contains(w, op) {
					t.Errorf("KMS writes while adopting: want no %s, got %v", op, w)
				}
			}
			if !slices.Contains(w, "PutKeyPolicy") {
				t.Errorf("KMS writes while adopting: want PutKeyPolicy, the claim's policy, got %v", w)
			}

			deleteAndWait(t, s.app, key, alias)
			if meta := s.describe(t); meta.KeyState != kmstypes.KeyStateEnabled || meta.DeletionDate != nil {
				t.Errorf("KMS key after deleting the claim that adopted it: want Enabled, got %s (deletion date %v)", meta.KeyState, meta.DeletionDate)
			}
			if a := s.alias(t); a == nil || a.TargetKeyID != id {
				t.Errorf("KMS alias alias/%s after deleting the claim: want it kept, targeting %s, got %v", name, id, a)
			}
		})
	}
}

// 8. An alias made beforehand, targeting another key, named by a new claim:
// refused naming spec.aliasName; over three of the provider's polls the
// alias still targets the other key, with no alias written; deleting the
// claim leaves it.
func TestAliasInAWSIsNotTakenOver(t *testing.T) {
	t.Parallel()
	for _, f := range flavours {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			ns := namespace(t, "alias-in-aws-"+f.name)
			l := newLane(t, ns, localKMS)
			name := "taken-" + f.name
			other, _ := terraformKey(t, l.kms(emulatorRegion), name)
			app := f.app(t, ns, name, l.use)
			refusedForAliasInAWS(t, f, l, app, name, other, 3*providerPoll+providerPoll/2)
		})
	}
}

// refusedForAliasInAWS creates the app's object, on the lane, whose alias
// exists in KMS targeting the key other, and checks it is refused and the
// alias left as it is throughout the window, then deletes the object.
func refusedForAliasInAWS(t *testing.T, f flavour, l *lane, app *unstructured.Unstructured, name, other string, window time.Duration) {
	t.Helper()
	ctx := t.Context()
	k := l.kms(emulatorRegion)
	mark := l.rec.mark()
	if err := cp.kube.Create(ctx, app); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("spec.aliasName: Forbidden: alias/%s exists in AWS in %s, targets another key, and is not managed by this claim", name, emulatorRegion)
	eventually(t, "SpecValid=False naming spec.aliasName", func() error {
		if err := cp.kube.Get(ctx, client.ObjectKeyFromObject(app), app); err != nil {
			return err
		}
		if st, _, msg := condition(app, "SpecValid"); st != "False" || !strings.Contains(msg, want) {
			return fmt.Errorf("want SpecValid=False with %q, got %s: %q", want, st, msg)
		}
		return nil
	})
	out, err := kubectl(t, "describe", f.resource, "-n", app.GetNamespace(), app.GetName())
	if err != nil || !strings.Contains(out, "exists in AWS") {
		t.Errorf("kubectl describe %s: want the refusal, got %v:\n%s", f.resource, err, out)
	}
	t.Logf("kubectl describe %s -n %s %s:\n%s", f.resource, app.GetNamespace(), app.GetName(), out)

	for deadline := time.Now().Add(window); time.Now().Before(deadline); time.Sleep(providerPoll / 3) {
		if a, err := emulatorAlias(ctx, k, "alias/"+name); err != nil || a == nil || a.TargetKeyID != other {
			t.Fatalf("KMS alias alias/%s while a claim names it: want it to target %s, got %v (%v)", name, other, a, err)
		}
	}
	calls := l.rec.since(mark)
	t.Logf("the provider's KMS writes for the refused claim: %v", writes(calls))
	for _, op := range []string{"CreateAlias", "UpdateAlias", "DeleteAlias"} {
		if n := count(calls, op); n > 0 {
			t.Errorf("KMS %s calls for a claim whose alias exists in AWS: want none, got %d (every write: %v)", op, n, writes(calls))
		}
	}
	alias, err := only(ctx, f.alias, f.owned(app.GetNamespace(), app.GetName()))
	if err != nil {
		t.Fatal(err)
	}
	if mp, _, _ := unstructured.NestedStringSlice(alias.Object, "spec", "managementPolicies"); !slices.Equal(mp, []string{"Observe"}) {
		t.Errorf("the refused Alias's managementPolicies: want Observe only, got %v", mp)
	}
	if a := alias.GetAnnotations()["kms.example.org/adoption"]; a != "Refuse" {
		t.Errorf("the refused Alias's kms.example.org/adoption: want Refuse, got %q", a)
	}

	deleteAndWait(t, app)
	if a, err := emulatorAlias(ctx, k, "alias/"+name); err != nil || a == nil || a.TargetKeyID != other {
		t.Errorf("KMS alias alias/%s after the refused claim was deleted: want it to target %s, got %v (%v)", name, other, a, err)
	}
}

// 9. existingKeyId naming a key pending deletion: refused naming
// spec.existingKeyId; no key is created and the deletion is not cancelled.
// The Key's conditions, in provider-aws' words, are recorded under
// testdata/provider-failures/.
func TestAdoptKeyPendingDeletion(t *testing.T) {
	t.Parallel()
	for _, f := range flavours {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			ns := namespace(t, "adopt-pending-"+f.name)
			l := newLane(t, ns, localKMS)
			k := l.kms(emulatorRegion)
			id, _ := terraformKey(t, k, "")
			if _, err := k.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: aws.String(id), PendingWindowInDays: aws.Int32(7)}); err != nil {
				t.Fatal(err)
			}
			mark := l.rec.mark()
			app := f.app(t, ns, "pending-"+f.name, l.use)
			spec := app.Object["spec"].(map[string]any)
			inEmulatorAccount(spec)
			spec["existingKeyId"] = id
			if err := cp.kube.Create(ctx, app); err != nil {
				t.Fatal(err)
			}
			want := "spec.existingKeyId: Invalid value: \"" + id + "\": AWS has no key with this id in " + emulatorRegion
			eventually(t, "SpecValid=False naming spec.existingKeyId", func() error {
				if err := cp.kube.Get(ctx, client.ObjectKeyFromObject(app), app); err != nil {
					return err
				}
				if st, _, msg := condition(app, "SpecValid"); st != "False" || !strings.Contains(msg, want) {
					return fmt.Errorf("want SpecValid=False with %q, got %s: %q", want, st, msg)
				}
				return nil
			})
			key, err := only(ctx, f.key, f.owned(ns, app.GetName()))
			if err != nil {
				t.Fatal(err)
			}
			checkFixture(t, "../testdata/provider-failures/pending-deletion/"+f.name+"/key.yaml", key)
			time.Sleep(providerPoll + providerPoll/2)
			calls := l.rec.since(mark)
			t.Logf("the provider's KMS writes for a claim adopting a key pending deletion: %v", writes(calls))
			for _, op := range []string{"CreateKey", "CancelKeyDeletion", "PutKeyPolicy", "EnableKey"} {
				if n := count(calls, op); n > 0 {
					t.Errorf("KMS %s calls for a key pending deletion: want none, got %d (every write: %v)", op, n, writes(calls))
				}
			}
			out, err := k.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(id)})
			if err != nil {
				t.Fatal(err)
			}
			if out.KeyMetadata.KeyState != kmstypes.KeyStatePendingDeletion {
				t.Errorf("the key: want still PendingDeletion, got %s", out.KeyMetadata.KeyState)
			}
			deleteAndWait(t, app, key)
		})
	}
}

// 10. A Ready claim's key scheduled for deletion straight through the KMS
// API: provider-aws reads the key as missing and creates another in its
// place; the claim says KeyReplaced, naming the old key.
func TestReplacedKeyIsNamed(t *testing.T) {
	t.Parallel()
	for _, f := range flavours {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			ns := namespace(t, "replaced-"+f.name)
			s := newLane(t, ns, localKMS).story(f, ns, "replaced-"+f.name)
			s.ready(t)
			s.available(t)
			old := s.keyID
			mark := s.lane.rec.mark()
			if _, err := s.kms.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: aws.String(old), PendingWindowInDays: aws.Int32(7)}); err != nil {
				t.Fatal(err)
			}
			eventually(t, "KeyAvailable=False (KeyReplaced) naming "+old, func() error {
				s.get(t)
				st, reason, msg := condition(s.app, keyAvailable)
				if st != "False" || reason != "KeyReplaced" || !strings.Contains(msg, old) {
					return fmt.Errorf("KeyAvailable=%q (%s) %s", st, reason, msg)
				}
				return nil
			})
			_, _, msg := condition(s.app, keyAvailable)
			t.Logf("KeyAvailable: %s", msg)
			t.Logf("the provider's KMS writes after the key was scheduled for deletion: %v", writes(s.lane.rec.since(mark)))
			out, err := kubectl(t, "describe", f.resource, "-n", s.ns, s.name)
			if err != nil || !strings.Contains(out, "KeyReplaced") {
				t.Errorf("kubectl describe %s: want the KeyReplaced event, got %v:\n%s", f.resource, err, out)
			}
			key, alias := s.composed(t)
			deleteAndWait(t, s.app, key, alias)
		})
	}
}

// 11. Upgrading the function under Ready claims made by the release before
// it, which did not probe aliases: their Key and Alias stay as they are,
// with no observe-only step and no write to KMS, and they stay Available.
// The same run measures how long a new claim takes to become Available on
// each version: probing the alias first costs one more round.
func TestUpgradeUnderReadyClaims(t *testing.T) {
	cp.fn.stop()
	if err := cp.startFunctionFrom("function-previous"); err != nil {
		t.Fatal(err)
	}
	restarted := false
	restart := func() {
		cp.fn.stop()
		if err := cp.startFunction(); err != nil {
			t.Fatal(err)
		}
		restarted = true
	}
	t.Cleanup(func() {
		if !restarted {
			restart()
		}
	})
	ready := func(s *story) time.Duration {
		start := time.Now()
		s.ready(t)
		s.available(t)
		return time.Since(start).Round(time.Second)
	}

	l := newLane(t, "upgrade", localKMS)
	var stories []*story
	for _, f := range flavours {
		s := l.story(f, namespace(t, "upgrade-"+f.name), "upgrade-"+f.name)
		t.Logf("%s: KeyAvailable=True %s after the create, on the release before", f.name, ready(s))
		stories = append(stories, s)
	}

	restart()
	mark := l.rec.mark()
	time.Sleep(3*providerPoll + providerPoll/2)
	calls := l.rec.since(mark)
	if w := writes(calls); len(w) > 0 {
		t.Errorf("KMS writes after the upgrade: want none, got %v", w)
	}
	for _, s := range stories {
		s.available(t)
		key, alias := s.composed(t)
		for _, o := range []*unstructured.Unstructured{key, alias} {
			if a, ok := o.GetAnnotations()["kms.example.org/adoption"]; ok {
				t.Errorf("%s %s after the upgrade: want no adoption recorded, got %q", s.f.name, o.GetKind(), a)
			}
			if mp, ok, _ := unstructured.NestedStringSlice(o.Object, "spec", "managementPolicies"); ok && !slices.Equal(mp, []string{"*"}) && !slices.Equal(mp, []string{"Observe", "Create", "Update", "LateInitialize"}) {
				t.Errorf("%s %s after the upgrade: want its management policies kept, got %v", s.f.name, o.GetKind(), mp)
			}
		}
		if a := s.alias(t); a == nil || a.TargetKeyID != s.keyID {
			t.Errorf("KMS alias alias/%s after the upgrade: want it to target %s, got %v", s.name, s.keyID, a)
		}
	}
	for _, f := range flavours {
		s := l.story(f, namespace(t, "upgraded-"+f.name), "upgraded-"+f.name)
		t.Logf("%s: KeyAvailable=True %s after the create, on this version", f.name, ready(s))
		stories = append(stories, s)
	}
	for _, s := range stories {
		key, alias := s.composed(t)
		deleteAndWait(t, s.app, key, alias)
	}
}
