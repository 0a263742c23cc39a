//go:build e2e && !e2e_provider

package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// What the function records on a composed Key or Alias about the AWS
// resource it names, and the management policies each decision gives.
const adoption = "kms.example.org/adoption"

var (
	adoptPolicies   = []string{"Observe", "Update", "LateInitialize"}
	observePolicies = []string{"Observe"}
)

// The region of the example claim and XR.
const exampleRegion = "eu-west-1"

// 9. A key and its alias that Terraform made, outside the cluster, adopted
// by a claim that names the key in spec.existingKeyId: no key is created,
// the alias still targets the key, the key takes the claim's policy in
// place, and the claim's status names the key. Deleting the claim leaves
// both in AWS, though the claim's deletion policy is Delete.
func TestAdoptExistingKey(t *testing.T) {
	for _, f := range flavours {
		t.Run(f.name, func(t *testing.T) {
			ctx := t.Context()
			ns := namespace(t, "adopt-"+f.name)
			name := "terraform-" + f.name
			seeded := sim.seedKey(exampleRegion)
			sim.seedAlias(exampleRegion, name, seeded.ID)
			keys := sim.keyCount()

			app := f.app(t, ns, name, func(s map[string]any) { s["existingKeyId"] = seeded.ID })
			if err := cp.kube.Create(ctx, app); err != nil {
				t.Fatal(err)
			}
			app = waitKeyAvailable(t, app)
			if got, _, _ := unstructured.NestedString(app.Object, "status", "kmsKeyId"); got != seeded.ID {
				t.Errorf("status.kmsKeyId: want the seeded key %s, got %q", seeded.ID, got)
			}
			if n := sim.keyCount(); n != keys {
				t.Errorf("AWS holds %d keys, want the %d it held before the claim: a key was created", n, keys)
			}
			k, a := composedFor(t, f, ns, name)
			for _, o := range []*unstructured.Unstructured{k, a} {
				checkAdoption(t, o, "Adopt", adoptPolicies)
			}
			if got := k.GetAnnotations()[externalName]; got != seeded.ID {
				t.Errorf("Key external name: want the seeded key %s, got %q", seeded.ID, got)
			}
			if target, ok := sim.alias(name); !ok || target != seeded.ID {
				t.Errorf("alias/%s in AWS: want it targeting the seeded key %s, got %q (exists %v)", name, seeded.ID, target, ok)
			}
			policy, _, _ := unstructured.NestedString(k.Object, "spec", "forProvider", "policy")
			eventually(t, "the claim's policy on the adopted key", func() error {
				if aws, _ := sim.keyIn(exampleRegion, seeded.ID); aws.Policy != policy {
					return fmt.Errorf("the key's policy in AWS: %s", aws.Policy)
				}
				return nil
			})

			deleteAndWait(t, app, k, a)
			if aws, ok := sim.keyIn(exampleRegion, seeded.ID); !ok || aws.State != "Enabled" {
				t.Errorf("the adopted key after deleting the claim: want Enabled, got %+v", aws)
			}
			if target, ok := sim.alias(name); !ok || target != seeded.ID {
				t.Errorf("alias/%s after deleting the claim: want it targeting %s, got %q (exists %v)", name, seeded.ID, target, ok)
			}
		})
	}
}

// 10. An alias that Terraform made for its own key, named by a new claim:
// the claim is refused naming spec.aliasName, its Alias is left observe
// only, and the alias still targets Terraform's key after the function and
// the provider have run several times more, and after the claim is deleted.
func TestAliasOfAnotherKeyRefused(t *testing.T) {
	for _, f := range flavours {
		t.Run(f.name, func(t *testing.T) {
			ctx := t.Context()
			ns := namespace(t, "taken-"+f.name)
			name := "taken-" + f.name
			other := sim.seedKey(exampleRegion)
			sim.seedAlias(exampleRegion, name, other.ID)

			app := f.app(t, ns, name)
			if err := cp.kube.Create(ctx, app); err != nil {
				t.Fatal(err)
			}
			want := "spec.aliasName: Forbidden: alias/" + name + " exists in AWS in " + exampleRegion + ", targets another key"
			eventually(t, "SpecValid=False naming spec.aliasName", func() error {
				if err := cp.kube.Get(ctx, client.ObjectKeyFromObject(app), app); err != nil {
					return err
				}
				if st, _, msg := condition(app, "SpecValid"); st != "False" || !strings.Contains(msg, want) {
					return fmt.Errorf("want SpecValid=False with %q, got %s %q", want, st, msg)
				}
				return nil
			})
			if st, reason, _ := condition(app, keyAvailable); st != "False" || reason != "Refused" {
				t.Errorf("KeyAvailable: want False (Refused), got %s (%s)", st, reason)
			}
			k, a := composedFor(t, f, ns, name)
			checkAdoption(t, a, "Refuse", observePolicies)

			twoMoreCalls(t)
			providerPasses(t, 10)
			if target, ok := sim.alias(name); !ok || target != other.ID {
				t.Errorf("alias/%s in AWS: want it still targeting Terraform's key %s, got %q (exists %v)", name, other.ID, target, ok)
			}

			deleteAndWait(t, app, k, a)
			if target, ok := sim.alias(name); !ok || target != other.ID {
				t.Errorf("alias/%s after deleting the claim: want it targeting %s, got %q (exists %v)", name, other.ID, target, ok)
			}
			if aws, _ := sim.keyIn(exampleRegion, other.ID); aws.State != "Enabled" {
				t.Errorf("Terraform's key after deleting the claim: want Enabled, got %+v", aws)
			}
		})
	}
}

