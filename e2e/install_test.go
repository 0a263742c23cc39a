//go:build e2e || e2e_provider

package e2e

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// install installs what the scenarios use: provider-aws' Key, ReplicaKey and
// Alias CRDs of both groups (from the provider's Go module), the function as a Function
// package served by the local process, and both Configurations' XRDs and
// Compositions with the guardrails Composition.
func (c *controlPlane) install(ctx context.Context) error {
	for _, f := range []string{
		"kms.aws.upbound.io_keys.yaml", "kms.aws.upbound.io_replicakeys.yaml", "kms.aws.upbound.io_aliases.yaml",
		"kms.aws.m.upbound.io_keys.yaml", "kms.aws.m.upbound.io_replicakeys.yaml", "kms.aws.m.upbound.io_aliases.yaml",
	} {
		if err := c.apply(ctx, filepath.Join(*providerCRD, f)); err != nil {
			return err
		}
	}
	if err := c.installFunction(ctx); err != nil {
		return err
	}
	for _, f := range []string{
		"../configuration/legacy/definition.yaml", "../configuration/legacy/composition.yaml", "../example/guardrails/composition.yaml",
		"../configuration/namespaced/definition.yaml", "../configuration/namespaced/composition.yaml",
	} {
		if err := c.apply(ctx, f); err != nil {
			return err
		}
	}
	for xrd, conditions := range map[string][]string{
		"xkmsbackends.kms.example.org":  {"Established", "Offered"}, // The legacy XR and its claim.
		"kmsbackends.kms.m.example.org": {"Established"},            // The namespaced XR: no claim.
	} {
		if err := c.waitFor(ctx, 2*time.Minute, "XRD "+xrd+" "+strings.Join(conditions, " and "), func() error {
			u := &unstructured.Unstructured{}
			u.SetAPIVersion("apiextensions.crossplane.io/v1")
			u.SetKind("CompositeResourceDefinition")
			if err := c.kube.Get(ctx, objectKey("", xrd), u); err != nil {
				return err
			}
			for _, t := range conditions {
				if st, _, msg := condition(u, t); st != "True" {
					return fmt.Errorf("%s is %q: %s", t, st, msg)
				}
			}
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

// seedPackageCache writes the function's package.yaml (its crossplane.yaml
// and input CRD) into Crossplane's package cache under a digest, as if
// Crossplane had pulled it: no registry is reachable here. It returns the
// digest.
func seedPackageCache(cache, pkgDir string) (string, error) {
	files, err := filepath.Glob(filepath.Join(pkgDir, "input", "*.yaml"))
	if err != nil {
		return "", err
	}
	var stream bytes.Buffer
	for _, f := range append([]string{filepath.Join(pkgDir, "crossplane.yaml")}, files...) {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		stream.WriteString("---\n")
		stream.Write(b)
	}
	sum := sha256.Sum256(stream.Bytes())
	digest := "sha256:" + hex.EncodeToString(sum[:])
	if err := os.MkdirAll(cache, 0o700); err != nil {
		return "", err
	}
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	if _, err := w.Write(stream.Bytes()); err != nil {
		return "", err
	}
	if err := w.Close(); err != nil {
		return "", err
	}
	return digest, os.WriteFile(filepath.Join(cache, friendlyID(functionSource, digest)+".gz"), gz.Bytes(), 0o600)
}

// friendlyID is the name Crossplane's package cache gives a package: its
// source and the start of its digest, as a DNS label
// (crossplane-runtime/v2 pkg/xpkg.FriendlyID, v2.4.0).
func friendlyID(source, digest string) string {
	trunc := func(s string, n int) string {
		if len(s) > n {
			return s[:n]
		}
		return s
	}
	s := trunc(source, 50) + "-" + trunc(digest, 12)
	var b strings.Builder
	for i := range s {
		ch := s[i]
		if ('a' <= ch && ch <= 'z') || ('0' <= ch && ch <= '9') {
			b.WriteByte(ch)
		}
		if (ch == '.' || ch == '/' || ch == ':' || ch == '-') && i != 0 && i != 62 && i != len(s)-1 {
			b.WriteByte('-')
		}
		if i == 62 {
			break
		}
	}
	return strings.Trim(b.String(), "-")
}

// installFunction installs the function as a Function package from the
// seeded cache, then points its active revision at the local process, as
// the package runtime would at the Service in front of the function's pod.
func (c *controlPlane) installFunction(ctx context.Context) error {
	digest, err := seedPackageCache(c.xpkgCache(), "../package")
	if err != nil {
		return err
	}
	fn := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "pkg.crossplane.io/v1",
		"kind":       "Function",
		"metadata":   map[string]any{"name": functionName},
		"spec": map[string]any{
			"package":           functionSource + "@" + digest,
			"packagePullPolicy": "Never",
		},
	}}
	if err := c.kube.Create(ctx, fn); err != nil {
		return err
	}
	var rev *unstructured.Unstructured
	if err := c.waitFor(ctx, 2*time.Minute, "an active FunctionRevision", func() error {
		l := &unstructured.UnstructuredList{}
		l.SetAPIVersion("pkg.crossplane.io/v1")
		l.SetKind("FunctionRevisionList")
		if err := c.kube.List(ctx, l, client.MatchingLabels{"pkg.crossplane.io/package": functionName}); err != nil {
			return err
		}
		for i := range l.Items {
			if s, _, _ := unstructured.NestedString(l.Items[i].Object, "spec", "desiredState"); s == "Active" {
				rev = &l.Items[i]
				return nil
			}
		}
		if err := c.kube.Get(ctx, client.ObjectKeyFromObject(fn), fn); err != nil {
			return err
		}
		return fmt.Errorf("none yet; the Function's conditions: %v", fn.Object["status"])
	}); err != nil {
		return err
	}
	// The package runtime would create this secret for the function's pod;
	// the establisher reads the CA bundle of webhooks from it.
	sec := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: crossplaneNamespace, Name: functionName + "-tls-server"},
		Data:       map[string][]byte{},
	}
	for _, k := range []string{corev1.TLSCertKey, corev1.TLSPrivateKeyKey, keyCACert} {
		b, err := os.ReadFile(filepath.Join(c.dir, "tls", "function", k))
		if err != nil {
			return err
		}
		sec.Data[k] = b
	}
	if err := c.kube.Create(ctx, sec); err != nil {
		return err
	}
	patch := []byte(`{"status":{"endpoint":"dns:///` + functionAddr + `","tlsServerSecretName":"` + sec.Name + `"}}`)
	if err := c.kube.Status().Patch(ctx, rev, client.RawPatch("application/merge-patch+json", patch), fieldOwner); err != nil {
		return err
	}
	// The revision parsed and linted the package (its input CRD is not
	// installed: function packages' CRDs never are).
	return c.waitFor(ctx, time.Minute, "the FunctionRevision RevisionHealthy", func() error {
		if err := c.kube.Get(ctx, client.ObjectKeyFromObject(rev), rev); err != nil {
			return err
		}
		if st, reason, msg := condition(rev, "RevisionHealthy"); st != "True" {
			return fmt.Errorf("RevisionHealthy=%q (%s): %s; the revision's status: %v", st, reason, msg, rev.Object["status"])
		}
		return nil
	})
}

// apply creates each object of a YAML file, or updates it if it exists.
func (c *controlPlane) apply(ctx context.Context, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	d := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
	for {
		u := &unstructured.Unstructured{}
		if err := d.Decode(&u.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("%s: %w", path, err)
		}
		if len(u.Object) == 0 {
			continue
		}
		err := c.kube.Create(ctx, u, fieldOwner)
		if kerrors.IsAlreadyExists(err) {
			cur := &unstructured.Unstructured{}
			cur.SetGroupVersionKind(u.GroupVersionKind())
			if err := c.kube.Get(ctx, client.ObjectKeyFromObject(u), cur); err != nil {
				return err
			}
			u.SetResourceVersion(cur.GetResourceVersion())
			err = c.kube.Update(ctx, u, fieldOwner)
		}
		if err != nil {
			return fmt.Errorf("%s: %s %s: %w", path, u.GetKind(), u.GetName(), err)
		}
	}
}
