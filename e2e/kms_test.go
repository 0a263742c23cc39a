//go:build e2e_provider

package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// An address where nothing listens: a provider config pointing there sees
// its connections refused.
const refusedAddr = "127.0.0.1:18099"

// The region and account of every lane's emulator.
const (
	emulatorRegion = "eu-west-1"
	// The account provider-aws assumes when it is told to skip asking STS:
	// the emulators use it too, so that the ARNs of both agree.
	emulatorAccount = "000000000000"
)

// recorder is a reverse proxy in front of an emulator that records the
// KMS operation of every call through it (the X-Amz-Target header,
// e.g. TrentService.PutKeyPolicy), in order, and the region it was signed
// for.
type recorder struct {
	srv  *http.Server
	addr string // where it listens

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
	r := &recorder{addr: l.Addr().String()}
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
