//go:build e2e

// Package e2e proves the function on a real control plane: etcd,
// kube-apiserver, kube-controller-manager (for garbage collection) and
// Crossplane core, running as local processes on the loopback interface of a
// private network namespace, with no Docker and no AWS. The provider is
// played by the test (provider_test.go). Run it with `make e2e`, which builds
// the binaries at pinned versions and starts this test binary inside
// `unshare`.
package e2e

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	extv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	kmsv1 "github.com/upbound/provider-aws/v2/apis/cluster/kms/v1beta1"
)

var (
	binDir        = flag.String("bin", "../bin/e2e", "directory with etcd, kube-apiserver, kube-controller-manager, crossplane-core and function")
	stateDir      = flag.String("state", "../_output/e2e", "directory for the control plane's data, certificates and logs; emptied first")
	crossplaneCRD = flag.String("crossplane-crds", "", "Crossplane core's CRDs (cluster/crds of its module)")
	providerCRD   = flag.String("provider-crds", "", "provider-aws' CRDs (package/crds of its module)")
)

const (
	crossplaneNamespace = "crossplane-system"
	functionName        = "function-kms-backend"
	functionSource      = "xpkg.example.org/function-kms-backend"
	fieldOwner          = client.FieldOwner("e2e")
	crossplaneMetrics   = "127.0.0.1:8080"
)

// cp is the running control plane every scenario shares.
var cp *controlPlane

type controlPlane struct {
	dir        string
	kubeconfig string
	kube       client.Client
	procs      []*process // stopped in reverse order
	fn         *process
	aws        *provider
}

func TestMain(m *testing.M) {
	flag.Parse()
	// The client would log nothing but the API server's warnings, which it
	// is told to drop (the legacy XRD's apiextensions.crossplane.io/v1 is
	// deprecated; the README says so).
	ctrllog.SetLogger(logr.Discard())
	if err := isolated(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(2)
	}
	var err error
	cp, err = up(context.Background())
	code := 1
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: cannot start the control plane:", err)
	} else {
		code = m.Run()
	}
	if cp != nil {
		cp.down()
	}
	os.Exit(code)
}

