//go:build e2e || e2e_provider

package e2e

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	extv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kmsv1 "github.com/upbound/provider-aws/v2/apis/cluster/kms/v1beta1"
)

// The ports the control plane listens on. They are fixed: everything runs on
// the loopback interface of a network namespace of its own.
const (
	etcdClientURL = "http://127.0.0.1:2379"
	etcdPeerURL   = "http://127.0.0.1:2380"
	apiServerURL  = "https://127.0.0.1:6443"
	functionAddr  = "127.0.0.1:9443"
)

// process is one component of the control plane, started from a binary
// with its output in a log file.
type process struct {
	name string
	log  string
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// start runs bin with args, its output appended to dir/logs/name.log.
func start(dir, name string, env []string, bin string, args ...string) (*process, error) {
	logPath := filepath.Join(dir, "logs", name+".log")
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("cannot start %s: %w", name, err)
	}
	p := &process{name: name, log: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		_ = f.Close()
		close(p.done)
	}()
	return p, nil
}

// running reports an error if the process has exited.
func (p *process) running() error {
	select {
	case <-p.done:
		return fmt.Errorf("%s exited (%w); its log:\n%s", p.name, p.err, tail(p.log, 40))
	default:
		return nil
	}
}

// stop asks the process to exit, and kills it if it has not within 10s.
func (p *process) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.kill()
	}
}

// kill kills the process at once, as a crash or an OOM kill would.
func (p *process) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// tail returns the last n lines of a file, for a failure message.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// isolated returns an error unless this process is in a network namespace
// of its own, whose only interface is the loopback: the control plane binds
// fixed ports and must never meet a real cluster.
func isolated() error {
	ifs, err := net.Interfaces()
	if err != nil {
		return err
	}
	for _, i := range ifs {
		if i.Name != "lo" {
			return fmt.Errorf("this test runs the control plane in a private network namespace; interface %q is visible, so run it with `make e2e`", i.Name)
		}
	}
	return nil
}

// loopbackUp brings up the loopback interface of a new network namespace,
// as `ip link set lo up` would.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd) //nolint:errcheck // Nothing was written.
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
}

// waitFor calls check every 250ms until it returns nil or timeout passes.
func waitFor(ctx context.Context, timeout time.Duration, what string, check func() error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		err := check()
		if err == nil {
			return nil
		}
		var e exited
		if errors.As(err, &e) {
			return fmt.Errorf("%s: %w", what, e.error)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: not after %s: %w", what, timeout, err)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// newToken returns a random bearer token for the API server's token file.
func newToken() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// writeServiceAccountKey writes the key pair the API server signs service
// account tokens with.
func writeServiceAccountKey(dir string) (pub, priv string, err error) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", "", err
	}
	pkix, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		return "", "", err
	}
	pub, priv = filepath.Join(dir, "sa.pub"), filepath.Join(dir, "sa.key")
	if err := writePEM(pub, "PUBLIC KEY", pkix); err != nil {
		return "", "", err
	}
	return pub, priv, writePEM(priv, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(k))
}

func writePEM(path, typ string, der []byte) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600)
}

// apiServerReady returns nil once the API server's /readyz passes: every
// post-start hook, including the RBAC bootstrap, has run.
func apiServerReady(token string) error {
	c := &http.Client{
		Timeout:   2 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}},
	}
	req, err := http.NewRequest(http.MethodGet, apiServerURL+"/readyz", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	rsp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer rsp.Body.Close() //nolint:errcheck // Read only.
	body, _ := io.ReadAll(rsp.Body)
	if rsp.StatusCode != http.StatusOK {
		return errors.New(string(body))
	}
	return nil
}

// kubeconfig is the admin kubeconfig of the control plane: a token of the
// system:masters group, for the tests, kubectl and Crossplane.
func kubeconfig(token string) string {
	return `apiVersion: v1
kind: Config
clusters:
- name: e2e
  cluster:
    server: ` + apiServerURL + `
    insecure-skip-tls-verify: true
users:
- name: admin
  user:
    token: ` + token + `
contexts:
- name: e2e
  context: {cluster: e2e, user: admin}
current-context: e2e
`
}