// 11. A new claim whose alias does not exist in AWS: its Alias is first
// observed only, reported missing, then created, so that the claim becomes
// KeyAvailable=True with the alias targeting its new key; deleting the
// claim (deletion policy Delete) deletes the alias.
func TestNewAliasProbedThenCreated(t *testing.T) {
	for _, f := range flavours {
		t.Run(f.name, func(t *testing.T) {
			ctx := t.Context()
			ns := namespace(t, "probed-"+f.name)
			name := "probed-" + f.name
			app := f.app(t, ns, name)
			if err := cp.kube.Create(ctx, app); err != nil {
				t.Fatal(err)
			}
			app = waitKeyAvailable(t, app)
			k, a := composedFor(t, f, ns, name)
			checkAdoption(t, a, "Create", []string{"*"})
			id := k.GetAnnotations()[externalName]
			if got, _, _ := unstructured.NestedString(app.Object, "status", "kmsKeyId"); id == "" || got != id {
				t.Errorf("status.kmsKeyId: want the new key %q, got %q", id, got)
			}
			if target, ok := sim.alias(name); !ok || target != id {
				t.Errorf("alias/%s in AWS: want it targeting the new key %s, got %q (exists %v)", name, id, target, ok)
			}

			deleteAndWait(t, app, k, a)
			if target, ok := sim.alias(name); ok {
				t.Errorf("alias/%s after deleting the claim: want it deleted, got it targeting %s", name, target)
			}
		})
	}
}

// 12. A claim whose spec.existingKeyId names no key in AWS: refused naming
// spec.existingKeyId, with no key created in its place.
func TestMissingExistingKeyRefused(t *testing.T) {
	for _, f := range flavours {
		t.Run(f.name, func(t *testing.T) {
			ctx := t.Context()
			ns := namespace(t, "missing-"+f.name)
			name := "missing-" + f.name
			keys := sim.keyCount()
			const id = "0badc0de-1234-4abc-9def-0123456789ab"
			app := f.app(t, ns, name, func(s map[string]any) { s["existingKeyId"] = id })
			if err := cp.kube.Create(ctx, app); err != nil {
				t.Fatal(err)
			}
			const want = `spec.existingKeyId: Invalid value: "` + id + `": AWS has no key with this id in ` + exampleRegion
			eventually(t, "SpecValid=False naming spec.existingKeyId", func() error {
				if err := cp.kube.Get(ctx, client.ObjectKeyFromObject(app), app); err != nil {
					return err
				}
				if st, _, msg := condition(app, "SpecValid"); st != "False" || !strings.Contains(msg, want) {
					return fmt.Errorf("want SpecValid=False with %q, got %s %q", want, st, msg)
				}
				return nil
			})
			k, a := composedFor(t, f, ns, name)
			checkAdoption(t, k, "Probe", observePolicies)
			twoMoreCalls(t)
			providerPasses(t, 10)
			if n := sim.keyCount(); n != keys {
				t.Errorf("AWS holds %d keys, want the %d it held before the claim: a key was created", n, keys)
			}
			deleteAndWait(t, app, k, a)
		})
	}
}

// waitKeyAvailable waits for KeyAvailable=True on the app's object, and
// returns it.
func waitKeyAvailable(t *testing.T, app *unstructured.Unstructured) *unstructured.Unstructured {
	t.Helper()
	eventually(t, app.GetKind()+" "+app.GetName()+" KeyAvailable=True", func() error {
		if err := cp.kube.Get(t.Context(), client.ObjectKeyFromObject(app), app); err != nil {
			return err
		}
		if st, reason, msg := condition(app, keyAvailable); st != "True" {
			return fmt.Errorf("KeyAvailable=%q (%s) %q", st, reason, msg)
		}
		return nil
	})
	return app
}

// composedFor waits for the one Key and one Alias composed for the app's
// object.
func composedFor(t *testing.T, f flavour, ns, name string) (key, alias *unstructured.Unstructured) {
	t.Helper()
	eventually(t, "the Key and Alias of "+ns+"/"+name, func() error {
		var err error
		if key, err = only(t.Context(), f.key, f.owned(ns, name)); err != nil {
			return err
		}
		alias, err = only(t.Context(), f.alias, f.owned(ns, name))
		return err
	})
	return key, alias
}

// checkAdoption checks the decision recorded on a composed resource, and
// its management policies.
func checkAdoption(t *testing.T, o *unstructured.Unstructured, decision string, policies []string) {
	t.Helper()
	mp, _, _ := unstructured.NestedStringSlice(o.Object, "spec", "managementPolicies")
	if got := o.GetAnnotations()[adoption]; got != decision || !slices.Equal(mp, policies) {
		t.Errorf("%s %s: want %s with management policies %v, got %q with %v", o.GetKind(), o.GetName(), decision, policies, got, mp)
	}
}

// providerPasses waits until the provider has made n more passes over the
// managed resources, each seeing what was applied before it began.
func providerPasses(t *testing.T, n int) {
	t.Helper()
	want := sim.passCount() + n
	eventually(t, fmt.Sprintf("%d more passes of the provider", n), func() error {
		if got := sim.passCount(); got < want {
			return fmt.Errorf("%d passes, want %d", got, want)
		}
		return nil
	})
}