// up starts the control plane and installs what the scenarios use: the
// provider's KMS CRDs, the function as a Function package served by a local
// process over mTLS, and the Configuration's XRD and Compositions.
func up(ctx context.Context) (*controlPlane, error) { //nolint:gocyclo // One step after another.
	if err := loopbackUp(); err != nil {
		return nil, fmt.Errorf("cannot bring up the loopback interface: %w", err)
	}
	dir, err := filepath.Abs(*stateDir)
	if err != nil {
		return nil, err
	}
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	for _, d := range []string{"etcd", "certs"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return nil, err
		}
	}
	c := &controlPlane{dir: dir, kubeconfig: filepath.Join(dir, "kubeconfig")}

	fmt.Println("e2e: starting etcd and kube-apiserver")
	token, err := newToken()
	if err != nil {
		return c, err
	}
	if err := os.WriteFile(filepath.Join(dir, "tokens.csv"), []byte(token+`,admin,admin,"system:masters"`+"\n"), 0o600); err != nil {
		return c, err
	}
	saPub, saKey, err := writeServiceAccountKey(dir)
	if err != nil {
		return c, err
	}
	if err := os.WriteFile(c.kubeconfig, []byte(kubeconfig(token)), 0o600); err != nil {
		return c, err
	}
	if err := c.run("etcd", nil, "etcd",
		"--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls="+etcdClientURL, "--advertise-client-urls="+etcdClientURL,
		"--listen-peer-urls="+etcdPeerURL, "--initial-advertise-peer-urls="+etcdPeerURL,
		"--initial-cluster=default="+etcdPeerURL); err != nil {
		return c, err
	}
	if err := c.run("kube-apiserver", nil, "kube-apiserver",
		"--etcd-servers="+etcdClientURL,
		"--cert-dir="+filepath.Join(dir, "certs"),
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", "--secure-port=6443",
		"--service-cluster-ip-range=10.0.0.0/24",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+saPub, "--service-account-signing-key-file="+saKey,
		"--token-auth-file="+filepath.Join(dir, "tokens.csv"),
		"--authorization-mode=RBAC", "--enable-priority-and-fairness=false"); err != nil {
		return c, err
	}
	if err := c.waitFor(ctx, 2*time.Minute, "kube-apiserver /readyz", func() error { return apiServerReady(token) }); err != nil {
		return c, err
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", c.kubeconfig)
	if err != nil {
		return c, err
	}
	cfg.WarningHandlerWithContext = rest.NoWarnings{}
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, extv1.AddToScheme, kmsv1.AddToScheme} {
		if err := add(s); err != nil {
			return c, err
		}
	}
	if c.kube, err = client.New(cfg, client.Options{Scheme: s}); err != nil {
		return c, err
	}

	// Crossplane relies on Kubernetes' garbage collector to delete an XR's
	// composed resources with it; nothing else of the controller manager is
	// needed.
	fmt.Println("e2e: starting kube-controller-manager (garbage collector)")
	if err := c.run("kube-controller-manager", nil, "kube-controller-manager",
		"--kubeconfig="+c.kubeconfig, "--controllers=garbagecollector", "--leader-elect=false",
		"--use-service-account-credentials=false", "--bind-address=127.0.0.1", "--secure-port=10257",
		"--authentication-kubeconfig="+c.kubeconfig, "--authorization-kubeconfig="+c.kubeconfig); err != nil {
		return c, err
	}

	fmt.Println("e2e: crossplane core init")
	if err := c.kube.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: crossplaneNamespace}}); err != nil {
		return c, err
	}
	initEnv := []string{
		"KUBECONFIG=" + c.kubeconfig, "POD_NAMESPACE=" + crossplaneNamespace, "CRDS_PATH=" + *crossplaneCRD,
		"ENABLE_WEBHOOKS=false", "TLS_CA_SECRET_NAME=" + secretRootCA, "TLS_CLIENT_SECRET_NAME=" + secretTLSClient,
	}
	if err := c.waitFor(ctx, time.Minute, "crossplane core init", func() error {
		cmd := exec.CommandContext(ctx, filepath.Join(*binDir, "crossplane-core"), "core", "init")
		cmd.Env = append(os.Environ(), initEnv...)
		out, err := cmd.CombinedOutput()
		_ = os.WriteFile(filepath.Join(dir, "logs", "crossplane-init.log"), out, 0o600)
		if err != nil {
			return fmt.Errorf("%w: %s", err, tail(filepath.Join(dir, "logs", "crossplane-init.log"), 5))
		}
		return nil
	}); err != nil {
		return c, err
	}
	ca, cl := &corev1.Secret{}, &corev1.Secret{}
	if err := c.kube.Get(ctx, client2key(crossplaneNamespace, secretRootCA), ca); err != nil {
		return c, err
	}
	if err := c.kube.Get(ctx, client2key(crossplaneNamespace, secretTLSClient), cl); err != nil {
		return c, err
	}
	if err := writeSecretFiles(filepath.Join(dir, "tls", "crossplane-client"), cl); err != nil {
		return c, err
	}
	if err := writeServerCert(filepath.Join(dir, "tls", "function"), ca); err != nil {
		return c, err
	}
	xpkgCache := filepath.Join(dir, "xpkg-cache")
	digest, err := seedPackageCache(xpkgCache, "../package")
	if err != nil {
		return c, err
	}

	fmt.Println("e2e: starting crossplane core and the function")
	if err := c.run("crossplane", []string{"KUBECONFIG=" + c.kubeconfig, "POD_NAMESPACE=" + crossplaneNamespace}, "crossplane-core",
		"core", "start", "--debug",
		"--enable-webhooks=false", "--package-runtime=External",
		"--xpkg-cache-dir="+xpkgCache, "--tls-client-certs-dir="+filepath.Join(dir, "tls", "crossplane-client"),
		"--metrics-port="+crossplaneMetrics[len("127.0.0.1:"):], "--health-probe-port=8081", "--poll-interval=15s"); err != nil {
		return c, err
	}
	if err := c.startFunction(); err != nil {
		return c, err
	}

	fmt.Println("e2e: installing the provider's CRDs, the Function and the Configuration")
	for _, f := range []string{"kms.aws.upbound.io_keys.yaml", "kms.aws.upbound.io_aliases.yaml", "kms.aws.m.upbound.io_keys.yaml", "kms.aws.m.upbound.io_aliases.yaml"} {
		if err := c.apply(ctx, filepath.Join(*providerCRD, f)); err != nil {
			return c, err
		}
	}
	if err := c.installFunction(ctx, digest); err != nil {
		return c, err
	}
	for _, f := range []string{
		"../configuration/legacy/definition.yaml", "../configuration/legacy/composition.yaml", "../example/guardrails/composition.yaml",
		"../configuration/namespaced/definition.yaml", "../configuration/namespaced/composition.yaml",
	} {
		if err := c.apply(ctx, f); err != nil {
			return c, err
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
			if err := c.kube.Get(ctx, client2key("", xrd), u); err != nil {
				return err
			}
			for _, t := range conditions {
				if st, _, msg := condition(u, t); st != "True" {
					return fmt.Errorf("%s is %q: %s", t, st, msg)
				}
			}
			return nil
		}); err != nil {
			return c, err
		}
	}

	c.aws = startProvider(c.kube)
	fmt.Println("e2e: control plane ready")
	return c, nil
}

