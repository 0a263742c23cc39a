//go:build e2e_provider

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// The provider's poll interval: how often it compares each managed resource
// with KMS. Short, so that the scenarios that watch for writes see several
// polls in little time.
const providerPoll = 10 * time.Second

// The provider's health probe address.
const providerHealth = "127.0.0.1:18083"

// The provider config (of each group) whose endpoint refuses connections.
// Every other scenario reaches an emulator of its own through a lane
// (lanes_test.go).
const configUnreachable = "unreachable"

// startProvider starts provider-aws' KMS controllers, with the credentials
// Secret every provider config reads and the unreachable provider configs,
// as a platform team would install them against AWS.
func (c *controlPlane) startProvider(ctx context.Context) error {
	for _, f := range []string{
		"aws.upbound.io_providerconfigs.yaml", "aws.upbound.io_providerconfigusages.yaml",
		"aws.m.upbound.io_providerconfigs.yaml", "aws.m.upbound.io_clusterproviderconfigs.yaml", "aws.m.upbound.io_providerconfigusages.yaml",
	} {
		if err := c.apply(ctx, filepath.Join(*providerCRD, f)); err != nil {
			return err
		}
	}
	creds := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: crossplaneNamespace, Name: credentialsSecret},
		StringData: map[string]string{"credentials": "[default]\naws_access_key_id = AKIAEMULATOR\naws_secret_access_key = emulator\n"},
	}
	if err := c.kube.Create(ctx, creds); err != nil {
		return err
	}
	if err := c.providerConfig(ctx, configUnreachable, refusedAddr); err != nil {
		return err
	}
	if err := c.run("provider-aws-kms", []string{"KUBECONFIG=" + c.kubeconfig}, "provider-aws-kms",
		"--debug", "--poll="+providerPoll.String(), "--sync=1m",
		"--metrics-bind-address=127.0.0.1:18082", "--health-probe-bind-addr="+providerHealth); err != nil {
		return err
	}
	return c.waitFor(ctx, 2*time.Minute, "provider-aws /readyz", func() error {
		rsp, err := http.Get("http://" + providerHealth + "/readyz") //nolint:noctx // Loopback, short.
		if err != nil {
			return err
		}
		_ = rsp.Body.Close()
		if rsp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %s", rsp.Status)
		}
		return nil
	})
}

// The Secret with the provider's credentials: fake keys, which the
// emulators check none of.
const credentialsSecret = "aws-credentials"

// providerConfig creates a ProviderConfig for the legacy Key and Alias and a
// ClusterProviderConfig for the namespaced ones, both named name, whose KMS
// endpoint is http://endpoint.
func (c *controlPlane) providerConfig(ctx context.Context, name, endpoint string) error {
	spec := map[string]any{
		"credentials": map[string]any{
			"source":    "Secret",
			"secretRef": map[string]any{"namespace": crossplaneNamespace, "name": credentialsSecret, "key": "credentials"},
		},
		// Without services, provider-aws ignores the URL.
		"endpoint": map[string]any{
			"services":          []any{"kms"},
			"hostnameImmutable": true,
			"url":               map[string]any{"type": "Static", "static": "http://" + endpoint},
		},
		"skip_credentials_validation": true,
		"skip_metadata_api_check":     true,
		"skip_requesting_account_id":  true,
		"skip_region_validation":      true,
	}
	for _, gvk := range [][2]string{{"aws.upbound.io/v1beta1", "ProviderConfig"}, {"aws.m.upbound.io/v1beta1", "ClusterProviderConfig"}} {
		pc := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": gvk[0], "kind": gvk[1],
			"metadata": map[string]any{"name": name},
			"spec":     spec,
		}}
		// The CRDs may have been created a moment ago: retry until they
		// are served.
		if err := waitFor(ctx, time.Minute, gvk[1]+" "+name, func() error { return c.kube.Create(ctx, pc.DeepCopy()) }); err != nil {
			return err
		}
	}
	return nil
}