// startAPIServer starts etcd and kube-apiserver (token authentication for
// one system:masters user, RBAC), waits for /readyz, and makes the client.
func (c *controlPlane) startAPIServer(ctx context.Context) error {
	for _, d := range []string{"etcd", "certs"} {
		if err := os.MkdirAll(filepath.Join(c.dir, d), 0o700); err != nil {
			return err
		}
	}
	token, err := newToken()
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(c.dir, "tokens.csv"), []byte(token+`,admin,admin,"system:masters"`+"\n"), 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(c.kubeconfig, []byte(kubeconfig(token)), 0o600); err != nil {
		return err
	}
	saPub, saKey, err := writeServiceAccountKey(c.dir)
	if err != nil {
		return err
	}
	if err := c.run("etcd", nil, "etcd",
		"--data-dir="+filepath.Join(c.dir, "etcd"),
		"--listen-client-urls="+etcdClientURL, "--advertise-client-urls="+etcdClientURL,
		"--listen-peer-urls="+etcdPeerURL, "--initial-advertise-peer-urls="+etcdPeerURL,
		"--initial-cluster=default="+etcdPeerURL); err != nil {
		return err
	}
	if err := c.run("kube-apiserver", nil, "kube-apiserver",
		"--etcd-servers="+etcdClientURL,
		"--cert-dir="+filepath.Join(c.dir, "certs"),
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", "--secure-port=6443",
		"--service-cluster-ip-range=10.0.0.0/24",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+saPub, "--service-account-signing-key-file="+saKey,
		"--token-auth-file="+filepath.Join(c.dir, "tokens.csv"),
		"--authorization-mode=RBAC", "--enable-priority-and-fairness=false"); err != nil {
		return err
	}
	if err := c.waitFor(ctx, 2*time.Minute, "kube-apiserver /readyz", func() error { return apiServerReady(token) }); err != nil {
		return err
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", c.kubeconfig)
	if err != nil {
		return err
	}
	// The legacy XRD's apiextensions.crossplane.io/v1 is deprecated in
	// Crossplane v2; the API server's warning about it is not news here.
	cfg.WarningHandlerWithContext = rest.NoWarnings{}
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, extv1.AddToScheme, kmsv1.AddToScheme} {
		if err := add(s); err != nil {
			return err
		}
	}
	c.cfg = cfg
	c.kube, err = client.New(cfg, client.Options{Scheme: s})
	return err
}

// startGarbageCollector starts kube-controller-manager with only its
// garbage collector: Crossplane relies on it to delete an XR's composed
// resources with the XR.
func (c *controlPlane) startGarbageCollector(_ context.Context) error {
	return c.run("kube-controller-manager", nil, "kube-controller-manager",
		"--kubeconfig="+c.kubeconfig, "--controllers=garbagecollector", "--leader-elect=false",
		"--use-service-account-credentials=false", "--bind-address=127.0.0.1", "--secure-port=10257",
		"--authentication-kubeconfig="+c.kubeconfig, "--authorization-kubeconfig="+c.kubeconfig)
}

