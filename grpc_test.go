package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/crossplane/function-sdk-go/logging"
	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
)

// The tests here run the function as Crossplane meets it: main.go's CLI
// serving gRPC with mTLS, on certificates made for the test. The server
// listens on a Unix socket in the test's directory, so no port can be taken
// from under it; TLS works the same over it. function.Serve cannot be
// stopped, so each server outlives its test, on a socket file that is gone.

// ca is a certificate authority made for a test.
type ca struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newCA(t *testing.T, name string) *ca {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &ca{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue returns a certificate and key signed by the CA, as PEM, for a
// server named localhost or for a client.
func (c *ca) issue(t *testing.T, name string, usage x509.ExtKeyUsage) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
		DNSNames:     []string{name},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, &key.PublicKey, c.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
}

func (c *ca) clientCert(t *testing.T) tls.Certificate {
	t.Helper()
	crt, key := c.issue(t, "crossplane", x509.ExtKeyUsageClientAuth)
	pair, err := tls.X509KeyPair(crt, key)
	if err != nil {
		t.Fatal(err)
	}
	return pair
}

// server is a running function and the CA its clients must come from.
type server struct {
	target string
	ca     *ca
	// down is closed if the server stops, failing every waiting call.
	down <-chan struct{}
	err  func() error
}

// startServer writes tls.crt, tls.key and ca.crt as Crossplane mounts them
// and runs the function's CLI on them, with main.go's defaults.
func startServer(t *testing.T) *server {
	t.Helper()
	dir := t.TempDir()
	authority := newCA(t, "crossplane-root-ca")
	crt, key := authority.issue(t, "localhost", x509.ExtKeyUsageServerAuth)
	for name, b := range map[string][]byte{"tls.crt": crt, "tls.key": key, "ca.crt": authority.pem} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	sock := filepath.Join(dir, "fn.sock")
	cli := &CLI{Network: "unix", Address: sock, TLSCertsDir: dir, MaxRecvMessageSize: 4}
	down := make(chan struct{})
	var mu sync.Mutex
	var runErr error
	go func() {
		err := cli.Run()
		mu.Lock()
		runErr = err
		mu.Unlock()
		close(down)
	}()
	return &server{target: "unix://" + sock, ca: authority, down: down, err: func() error {
		mu.Lock()
		defer mu.Unlock()
		return runErr
	}}
}

// call sends one request with the given transport credentials. A trusted
// client waits for the server to listen; any other fails on its first
// refused connection. It may run on any goroutine.
func (s *server) call(creds credentials.TransportCredentials, req *fnv1.RunFunctionRequest, wait bool) (*fnv1.RunFunctionResponse, error) {
	conn, err := grpc.NewClient(s.target, grpc.WithTransportCredentials(creds))
	if err != nil {
		return nil, err
	}
	defer func() { _ = conn.Close() }()
	// The deadline only keeps a broken server from hanging the test run;
	// nothing here depends on how fast the function answers.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	go func() {
		select {
		case <-s.down:
			cancel()
		case <-ctx.Done():
		}
	}()
	rsp, err := fnv1.NewFunctionRunnerServiceClient(conn).RunFunction(ctx, req, grpc.WaitForReady(wait))
	select {
	case <-s.down:
		return nil, fmt.Errorf("the function stopped serving: %w", s.err())
	default:
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return nil, fmt.Errorf("no answer in 2 minutes; is the server listening with TLS? %w", err)
	}
	return rsp, err
}

// mtls are the credentials of a client with a certificate from c that
// trusts the server's CA.
func (s *server) mtls(t *testing.T, c *ca) credentials.TransportCredentials {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AddCert(s.ca.cert)
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: "localhost", RootCAs: pool}
	if c != nil {
		cfg.Certificates = []tls.Certificate{c.clientCert(t)}
	}
	return credentials.NewTLS(cfg)
}

