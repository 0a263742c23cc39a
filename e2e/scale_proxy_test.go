//go:build e2e && scale

package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"os"
	"path/filepath"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"

	"github.com/example/function-kms-backend/internal/noop"
)

// functionProxy stands where Crossplane calls the function, and passes each
// call on to the server behind it, over mTLS both ways as Crossplane's own
// calls are. While it records, it keeps, for each claim, the last response
// to a call that carried Crossplane's answer to the function's requirements
// and the last to one that did not: what the floor replays.
type functionProxy struct {
	fnv1.UnimplementedFunctionRunnerServiceServer

	srv     *grpc.Server
	conn    *grpc.ClientConn
	backend fnv1.FunctionRunnerServiceClient

	mu        sync.Mutex
	recording bool
	recorded  map[string]noop.Recorded
}

// startFunctionProxy serves on addr with the function's certificate and
// calls the server at backend with Crossplane's client certificate.
func startFunctionProxy(dir, addr, backend string) (*functionProxy, error) {
	server, err := tlsConfig(filepath.Join(dir, "tls", "function"))
	if err != nil {
		return nil, err
	}
	server.ClientAuth = tls.RequireAndVerifyClientCert
	server.ClientCAs = server.RootCAs
	client, err := tlsConfig(filepath.Join(dir, "tls", "crossplane-client"))
	if err != nil {
		return nil, err
	}
	conn, err := grpc.NewClient("passthrough:///"+backend, grpc.WithTransportCredentials(credentials.NewTLS(client)),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(4*1024*1024)))
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		_ = conn.Close()
		return nil, err
	}
	p := &functionProxy{
		srv:      grpc.NewServer(grpc.Creds(credentials.NewTLS(server)), grpc.MaxRecvMsgSize(4*1024*1024)),
		conn:     conn,
		backend:  fnv1.NewFunctionRunnerServiceClient(conn),
		recorded: map[string]noop.Recorded{},
	}
	fnv1.RegisterFunctionRunnerServiceServer(p.srv, p)
	go func() { _ = p.srv.Serve(l) }()
	return p, nil
}

// tlsConfig reads tls.crt, tls.key and ca.crt from dir: a certificate to
// present, and the CA to verify the other side with.
func tlsConfig(dir string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key"))
	if err != nil {
		return nil, err
	}
	ca, err := os.ReadFile(filepath.Join(dir, keyCACert))
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		return nil, errors.New("no CA certificate in " + dir)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

// RunFunction passes the call on, and records its response while recording.
func (p *functionProxy) RunFunction(ctx context.Context, req *fnv1.RunFunctionRequest) (*fnv1.RunFunctionResponse, error) {
	rsp, err := p.backend.RunFunction(ctx, req)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.recording {
		k := noop.ClaimKey(req)
		r := p.recorded[k]
		if noop.Answered(req) {
			r.Answered = rsp
		} else {
			r.Asking = rsp
		}
		p.recorded[k] = r
	}
	return rsp, nil
}

// record starts or stops recording.
func (p *functionProxy) record(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.recording = on
}

// save writes what was recorded to path, for noopfn --responses.
func (p *functionProxy) save(path string) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.recorded), noop.WriteRecording(path, p.recorded)
}

func (p *functionProxy) stop() {
	p.srv.Stop()
	_ = p.conn.Close()
}
