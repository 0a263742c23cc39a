//go:build e2e_provider

package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// Where the KMS emulator and the recording proxy in front of it listen, and
// an address where nothing does: a provider config pointing there sees its
// connections refused.
const (
	emulatorAddr = "127.0.0.1:18080"
	proxyAddr    = "127.0.0.1:18081"
	refusedAddr  = "127.0.0.1:18099"
	// moto, the second emulator, for what local-kms cannot do (replicate a
	// key), and the recording proxy in front of it.
	motoAddr       = "127.0.0.1:18084"
	motoProxyAddr  = "127.0.0.1:18085"
	emulatorRegion = "eu-west-1"
	// The account provider-aws assumes when it is told to skip asking STS:
	// the emulator uses it too, so that the ARNs of both agree.
	emulatorAccount = "000000000000"
)

// startEmulator starts local-kms, with its data in the state directory.
func (c *controlPlane) startEmulator(ctx context.Context) error {
	if err := c.run("local-kms", []string{
		"PORT=" + strings.TrimPrefix(emulatorAddr, "127.0.0.1:"),
		"KMS_REGION=" + emulatorRegion, "KMS_ACCOUNT_ID=" + emulatorAccount,
		"KMS_DATA_PATH=" + filepath.Join(c.dir, "kms"),
	}, "local-kms"); err != nil {
		return err
	}
	return c.waitFor(ctx, time.Minute, "local-kms listening on "+emulatorAddr, func() error {
		conn, err := net.DialTimeout("tcp", emulatorAddr, time.Second)
		if err != nil {
			return err
		}
		return conn.Close()
	})
}

// startMoto starts moto's server, the emulator that replicates keys, on
// loopback: python3 runs it from hack/e2e/moto/server.py, which fixes
// moto's multi-Region keys (see there); run.sh checks that moto is
// installed.
func (c *controlPlane) startMoto(ctx context.Context) error {
	python, err := exec.LookPath("python3")
	if err != nil {
		return err
	}
	host, port, _ := net.SplitHostPort(motoAddr)
	p, err := start(c.dir, "moto", nil, python, filepath.Join("..", "hack", "e2e", "moto", "server.py"), "-H", host, "-p", port)
	if err != nil {
		return err
	}
	c.procs = append(c.procs, p)
	return c.waitFor(ctx, time.Minute, "moto listening on "+motoAddr, func() error {
		conn, err := net.DialTimeout("tcp", motoAddr, time.Second)
		if err != nil {
			return err
		}
		return conn.Close()
	})
}

// newMoto returns an AWS SDK KMS client of moto in a region, for the
// scenarios' own reads: it talks to moto directly, so that motoRec sees
// only the provider's calls. moto keeps keys and aliases by the region of
// the request's signature.
func newMoto(region string) *kms.Client {
	return kms.New(kms.Options{
		Region:       region,
		BaseEndpoint: aws.String("http://" + motoAddr),
		Credentials:  credentials.NewStaticCredentialsProvider("fake", "fake", ""),
	})
}

// newKMS returns an AWS SDK KMS client of the emulator, for the scenarios'
// own reads: it talks to the emulator directly, so the recorder sees only the
// provider's calls.
func newKMS() *kms.Client {
	return kms.New(kms.Options{
		Region:       emulatorRegion,
		BaseEndpoint: aws.String("http://" + emulatorAddr),
		Credentials:  credentials.NewStaticCredentialsProvider("fake", "fake", ""),
	})
}

// recorder is a reverse proxy in front of an emulator that records the
// KMS operation of every call through it (the X-Amz-Target header,
// e.g. TrentService.PutKeyPolicy), in order, and the region it was signed
// for.
type recorder struct {
	srv *http.Server

	mu      sync.Mutex
	calls   []string
	regions []string
}

// startRecorder serves a recording proxy of the emulator at target on
// listen.
func startRecorder(target, listen string) (*recorder, error) {
	to, err := url.Parse("http://" + target)
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, err
	}
	r := &recorder{}
	proxy := httputil.NewSingleHostReverseProxy(to)
	r.srv = &http.Server{
		ReadHeaderTimeout: 10 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			op := req.Header.Get("X-Amz-Target")
			r.mu.Lock()
			r.calls = append(r.calls, op[strings.LastIndexByte(op, '.')+1:])
			r.regions = append(r.regions, signedRegion(req.Header.Get("Authorization")))
			r.mu.Unlock()
			proxy.ServeHTTP(w, req)
		}),
	}
	go func() { _ = r.srv.Serve(l) }()
	return r, nil
}

func (r *recorder) stop() { _ = r.srv.Close() }

// mark returns a position in the record, for since.
func (r *recorder) mark() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.calls)
}

// since returns the operations called after the mark.
func (r *recorder) since(mark int) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls[mark:])
}

// sinceIn returns the operations called after the mark, each as its region
// and its name, e.g. "us-east-1 PutKeyPolicy".
func (r *recorder) sinceIn(mark int) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	l := make([]string, 0, len(r.calls)-mark)
	for i := mark; i < len(r.calls); i++ {
		l = append(l, r.regions[i]+" "+r.calls[i])
	}
	return l
}

// signedRegion returns the region of a SigV4 Authorization header's
// credential scope (Credential=AKID/date/region/service/aws4_request).
func signedRegion(auth string) string {
	_, cred, ok := strings.Cut(auth, "Credential=")
	if !ok {
		return "?"
	}
	cred, _, _ = strings.Cut(cred, ",")
	if parts := strings.Split(cred, "/"); len(parts) == 5 {
		return parts[2]
	}
	return "?"
}

// writes returns the operations that change something in KMS: every
// operation but the reads (Describe*, Get*, List*).
func writes(ops []string) []string {
	var w []string
	for _, op := range ops {
		if !strings.HasPrefix(op, "Describe") && !strings.HasPrefix(op, "Get") && !strings.HasPrefix(op, "List") {
			w = append(w, op)
		}
	}
	return w
}

// count returns how many times op was called.
func count(ops []string, op string) int {
	n := 0
	for _, o := range ops {
		if o == op {
			n++
		}
	}
	return n
}

// emulatorKeys returns the ids of every key in the emulator.
func emulatorKeys(ctx context.Context, k *kms.Client) (map[string]bool, error) {
	ids := map[string]bool{}
	p := kms.NewListKeysPaginator(k, &kms.ListKeysInput{})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, e := range out.Keys {
			ids[aws.ToString(e.KeyId)] = true
		}
	}
	return ids, nil
}

// emulatorAlias returns the emulator's alias of that name (alias/...), or
// nil if it has none.
func emulatorAlias(ctx context.Context, k *kms.Client, name string) (*aliasEntry, error) {
	p := kms.NewListAliasesPaginator(k, &kms.ListAliasesInput{})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, a := range out.Aliases {
			if aws.ToString(a.AliasName) == name {
				return &aliasEntry{ARN: aws.ToString(a.AliasArn), TargetKeyID: aws.ToString(a.TargetKeyId)}, nil
			}
		}
	}
	return nil, nil
}

// aliasEntry is an alias as the emulator lists it.
type aliasEntry struct {
	ARN         string
	TargetKeyID string
}

func (a *aliasEntry) String() string {
	if a == nil {
		return "none"
	}
	return fmt.Sprintf("%s -> key %s", a.ARN, a.TargetKeyID)
}
