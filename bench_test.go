//go:build linux

package main

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	"sigs.k8s.io/yaml"

	"github.com/crossplane/function-sdk-go/logging"
	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"

	"github.com/example/function-kms-backend/internal/noop"
)

// The benchmarks of `make bench`. Each kms figure has a no-op figure beside
// it, measured in the same run: the no-op function (internal/noop) echoes
// the request through the same SDK, so `benchstat -col /fn` prints the
// ratio kms/no-op. The gRPC benchmarks are Linux-only: they read the
// server's CPU time and peak memory from /proc.

// benchClaims are the requests of the benchmarks, as Crossplane sends them
// for one reconcile of an XR.
var benchClaims = []struct {
	name  string
	build func(testing.TB) *fnv1.RunFunctionRequest
}{
	{"typical", func(tb testing.TB) *fnv1.RunFunctionRequest { return benchRequest(tb, benchSpec(2, 3)) }},
	{"large", func(tb testing.TB) *fnv1.RunFunctionRequest { return benchRequest(tb, benchSpec(50, 200)) }},
	{"invalid", func(tb testing.TB) *fnv1.RunFunctionRequest { return benchRequest(tb, invalidSpec) }},
	{"observed", observedRequest},
}

// invalidSpec has a mistake in almost every field.
const invalidSpec = `
    aliasName: aws/reserved
    deletionWindowInDays: 3
    enableKeyRotation: false
    rotationPeriodInDays: 365
    region: europe
    adminUsers: [arn:aws:iam::123456789012:group/admins, "arn:aws:iam::123456789012:role/*"]
    standardUsers: []
    tags: {"aws:owner": me}
    deletionPolicy: Keep`

// benchSpec returns a valid spec with the given numbers of admin and
// standard user ARNs, all distinct.
func benchSpec(admins, users int) string {
	return specWith(arns("platform/admin", admins), arns("apps/app", users))
}

// arns returns n distinct role ARNs.
func arns(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("arn:aws:iam::123456789012:role/%s-%04d", prefix, i)
	}
	return out
}

// specWith returns a valid spec with these ARNs.
func specWith(admins, users []string) string {
	return `
    aliasName: vault-backend
    description: KMS key for Vault backend encryption
    deletionWindowInDays: 30
    enableKeyRotation: true
    region: eu-west-1
    tags: {team: payments, cost-center: "42"}
    adminUsers: [` + strings.Join(admins, ", ") + `]
    standardUsers: [` + strings.Join(users, ", ") + `]`
}

// benchRequest wraps a spec in the XR Crossplane sends: with the metadata,
// references and conditions Crossplane adds to a claim's XR, and the input
// of the Composition this repository ships.
func benchRequest(tb testing.TB, spec string) *fnv1.RunFunctionRequest {
	tb.Helper()
	r := reqFromYAML(tb, `
meta: {tag: 5a1f3c0e9b7d}
observed:
  composite:
    resource:
      apiVersion: kms.example.org/v1alpha1
      kind: XKmsBackend
      metadata:
        name: vault-backend-7xk2p
        uid: 0b7f4a9e-3c1d-4e8f-9a2b-5c6d7e8f9a0b
        generation: 3
        resourceVersion: "482913"
        creationTimestamp: "2026-11-27T12:00:00Z"
        finalizers: [composite.apiextensions.crossplane.io]
        labels:
          crossplane.io/claim-name: vault-backend
          crossplane.io/claim-namespace: vault
          crossplane.io/composite: vault-backend-7xk2p
      spec:`+indent(spec+`
    claimRef: {apiVersion: kms.example.org/v1alpha1, kind: KmsBackend, name: vault-backend, namespace: vault}
    compositionRef: {name: kmsbackend}
    compositionRevisionRef: {name: kmsbackend-4f8e2a1}
    compositionUpdatePolicy: Automatic
    writeConnectionSecretToRef: {name: 0b7f4a9e-3c1d-4e8f-9a2b-5c6d7e8f9a0b, namespace: crossplane-system}`)+`
      status:
        conditions:
        - {type: Synced, status: "True", reason: ReconcileSuccess, lastTransitionTime: "2026-11-27T12:00:00Z"}
        - {type: Ready, status: "False", reason: Creating, lastTransitionTime: "2026-11-27T12:00:00Z"}
`)
	crossplaneV2(r)
	r.Input = shippedInput(tb)
	return r
}