// down stops the provider, the function, then the control plane in reverse
// order of starting: Crossplane, the controller manager, the API server, etcd.
func (c *controlPlane) down() {
	if c.aws != nil {
		c.aws.stop()
	}
	if c.fn != nil {
		c.fn.stop()
	}
	for i := len(c.procs) - 1; i >= 0; i-- {
		c.procs[i].stop()
	}
	fmt.Println("e2e: control plane stopped; logs in", filepath.Join(c.dir, "logs"))
}

// run starts one of the control plane's binaries.
func (c *controlPlane) run(name string, env []string, bin string, args ...string) error {
	p, err := start(c.dir, name, env, filepath.Join(*binDir, bin), args...)
	if err != nil {
		return err
	}
	c.procs = append(c.procs, p)
	return nil
}

// waitFor is waitFor that also fails at once when a process has exited.
func (c *controlPlane) waitFor(ctx context.Context, timeout time.Duration, what string, check func() error) error {
	return waitFor(ctx, timeout, what, func() error {
		for _, p := range c.procs {
			if err := p.running(); err != nil {
				return backoffStop{err}
			}
		}
		return check()
	})
}

// startFunction starts the function as Crossplane runs it: serving gRPC over
// mTLS with a certificate signed by Crossplane's CA.
func (c *controlPlane) startFunction() error {
	p, err := start(c.dir, "function", nil, filepath.Join(*binDir, "function"),
		"--debug", "--address="+functionAddr, "--metrics-address=127.0.0.1:8090",
		"--tls-certs-dir="+filepath.Join(c.dir, "tls", "function"))
	if err != nil {
		return err
	}
	c.fn = p
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
func (c *controlPlane) installFunction(ctx context.Context, digest string) error {
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
			return fmt.Errorf("Healthy=%q (%s): %s; status %v", st, reason, msg, rev.Object["status"])
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

// backoffStop is an error that waitFor's callers should not retry: a
// process the control plane needs has exited.
type backoffStop struct{ error }

func client2key(namespace, name string) client.ObjectKey {
	return client.ObjectKey{Namespace: namespace, Name: name}
}

// condition returns the status, reason and message of an object's
// condition of type t, or "" if it has none.
func condition(u *unstructured.Unstructured, t string) (status, reason, message string) {
	cs, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range cs {
		m, ok := c.(map[string]any)
		if !ok || m["type"] != t {
			continue
		}
		status, _ = m["status"].(string)
		reason, _ = m["reason"].(string)
		message, _ = m["message"].(string)
		return status, reason, message
	}
	return "", "", ""
}