func TestGRPCMutualTLS(t *testing.T) {
	s := startServer(t)
	r := req(t, exampleSpec, observedKey+observedAlias, "")
	want, err := (&Function{log: logging.NewNopLogger()}).RunFunction(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}

	// The trusted client first: once it succeeds the server is listening,
	// so a refusal below is the server's answer, not a socket not there yet.
	got, err := s.call(s.mtls(t, s.ca), r, true)
	if err != nil {
		t.Fatalf("a client with a certificate from the server's CA: want an answer, got %v", err)
	}
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("the answer over mTLS differs from RunFunction's (-want, +got):\n%s", diff)
	}

	cases := map[string]struct {
		reason string
		creds  credentials.TransportCredentials
	}{
		"Plaintext": {
			reason: "A client without TLS is refused: the server speaks only TLS.",
			creds:  insecure.NewCredentials(),
		},
		"NoClientCertificate": {
			reason: "A TLS client without a certificate is refused: the server requires one.",
			creds:  s.mtls(t, nil),
		},
		"ForeignCA": {
			reason: "A client whose certificate another CA signed is refused.",
			creds:  s.mtls(t, newCA(t, "foreign-ca")),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			rsp, err := s.call(tc.creds, r, false)
			if status.Code(err) != codes.Unavailable {
				t.Fatalf("%s\nwant the connection refused (Unavailable), got response %v, error %v", tc.reason, rsp, err)
			}
			t.Logf("refused: %v", err)
		})
	}

	if _, err := s.call(s.mtls(t, s.ca), r, false); err != nil {
		t.Errorf("after refusing the others, the server no longer answers a trusted client: %v", err)
	}
}

// TestGRPCConcurrentCallers sends four different requests from 64 callers
// at once, each on its own connection; every caller must get exactly the
// answer RunFunction gives its request. `make test` runs it with -race.
func TestGRPCConcurrentCallers(t *testing.T) {
	const callers = 64
	s := startServer(t)
	reqs := []*fnv1.RunFunctionRequest{
		req(t, exampleSpec, "", ""),
		req(t, exampleSpec, observedKey+observedAlias, ""),
		req(t, strings.Replace(exampleSpec, "eu-west-1", "us-east-1", 1), observedKey+observedAlias, ""),
		req(t, strings.Replace(exampleSpec, "vault-backend", "other", 1), "", ""),
	}
	f := &Function{log: logging.NewNopLogger()}
	wants := make([]*fnv1.RunFunctionResponse, len(reqs))
	for i, r := range reqs {
		w, err := f.RunFunction(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		wants[i] = w
	}
	creds := s.mtls(t, s.ca)

	var wg sync.WaitGroup
	got := make([]*fnv1.RunFunctionResponse, callers)
	errs := make([]error, callers)
	for i := range callers {
		wg.Go(func() {
			got[i], errs[i] = s.call(creds, reqs[i%len(reqs)], true)
		})
	}
	wg.Wait()
	for i := range callers {
		if errs[i] != nil {
			t.Errorf("caller %d: %v", i, errs[i])
			continue
		}
		if diff := cmp.Diff(wants[i%len(reqs)], got[i], protocmp.Transform()); diff != "" {
			t.Errorf("caller %d got another answer than RunFunction gives its request (-want, +got):\n%s", i, diff)
		}
	}
}

// TestGRPCReceiveLimit sends a hostile request just under the server's
// receive limit, which the function refuses with a Fatal result, and one
// just over it, which gRPC refuses before the function sees it.
func TestGRPCReceiveLimit(t *testing.T) {
	s := startServer(t)
	creds := s.mtls(t, s.ca)
	under := hostileRequests(t)["NearRecvLimitDescription"].req

	rsp, err := s.call(creds, under, true)
	if err != nil {
		t.Fatalf("a request just under the limit: want an answer, got %v", err)
	}
	if !hasFatal(rsp) || !strings.Contains(rsp.GetResults()[len(rsp.GetResults())-1].GetMessage(), "spec.description: Too long") {
		t.Errorf("a request just under the limit: want a Fatal result about spec.description, got %v", rsp.GetResults())
	}

	over := hostileRequest(t, map[string]any{"aliasName": "app", "description": strings.Repeat("x", recvLimit)})
	if _, err := s.call(creds, over, true); status.Code(err) != codes.ResourceExhausted {
		t.Errorf("a request over the limit: want ResourceExhausted from gRPC, got %v", err)
	}
}
