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

// rec records the provider's calls to local-kms, motoRec its calls to moto.
var rec, motoRec *recorder

// Provider configs: default reaches local-kms through its recorder, moto
// reaches moto through its own; unreachable names an address that refuses
// connections.
const (
	configDefault     = "default"
	configMoto        = "moto"
	configUnreachable = "unreachable"
)

// startProvider starts local-kms and moto, the recording proxies in front
// of them and provider-aws' KMS controllers, with provider configs of both
// groups, as a platform team would install them against AWS.
func (c *controlPlane) startProvider(ctx context.Context) error {
	for _, f := range []string{
		"aws.upbound.io_providerconfigs.yaml", "aws.upbound.io_providerconfigusages.yaml",
		"aws.m.upbound.io_providerconfigs.yaml", "aws.m.upbound.io_clusterproviderconfigs.yaml", "aws.m.upbound.io_providerconfigusages.yaml",
	} {
		if err := c.apply(ctx, filepath.Join(*providerCRD, f)); err != nil {
			return err
		}
	}
	if err := c.startEmulator(ctx); err != nil {
		return err
	}
	if err := c.startMoto(ctx); err != nil {
		return err
	}
	var err error
	if rec, err = startRecorder(emulatorAddr, proxyAddr); err != nil {
		return err
	}
	c.stops = append(c.stops, rec.stop)
	if motoRec, err = startRecorder(motoAddr, motoProxyAddr); err != nil {
		return err
	}
	c.stops = append(c.stops, motoRec.stop)
	if err := c.providerConfigs(ctx); err != nil {
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

// providerConfigs creates the credentials Secret (fake keys: the emulator
// checks none) and, for each provider config name, a ProviderConfig for the
// legacy Key and Alias and a ClusterProviderConfig for the namespaced ones.
func (c *controlPlane) providerConfigs(ctx context.Context) error {
	creds := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: crossplaneNamespace, Name: "aws-credentials"},
		StringData: map[string]string{"credentials": "[default]\naws_access_key_id = AKIAEMULATOR\naws_secret_access_key = emulator\n"},
	}
	if err := c.kube.Create(ctx, creds); err != nil {
		return err
	}
	for name, endpoint := range map[string]string{configDefault: proxyAddr, configMoto: motoProxyAddr, configUnreachable: refusedAddr} {
		spec := map[string]any{
			"credentials": map[string]any{
				"source":    "Secret",
				"secretRef": map[string]any{"namespace": crossplaneNamespace, "name": creds.Name, "key": "credentials"},
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
			// The CRDs were created a moment ago: retry until they are served.
			if err := c.waitFor(ctx, time.Minute, gvk[1]+" "+name, func() error { return c.kube.Create(ctx, pc.DeepCopy()) }); err != nil {
				return err
			}
		}
	}
	return nil
}