// shippedInput returns the function input of the Composition in
// configuration/legacy.
func shippedInput(tb testing.TB) *structpb.Struct {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("configuration", "legacy", "composition.yaml"))
	if err != nil {
		tb.Fatal(err)
	}
	var c struct {
		Spec struct {
			Pipeline []struct {
				Input map[string]any `json:"input"`
			} `json:"pipeline"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(b, &c); err != nil || len(c.Spec.Pipeline) != 1 || c.Spec.Pipeline[0].Input == nil {
		tb.Fatalf("want one pipeline step with an input in the shipped Composition: %v", err)
	}
	in, err := structpb.NewStruct(c.Spec.Pipeline[0].Input)
	if err != nil {
		tb.Fatal(err)
	}
	return in
}

// observedRequest is the typical claim once the Key and Alias exist: each
// observed resource is what the function asked for, plus the metadata and
// the status the provider adds.
func observedRequest(tb testing.TB) *fnv1.RunFunctionRequest {
	tb.Helper()
	r := benchRequest(tb, benchSpec(2, 3))
	rsp, err := (&Function{log: logging.NewNopLogger()}).RunFunction(context.Background(), r)
	if err != nil {
		tb.Fatal(err)
	}
	status := map[string]string{
		keyName: `
metadata:
  name: vault-backend-7xk2p-k4j9s
  uid: 1c2d3e4f-5a6b-7c8d-9e0f-1a2b3c4d5e6f
  annotations: {crossplane.io/external-name: 1234abcd-12ab-34cd-56ef-1234567890ab, crossplane.io/composition-resource-name: key}
status:
  atProvider:
    arn: arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab
    keyId: 1234abcd-12ab-34cd-56ef-1234567890ab
    id: 1234abcd-12ab-34cd-56ef-1234567890ab
    enableKeyRotation: true
    deletionWindowInDays: 30
    isEnabled: true
    keyUsage: ENCRYPT_DECRYPT
    customerMasterKeySpec: SYMMETRIC_DEFAULT
    rotationPeriodInDays: 365
  conditions:
  - {type: Ready, status: "True", reason: Available, lastTransitionTime: "2026-11-27T12:00:00Z"}
  - {type: Synced, status: "True", reason: ReconcileSuccess, lastTransitionTime: "2026-11-27T12:00:00Z"}`,
		aliasName: `
metadata:
  name: vault-backend-7xk2p-8h2lq
  uid: 2d3e4f5a-6b7c-8d9e-0f1a-2b3c4d5e6f7a
  annotations: {crossplane.io/external-name: vault-backend, crossplane.io/composition-resource-name: alias}
status:
  atProvider:
    arn: arn:aws:kms:eu-west-1:123456789012:alias/vault-backend
    id: alias/vault-backend
    targetKeyArn: arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab
    targetKeyId: 1234abcd-12ab-34cd-56ef-1234567890ab
  conditions:
  - {type: Ready, status: "True", reason: Available, lastTransitionTime: "2026-11-27T12:00:00Z"}
  - {type: Synced, status: "True", reason: ReconcileSuccess, lastTransitionTime: "2026-11-27T12:00:00Z"}`,
	}
	r.Observed.Resources = map[string]*fnv1.Resource{}
	for name, d := range rsp.GetDesired().GetResources() {
		o := d.GetResource().AsMap()
		var extra map[string]any
		if err := yaml.Unmarshal([]byte(status[name]), &extra); err != nil {
			tb.Fatal(err)
		}
		meta, _ := o["metadata"].(map[string]any)
		if meta == nil {
			meta = map[string]any{}
		}
		maps.Copy(meta, extra["metadata"].(map[string]any))
		o["metadata"], o["status"] = meta, extra["status"]
		s, err := structpb.NewStruct(o)
		if err != nil {
			tb.Fatal(err)
		}
		r.Observed.Resources[name] = &fnv1.Resource{Resource: s}
	}
	return r
}

// BenchmarkRunFunction calls RunFunction in-process: the function's own
// cost, without gRPC.
func BenchmarkRunFunction(b *testing.B) {
	fns := []struct {
		name string
		fn   fnv1.FunctionRunnerServiceServer
	}{
		{"noop", noop.Function{}},
		{"kms", &Function{log: logging.NewNopLogger()}},
	}
	for _, c := range benchClaims {
		r := c.build(b)
		for _, f := range fns {
			b.Run("claim="+c.name+"/fn="+f.name, func(b *testing.B) {
				b.ReportAllocs()
				cpu := processCPU(b)
				for b.Loop() {
					if _, err := f.fn.RunFunction(context.Background(), r); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(processCPU(b)-cpu)/float64(b.N), "cpu-ns/op")
			})
		}
	}
}

// processCPU returns the user and system CPU time this process has used, in
// nanoseconds: the benchmark's own work and the garbage collector's, which
// runs on the other cores. Unlike ns/op, it does not grow when other
// processes take the CPU away.
func processCPU(b *testing.B) int64 {
	b.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkGRPC sends the same requests to the function served by the
// SDK's real server stack on loopback, as Crossplane calls it, and to the
// no-op function served the same way. A third server, fn=fixed, answers
// every request with the response the function gives to that request,
// computed once before the measurement: what sending that answer costs,
// apart from computing it. Each server is its own process,
// started afresh for each measurement, so that its CPU time and peak
// memory are its own: server-cpu-ns/op is the server process's user and
// system CPU per request, peak-rss-B its peak resident memory (VmHWM)
// from start to the end of the load, binary pages included, and
// peak-anon-B the most anonymous memory (heap, stacks) it held, sampled
// every millisecond during the load. Both run without mTLS and without the
// metrics server, identically.
//
// mode=serial sends one request at a time (ns/op is the latency);
// mode=parallel keeps 10 requests in flight on one connection, like
// Crossplane's default of 10 concurrent reconciles (ns/op is the inverse of
// throughput, peak-rss-B the memory under sustained load).
func BenchmarkGRPC(b *testing.B) {
	dir := b.TempDir()
	noopBin, kmsBin := filepath.Join(dir, "noopfn"), filepath.Join(dir, "function")
	for bin, pkg := range map[string]string{noopBin: "./hack/noopfn", kmsBin: "."} {
		if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
			b.Fatalf("cannot build %s: %v\n%s", pkg, err, out)
		}
	}
	for _, c := range benchClaims {
		r := c.build(b)
		fixed := filepath.Join(dir, c.name+".json")
		want := writeResponse(b, fixed, r)
		servers := []struct {
			name string
			cmd  []string
		}{
			// The no-op function ignores --insecure and --metrics-address:
			// it serves that way anyway.
			{"noop", []string{noopBin}},
			{"fixed", []string{noopBin, "--response=" + fixed}},
			{"kms", []string{kmsBin, "--insecure", "--metrics-address="}},
		}
		for _, mode := range []string{"serial", "parallel"} {
			for _, s := range servers {
				b.Run("claim="+c.name+"/mode="+mode+"/fn="+s.name, func(b *testing.B) {
					srv := startBenchServer(b, s.cmd[0], s.cmd[1:]...)
					ctx := context.Background()
					for range 20 {
						got, err := srv.client.RunFunction(ctx, r)
						if err != nil {
							b.Fatal(err)
						}
						if s.name != "noop" && !proto.Equal(got, want) {
							b.Fatalf("fn=%s does not give the function's response to the request", s.name)
						}
					}
					cpu := srv.cpu(b)
					peakAnon := srv.sampleAnon()
					b.ResetTimer()
					if mode == "serial" {
						for range b.N {
							if _, err := srv.client.RunFunction(ctx, r); err != nil {
								b.Fatal(err)
							}
						}
					} else {
						b.SetParallelism(10 / runtime.GOMAXPROCS(0))
						b.RunParallel(func(pb *testing.PB) {
							for pb.Next() {
								if _, err := srv.client.RunFunction(ctx, r); err != nil {
									b.Error(err)
									return
								}
							}
						})
					}
					b.StopTimer()
					b.ReportMetric(float64(srv.cpu(b)-cpu)/float64(b.N), "server-cpu-ns/op")
					b.ReportMetric(float64(peakAnon()), "peak-anon-B")
					rss, err := srv.memory("VmHWM")
					if err != nil {
						b.Fatal(err)
					}
					b.ReportMetric(float64(rss), "peak-rss-B")
				})
			}
		}
	}
}

// benchServer is a function process serving gRPC on loopback, and a client.
type benchServer struct {
	pid    int
	client fnv1.FunctionRunnerServiceClient
}

// writeResponse writes the function's response to a request, as JSON, for
// the fixed server, and returns it.
func writeResponse(b *testing.B, path string, r *fnv1.RunFunctionRequest) *fnv1.RunFunctionResponse {
	b.Helper()
	rsp, err := (&Function{log: logging.NewNopLogger()}).RunFunction(context.Background(), r)
	if err != nil {
		b.Fatal(err)
	}
	j, err := protojson.Marshal(rsp)
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(path, j, 0o600); err != nil {
		b.Fatal(err)
	}
	return rsp
}

// startBenchServer starts a function binary with these arguments on a free
// loopback port, stopped when the benchmark ends, and waits until it
// answers.
func startBenchServer(b *testing.B, bin string, args ...string) *benchServer {
	b.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	// The server's log goes to a file, shown if the benchmark fails: on
	// the benchmark's output it would break the lines benchstat reads.
	logPath := filepath.Join(b.TempDir(), "server.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(bin, append(args, "--address="+addr)...)
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = logFile.Close()
		if b.Failed() {
			if log, err := os.ReadFile(logPath); err == nil {
				b.Logf("server log:\n%s", log)
			}
		}
	})
	conn, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = conn.Close() })
	client := fnv1.NewFunctionRunnerServiceClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := client.RunFunction(ctx, &fnv1.RunFunctionRequest{}, grpc.WaitForReady(true)); err != nil {
		b.Fatalf("%s does not answer on %s: %v", bin, addr, err)
	}
	return &benchServer{pid: cmd.Process.Pid, client: client}
}

// cpu returns the user and system CPU time the server has used, in
// nanoseconds. /proc counts it in ticks of 10ms (USER_HZ is 100 on Linux),
// which is why each measurement runs for a second or more.
func (s *benchServer) cpu(b *testing.B) int64 {
	b.Helper()
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.pid))
	if err != nil {
		b.Fatal(err)
	}
	// The fields after the command name, which is in parentheses: utime and
	// stime are the 12th and 13th.
	f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+2:]))
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		b.Fatalf("cannot parse /proc/%d/stat: %s", s.pid, stat)
	}
	return (utime + stime) * int64(10*time.Millisecond)
}

// memory returns a memory figure of /proc/PID/status in bytes: VmHWM is
// the peak resident memory, RssAnon the anonymous memory resident now.
func (s *benchServer) memory(name string) (int64, error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.pid))
	if err != nil {
		return 0, err
	}
	_, v, ok := strings.Cut(string(status), "\n"+name+":")
	v, _, _ = strings.Cut(v, " kB\n")
	kb, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if !ok || err != nil {
		return 0, fmt.Errorf("no %s in /proc/%d/status", name, s.pid)
	}
	return kb * 1024, nil
}

// sampleAnon samples the server's anonymous memory every millisecond until
// the returned function is called, which returns the most it saw. Linux
// keeps a peak of all resident memory (VmHWM), not of anonymous memory
// alone, hence the sampling.
func (s *benchServer) sampleAnon() func() int64 {
	var peak int64
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			if m, err := s.memory("RssAnon"); err == nil {
				peak = max(peak, m)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	return func() int64 {
		close(stop)
		<-done
		return peak
	}
}

// BenchmarkPrincipals shows that cost grows linearly with the number of
// principals: N distinct ARNs, each both an admin and a standard user.
// ns/principal and allocs/principal stay flat once the fixed cost is spread.
//
// path=pipeline runs the steps that depend on the principals as pure
// functions, from the decoded spec to the desired Key: ParseSpec, Resolve,
// KeyPolicy, Marshal, CheckPolicySize and the conversion of the Key for the
// response, as RunFunction does them. It goes up to 1,000 principals, whose
// policy is over the KMS limit: RunFunction refuses that claim, but the work
// is done all the same.
// path=RunFunction is the whole function in-process, up to 100 principals,
// the most whose policy is valid.
func BenchmarkPrincipals(b *testing.B) {
	s, _ := ParseInput(nil)
	for _, n := range []int{1, 10, 100, 1000} {
		principals := arns("apps/app", n)
		r := benchRequest(b, specWith(principals, principals))
		spec := r.GetObserved().GetComposite().GetResource().GetFields()["spec"].GetStructValue().GetFields()
		b.Run(fmt.Sprintf("path=pipeline/principals=%d", n), func(b *testing.B) {
			perPrincipal(b, n, func() {
				raw, _ := ParseSpec(spec)
				c, _, _ := Resolve(raw, s)
				policy, err := KeyPolicy(c).Marshal()
				if err != nil {
					b.Fatal(err)
				}
				_ = CheckPolicySize(policy)
				_ = withReadiness(DesiredKey(c, policy, adoptionNone, Scope{}), false)
			})
		})
		if n > 100 {
			continue
		}
		f := &Function{log: logging.NewNopLogger()}
		b.Run(fmt.Sprintf("path=RunFunction/principals=%d", n), func(b *testing.B) {
			perPrincipal(b, n, func() {
				rsp, err := f.RunFunction(context.Background(), r)
				if err != nil || len(rsp.GetDesired().GetResources()) != 2 {
					b.Fatalf("want a Key and an Alias, got %v, %v", rsp, err)
				}
			})
		})
	}
}

// perPrincipal runs fn b.N times and reports its time, CPU time and
// allocations per principal.
func perPrincipal(b *testing.B, n int, fn func()) {
	b.Helper()
	b.ReportAllocs()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	cpu := processCPU(b)
	start := time.Now()
	for b.Loop() {
		fn()
	}
	elapsed := time.Since(start)
	cpu = processCPU(b) - cpu
	runtime.ReadMemStats(&after)
	ops := float64(b.N) * float64(n)
	b.ReportMetric(float64(elapsed.Nanoseconds())/ops, "ns/principal")
	b.ReportMetric(float64(cpu)/ops, "cpu-ns/principal")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/ops, "allocs/principal")
}
