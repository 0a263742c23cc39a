//go:build e2e || e2e_provider

// Package e2e proves the function on a real control plane: etcd,
// kube-apiserver, kube-controller-manager (for garbage collection) and
// Crossplane core, running as local processes on the loopback interface of a
// private network namespace, with no Docker and no AWS. It holds two suites
// that share that control plane:
//
//   - with the build tag e2e (`make e2e`), the provider is played by the test
//     (provider_test.go), so that refusals, restarts and guardrails run fast;
//   - with the build tag e2e_provider (`make e2e-provider`), provider-aws' own
//     KMS controllers compose keys in local-kms, a KMS emulator, behind a
//     proxy that records every call (provideraws_test.go, kms_test.go).
//
// Both make targets build the binaries at pinned versions and start this
// test binary inside `unshare`.
package e2e

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

var (
	binDir        = flag.String("bin", "../bin/e2e", "directory with etcd, kube-apiserver, kube-controller-manager, crossplane-core and function")
	stateDir      = flag.String("state", "../_output/e2e", "directory for the control plane's data, certificates and logs; emptied first")
	crossplaneCRD = flag.String("crossplane-crds", "", "Crossplane core's CRDs (cluster/crds of its module)")
	providerCRD   = flag.String("provider-crds", "", "provider-aws' CRDs (package/crds of its module)")
	pollInterval  = flag.Duration("poll-interval", 15*time.Second, "how often Crossplane core checks each XR for drift (its --poll-interval)")
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
	cfg        *rest.Config
	kube       client.Client
	procs      []*process // stopped in reverse order
	fn         *process
	stops      []func() // the provider's parts, stopped first
}

func TestMain(m *testing.M) {
	flag.Parse()
	// controller-runtime's client logs nothing this test needs.
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

// up starts the control plane and installs what the scenarios use, one
// step after another: each step is a method of controlPlane.
func up(ctx context.Context) (*controlPlane, error) {
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
	c := &controlPlane{dir: dir, kubeconfig: filepath.Join(dir, "kubeconfig")}
	for _, step := range []struct {
		what string
		run  func(context.Context) error
	}{
		{"etcd and kube-apiserver", c.startAPIServer},
		{"kube-controller-manager (the garbage collector)", c.startGarbageCollector},
		{"crossplane core init", c.initCrossplane},
		{"crossplane core start, and the function", c.startCrossplane},
		{"the provider's CRDs, the Function package, the XRDs and Compositions", c.install},
		{"the provider", c.startProvider},
	} {
		fmt.Println("e2e:", step.what)
		if err := step.run(ctx); err != nil {
			return c, fmt.Errorf("%s: %w", step.what, err)
		}
	}
	fmt.Println("e2e: control plane ready")
	return c, nil
}

// down stops the provider, the function, then the control plane in reverse
// order of starting: Crossplane, the controller manager, the API server, etcd.
func (c *controlPlane) down() {
	for i := len(c.stops) - 1; i >= 0; i-- {
		c.stops[i]()
	}
	if c.fn != nil {
		c.fn.stop()
	}
	for i := len(c.procs) - 1; i >= 0; i-- {
		c.procs[i].stop()
	}
	fmt.Println("e2e: control plane stopped; logs in", filepath.Join(c.dir, "logs"))
}

// objectKey names an object.
func objectKey(namespace, name string) client.ObjectKey {
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
