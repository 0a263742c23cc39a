//go:build e2e || e2e_provider

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// The legacy composite's kind.
var xrGVK = schema.GroupVersionKind{Group: "kms.example.org", Version: "v1alpha1", Kind: "XKmsBackend"}

// The Key and Alias kinds of both flavours: provider-aws' cluster-scoped
// (legacy) and namespaced (Crossplane v2) groups.
var (
	keyKinds = []schema.GroupVersionKind{
		{Group: "kms.aws.upbound.io", Version: "v1beta1", Kind: "Key"},
		{Group: "kms.aws.m.upbound.io", Version: "v1beta1", Kind: "Key"},
	}
	aliasKinds = []schema.GroupVersionKind{
		{Group: "kms.aws.upbound.io", Version: "v1beta1", Kind: "Alias"},
		{Group: "kms.aws.m.upbound.io", Version: "v1beta1", Kind: "Alias"},
	}
)

// The annotation that names a managed resource's external resource: the
// Alias's name without alias/, the Key's id.
const externalName = "crossplane.io/external-name"

// The condition the function sets on the XR and its claim about the key.
const (
	keyAvailable        = "KeyAvailable"
	reasonAvailable     = "Available"
	reasonProviderError = "ProviderError"
)

// How long the control plane gets to converge after a change. Generous: a
// slow or loaded machine must not fail a scenario; none asserts on speed. A
// claim with two replicas takes the longest, about two minutes on 2 idle
// cores: its replica regions' Aliases wait for a reconcile after the
// ReplicaKeys are Ready.
const converge = 4 * time.Minute

// eventually calls check until it returns nil, and fails the test with its
// last error if it has not within converge.
func eventually(t *testing.T, what string, check func() error) {
	t.Helper()
	if err := cp.waitFor(t.Context(), converge, what, check); err != nil {
		t.Fatalf("%v\n(the control plane's logs: %s)", err, filepath.Join(cp.dir, "logs"))
	}
}

// namespace creates a namespace of the test's own.
func namespace(t *testing.T, name string) string {
	t.Helper()
	if err := cp.kube.Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}); err != nil {
		t.Fatal(err)
	}
	return name
}

// example returns an example manifest in namespace ns, named and aliased
// name, and its spec to change.
func example(t *testing.T, path, ns, name string) (*unstructured.Unstructured, map[string]any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(b, &u.Object); err != nil {
		t.Fatal(err)
	}
	u.SetNamespace(ns)
	u.SetName(name)
	spec, ok := u.Object["spec"].(map[string]any)
	if !ok {
		t.Fatalf("%s has no spec", path)
	}
	spec["aliasName"] = name
	return u, spec
}

// exampleClaim returns the README's example claim (example/claim.yaml) in
// namespace ns, named and aliased name, changed by the edits.
func exampleClaim(t *testing.T, ns, name string, edits ...func(spec map[string]any)) *unstructured.Unstructured {
	t.Helper()
	u, spec := example(t, "../example/claim.yaml", ns, name)
	spec["writeConnectionSecretToRef"] = map[string]any{"name": name + "-kms"}
	for _, e := range edits {
		e(spec)
	}
	return u
}

// namespacedXR returns example/namespaced/xr.yaml in namespace ns, named
// and aliased name, with the deletion policy, changed by the edits.
func namespacedXR(t *testing.T, ns, name, policy string, edits ...func(spec map[string]any)) *unstructured.Unstructured {
	t.Helper()
	u, spec := example(t, "../example/namespaced/xr.yaml", ns, name)
	spec["deletionPolicy"] = policy
	for _, e := range edits {
		e(spec)
	}
	return u
}

// flavour is one of the two ways an app team asks for a key.
type flavour struct {
	name string
	// resource is what an app team names to kubectl get.
	resource string
	// app is the object the app team applies: the example claim, or the
	// example namespaced XR, changed by the edits.
	app func(t *testing.T, ns, name string, edits ...func(spec map[string]any)) *unstructured.Unstructured
	// key and alias are the kinds the function composes for it.
	key, alias schema.GroupVersionKind
	// owned selects what was composed for the app's object.
	owned func(ns, name string) []client.ListOption
}

var flavours = []flavour{
	{
		name:     "legacy",
		resource: "kmsbackends.kms.example.org",
		app:      exampleClaim,
		key:      keyKinds[0],
		alias:    aliasKinds[0],
		owned: func(ns, name string) []client.ListOption {
			return []client.ListOption{client.MatchingLabels{"crossplane.io/claim-namespace": ns, "crossplane.io/claim-name": name}}
		},
	},
	{
		name:     "namespaced",
		resource: "kmsbackends.kms.m.example.org",
		app: func(t *testing.T, ns, name string, edits ...func(spec map[string]any)) *unstructured.Unstructured {
			return namespacedXR(t, ns, name, "Delete", edits...)
		},
		key:   keyKinds[1],
		alias: aliasKinds[1],
		owned: func(ns, name string) []client.ListOption {
			return []client.ListOption{client.InNamespace(ns), client.MatchingLabels{"crossplane.io/composite": name}}
		},
	},
}

// only returns the one object of a kind that the options select.
func only(ctx context.Context, gvk schema.GroupVersionKind, opts []client.ListOption) (*unstructured.Unstructured, error) {
	l := &unstructured.UnstructuredList{}
	l.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
	if err := cp.kube.List(ctx, l, opts...); err != nil {
		return nil, err
	}
	if len(l.Items) != 1 {
		return nil, fmt.Errorf("want one %s, got %d", gvk.Kind, len(l.Items))
	}
	return &l.Items[0], nil
}

// kubectl runs kubectl against the control plane, as an app team would.
func kubectl(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "kubectl", append([]string{"--kubeconfig=" + cp.kubeconfig}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// deleteAndWait deletes an XR or claim and waits until it and the objects
// composed for it are gone, the provider having finished with them.
func deleteAndWait(t *testing.T, app *unstructured.Unstructured, composed ...*unstructured.Unstructured) {
	t.Helper()
	ctx := t.Context()
	if err := cp.kube.Delete(ctx, app); err != nil {
		t.Fatal(err)
	}
	eventually(t, app.GetKind()+" "+app.GetName()+" and what it composed gone", func() error {
		for _, o := range append([]*unstructured.Unstructured{app}, composed...) {
			err := cp.kube.Get(ctx, client.ObjectKeyFromObject(o), o.DeepCopy())
			if err == nil {
				return fmt.Errorf("%s %s still there", o.GetKind(), o.GetName())
			}
			if !kerrors.IsNotFound(err) {
				return err
			}
		}
		return nil
	})
}
