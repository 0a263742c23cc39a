//go:build e2e && !e2e_provider

package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	kmsv1 "github.com/upbound/provider-aws/v2/apis/cluster/kms/v1beta1"
)

// The claim's kind, which the simulated suite's scenarios read.
var claimGVK = schema.GroupVersionKind{Group: "kms.example.org", Version: "v1alpha1", Kind: "KmsBackend"}

// deletionPolicies are the claim's two deletion policies, each with the
// state the key is left in, in AWS, once the claim is deleted.
var deletionPolicies = []struct {
	policy    string
	wantState string
}{
	{policy: "Delete", wantState: "PendingDeletion"},
	{policy: "Orphan", wantState: "Enabled"},
}

func getClaim(ctx context.Context, ns, name string) (*unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(claimGVK)
	return u, cp.kube.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, u)
}

// composed returns the Keys and Aliases composed for a claim, found by the
// claim labels Crossplane puts on them.
func composed(ctx context.Context, ns, claim string) ([]kmsv1.Key, []kmsv1.Alias, error) {
	sel := client.MatchingLabels{"crossplane.io/claim-namespace": ns, "crossplane.io/claim-name": claim}
	keys, aliases := &kmsv1.KeyList{}, &kmsv1.AliasList{}
	if err := cp.kube.List(ctx, keys, sel); err != nil {
		return nil, nil, err
	}
	if err := cp.kube.List(ctx, aliases, sel); err != nil {
		return nil, nil, err
	}
	return keys.Items, aliases.Items, nil
}

// composedOne waits for exactly one Key and one Alias for the claim.
func composedOne(t *testing.T, ns, claim string) (*kmsv1.Key, *kmsv1.Alias) {
	t.Helper()
	var k *kmsv1.Key
	var a *kmsv1.Alias
	eventually(t, "the claim's Key and Alias", func() error {
		keys, aliases, err := composed(t.Context(), ns, claim)
		if err != nil {
			return err
		}
		if len(keys) != 1 || len(aliases) != 1 {
			return fmt.Errorf("want one Key and one Alias, got %d and %d; the claim: %s", len(keys), len(aliases), claimState(t.Context(), ns, claim))
		}
		k, a = &keys[0], &aliases[0]
		return nil
	})
	return k, a
}

// ready waits for the claim to be Ready, as the provider's status arrives.
func ready(t *testing.T, ns, name string) *unstructured.Unstructured {
	t.Helper()
	var c *unstructured.Unstructured
	eventually(t, "claim "+ns+"/"+name+" Ready", func() error {
		var err error
		if c, err = getClaim(t.Context(), ns, name); err != nil {
			return err
		}
		if st, _, _ := condition(c, "Ready"); st != "True" {
			return fmt.Errorf("not Ready: %s", claimState(t.Context(), ns, name))
		}
		return nil
	})
	return c
}

// claimState describes a claim's conditions, for a failure message.
func claimState(ctx context.Context, ns, name string) string {
	c, err := getClaim(ctx, ns, name)
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	for _, t := range []string{"Synced", "Ready", "SpecValid"} {
		st, reason, msg := condition(c, t)
		fmt.Fprintf(&b, "%s=%s (%s) %q; ", t, st, reason, msg)
	}
	return b.String()
}

// asYAML is a claim as a manifest for kubectl.
func asYAML(t *testing.T, u *unstructured.Unstructured) string {
	t.Helper()
	b, err := yaml.Marshal(u.Object)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// events returns the messages of the events about an object.
func events(ctx context.Context, ns, kind, name string) ([]string, error) {
	l := &corev1.EventList{}
	if err := cp.kube.List(ctx, l, client.InNamespace(ns)); err != nil {
		return nil, err
	}
	var msgs []string
	for _, e := range l.Items {
		if e.InvolvedObject.Kind == kind && e.InvolvedObject.Name == name {
			msgs = append(msgs, e.Type+" "+e.Reason+": "+e.Message)
		}
	}
	return msgs, nil
}

// claimEvent waits for an event on the claim (type, reason and message,
// as events lists them) that matches.
func claimEvent(t *testing.T, ns, name, what string, match func(string) bool) {
	t.Helper()
	eventually(t, what+" on the claim", func() error {
		evs, err := events(t.Context(), ns, "KmsBackend", name)
		if err != nil {
			return err
		}
		if slices.ContainsFunc(evs, match) {
			return nil
		}
		return fmt.Errorf("no %s among %q", what, evs)
	})
}

// onlyOne returns the one object of a kind composed for a namespaced XR,
// found by the composite label Crossplane puts on it.
func onlyOne(ctx context.Context, gvk schema.GroupVersionKind, ns, xr string) (*unstructured.Unstructured, error) {
	l := &unstructured.UnstructuredList{}
	l.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
	if err := cp.kube.List(ctx, l, client.InNamespace(ns), client.MatchingLabels{"crossplane.io/composite": xr}); err != nil {
		return nil, err
	}
	if len(l.Items) != 1 {
		return nil, fmt.Errorf("want one %s in %s, got %d", gvk.Kind, ns, len(l.Items))
	}
	return &l.Items[0], nil
}

// kubectlIn runs kubectl against the control plane with stdin on its
// standard input, as an app team applies a manifest.
func kubectlIn(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "kubectl", append([]string{"--kubeconfig=" + cp.kubeconfig}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}