// initCrossplane runs `crossplane core init`: Crossplane's CRDs, its root CA
// and its client certificate, as its init container does. It then writes
// the client certificate where `core start` reads it, and signs the
// function's server certificate with the root CA, as the package runtime
// would.
func (c *controlPlane) initCrossplane(ctx context.Context) error {
	if err := c.kube.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: crossplaneNamespace}}); err != nil {
		return err
	}
	env := append(os.Environ(),
		"KUBECONFIG="+c.kubeconfig, "POD_NAMESPACE="+crossplaneNamespace, "CRDS_PATH="+*crossplaneCRD,
		"ENABLE_WEBHOOKS=false", "TLS_CA_SECRET_NAME="+secretRootCA, "TLS_CLIENT_SECRET_NAME="+secretTLSClient)
	log := filepath.Join(c.dir, "logs", "crossplane-init.log")
	// Crossplane's docs say to retry init once: its CRDs may not be served
	// at once.
	if err := c.waitFor(ctx, time.Minute, "crossplane core init", func() error {
		cmd := exec.CommandContext(ctx, filepath.Join(*binDir, "crossplane-core"), "core", "init")
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if werr := os.WriteFile(log, out, 0o600); werr != nil {
			return werr
		}
		if err != nil {
			return fmt.Errorf("%w: %s", err, tail(log, 5))
		}
		return nil
	}); err != nil {
		return err
	}
	ca, cl := &corev1.Secret{}, &corev1.Secret{}
	if err := c.kube.Get(ctx, objectKey(crossplaneNamespace, secretRootCA), ca); err != nil {
		return err
	}
	if err := c.kube.Get(ctx, objectKey(crossplaneNamespace, secretTLSClient), cl); err != nil {
		return err
	}
	if err := writeSecretFiles(filepath.Join(c.dir, "tls", "crossplane-client"), cl); err != nil {
		return err
	}
	return writeServerCert(filepath.Join(c.dir, "tls", "function"), ca)
}

// startCrossplane starts Crossplane core, with the External package
// runtime (it runs no pods: the function is a local process), and the
// function.
func (c *controlPlane) startCrossplane(_ context.Context) error {
	if err := c.run("crossplane", []string{"KUBECONFIG=" + c.kubeconfig, "POD_NAMESPACE=" + crossplaneNamespace}, "crossplane-core",
		"core", "start", "--debug",
		"--enable-webhooks=false", "--package-runtime=External",
		"--xpkg-cache-dir="+c.xpkgCache(), "--tls-client-certs-dir="+filepath.Join(c.dir, "tls", "crossplane-client"),
		"--metrics-port="+crossplaneMetrics[len("127.0.0.1:"):], "--health-probe-port=8081", "--poll-interval="+pollInterval.String()); err != nil {
		return err
	}
	return c.startFunction()
}

// startFunction starts the function as Crossplane runs it: serving gRPC over
// mTLS with a certificate signed by Crossplane's CA.
func (c *controlPlane) startFunction() error { return c.startFunctionFrom("function") }

// startFunctionFrom starts the function from a binary of the bin
// directory: this version's, function, or the release before it,
// function-previous, which the provider suite's upgrade scenario runs.
func (c *controlPlane) startFunctionFrom(bin string) error {
	p, err := start(c.dir, "function", nil, filepath.Join(*binDir, bin),
		"--debug", "--address="+functionAddr, "--metrics-address=127.0.0.1:8090",
		"--tls-certs-dir="+filepath.Join(c.dir, "tls", "function"))
	if err != nil {
		return err
	}
	c.fn = p
	return nil
}

// xpkgCache is Crossplane's package cache directory.
func (c *controlPlane) xpkgCache() string { return filepath.Join(c.dir, "xpkg-cache") }

// run starts one of the control plane's binaries.
func (c *controlPlane) run(name string, env []string, bin string, args ...string) error {
	p, err := start(c.dir, name, env, filepath.Join(*binDir, bin), args...)
	if err != nil {
		return err
	}
	c.procs = append(c.procs, p)
	return nil
}

// waitFor is waitFor that also fails at once when a process of the control
// plane has exited.
func (c *controlPlane) waitFor(ctx context.Context, timeout time.Duration, what string, check func() error) error {
	return waitFor(ctx, timeout, what, func() error {
		for _, p := range c.procs {
			if err := p.running(); err != nil {
				return exited{err}
			}
		}
		return check()
	})
}

// exited is the error of a process the control plane needs having exited:
// waitFor does not retry it.
type exited struct{ error }
