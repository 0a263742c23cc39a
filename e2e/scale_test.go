//go:build e2e && scale

package e2e

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

var (
	scaleN       = flag.Int("scale-n", 1000, "how many claims make scale creates")
	scalePerNS   = flag.Int("scale-per-namespace", 50, "how many claims go in each namespace")
	scaleSteady  = flag.Duration("scale-steady", 10*time.Minute, "how long the steady state is measured")
	scaleFloor   = flag.Bool("scale-floor", true, "measure the floor as well: the same phases with the function replaced by noopfn replaying its recorded answers")
	scaleOut     = flag.String("scale-out", "../_output/scale", "directory the report is written to")
	scaleTimeout = flag.Duration("scale-timeout", 30*time.Minute, "how long a phase may take before the run fails")
	scaleSettle  = flag.Duration("scale-settle", 15*time.Second, "how long every claim must stay done, and the claims and XRs unchanged, before a phase ends")
	scaleBinary  = flag.String("scale-function", "function", "the function's binary, in the bin directory: another build, such as an earlier commit's, for a before and after")
)

// The function, or the floor, serves here, behind the proxy that stands at
// functionAddr, where Crossplane calls.
const backendAddr = "127.0.0.1:9444"

// editedUser is the standard user the edit phase adds to every claim.
const editedUser = "arn:aws:iam::" + account + ":role/scale-reader"

// TestScale measures what N claims cost one control plane: the make e2e
// control plane, its simulated provider listing from a cache as a real
// provider's informers do, and Crossplane polling at its default interval.
// It runs four phases: create every claim and wait until each is
// KeyAvailable with its Key and Alias Ready; hold the steady state; add a
// user to every claim and wait until each Key's policy in AWS has it;
// delete every claim and wait until it and what was composed for it are
// gone. Then, with the same claims, the floor: the same phases with the
// function replaced by noopfn answering each claim with the function's last
// answers to it, recorded during the first run. It writes a report of each
// phase of each run to -scale-out.
func TestScale(t *testing.T) {
	ctx := t.Context()
	w, err := startWatching(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The provider lists from the cache, once a second, as a real one
	// works from its informers: its lists cost the API server nothing. It
	// writes as fast as provider-aws v2.5.0 may by default (500 requests a
	// second, crossplane-runtime's limit for its 100 reconciles a second).
	providerKube, err := newClient(500, 1000)
	if err != nil {
		t.Fatal(err)
	}
	sim.stop()
	sim = startSimulatedFrom(providerKube, w.cache, time.Second)
	t.Cleanup(sim.stop)
	// The app teams' requests are not throttled by the client: the API
	// server takes them as fast as it can.
	if kube, err = newClient(-1, 0); err != nil {
		t.Fatal(err)
	}

	// Crossplane calls the proxy; the function serves behind it.
	cp.fn.stop()
	proxy, err := startFunctionProxy(cp.dir, functionAddr, backendAddr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.stop)

	mem := startMemorySampler(ctx)
	claims := scaleClaims(*scaleN, *scalePerNS)
	for _, ns := range namespacesOf(claims) {
		if err := kube.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(*scaleOut, 0o755); err != nil {
		t.Fatal(err)
	}
	recording := filepath.Join(*scaleOut, fmt.Sprintf("responses-%d.json", *scaleN))
	runs := []scaleRun{{name: "kms", edits: true, start: func() error {
		proxy.record(true)
		return startBackend(*scaleBinary, "--address="+backendAddr, "--metrics-address=127.0.0.1:8090",
			"--tls-certs-dir="+filepath.Join(cp.dir, "tls", "function"))
	}}}
	if *scaleFloor {
		runs = append(runs, scaleRun{name: "floor", start: func() error {
			proxy.record(false)
			n, err := proxy.save(recording)
			if err != nil {
				return err
			}
			t.Logf("recorded the function's answers for %d claims in %s", n, recording)
			cp.fn.stop()
			return startBackend("noopfn", "--address="+backendAddr, "--metrics-address=127.0.0.1:8090",
				"--tls-certs-dir="+filepath.Join(cp.dir, "tls", "function"), "--responses="+recording)
		}})
	}
	var results []runResult
	for _, r := range runs {
		if err := r.start(); err != nil {
			t.Fatalf("%s: %v", r.name, err)
		}
		mem.track(trackedProcesses())
		// The report is written after every phase, so that a run cut short
		// keeps what it measured.
		done := results
		res, err := r.measure(ctx, t, w, mem, claims, func(cur runResult) { writeScaleReport(t, append(slices.Clone(done), cur), false) })
		results = append(results, res)
		if err != nil {
			writeScaleReport(t, results, true)
			t.Fatalf("%s: %v", r.name, err)
		}
	}
	writeScaleReport(t, results, true)
}

// writeCount returns how many writes the provider has made to the API
// server.
func (p *provider) writeCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.writes
}

// kube is the client make scale acts for the app teams with.
var kube client.Client

// newClient returns a client of the control plane that sends at most qps
// requests a second, in bursts of burst; a negative qps does not limit it.
func newClient(qps float32, burst int) (client.Client, error) {
	cfg := rest.CopyConfig(cp.cfg)
	cfg.QPS, cfg.Burst = qps, burst
	return client.New(cfg, client.Options{Scheme: cp.kube.Scheme()})
}

// startBackend starts a binary of the bin directory as the server behind
// the proxy, and waits until it listens.
func startBackend(bin string, args ...string) error {
	p, err := start(cp.dir, bin, nil, filepath.Join(*binDir, bin), args...)
	if err != nil {
		return err
	}
	cp.fn = p
	return waitFor(context.Background(), time.Minute, bin+" listening on "+backendAddr, func() error {
		if err := p.running(); err != nil {
			return exited{err}
		}
		c, err := net.DialTimeout("tcp", backendAddr, time.Second)
		if err != nil {
			return err
		}
		return c.Close()
	})
}

// trackedProcesses are the processes whose CPU and memory make scale
// reports, by name: the control plane's and the function's (or the
// floor's), which is always named function.
func trackedProcesses() map[string]int {
	pids := map[string]int{"function": cp.fn.cmd.Process.Pid, "test (provider, proxy, watches)": os.Getpid()}
	for _, p := range cp.procs {
		pids[p.name] = p.cmd.Process.Pid
	}
	return pids
}

// scaleClaim is one claim of the run, in its namespace.
type scaleClaim struct {
	ns, name, alias string
}

func (c scaleClaim) key() string { return c.ns + "/" + c.name }

func scaleClaims(n, perNS int) []scaleClaim {
	out := make([]scaleClaim, n)
	for i := range out {
		out[i] = scaleClaim{ns: fmt.Sprintf("scale-%03d", i/perNS), name: fmt.Sprintf("kms-%04d", i), alias: fmt.Sprintf("scale-%04d", i)}
	}
	return out
}

func namespacesOf(cs []scaleClaim) []string {
	var out []string
	for _, c := range cs {
		if !slices.Contains(out, c.ns) {
			out = append(out, c.ns)
		}
	}
	return out
}

// object is the claim as an app team would write it: the example claim's
// spec, with two admins and three users of its own, and a connection
// secret.
func (c scaleClaim) object() *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"spec": map[string]any{
			"aliasName":                  c.alias,
			"description":                "KMS key of " + c.key(),
			"deletionWindowInDays":       int64(7),
			"enableKeyRotation":          true,
			"region":                     exampleRegion,
			"adminUsers":                 []any{"arn:aws:iam::" + account + ":role/platform-admin", "arn:aws:iam::" + account + ":role/security-admin"},
			"standardUsers":              c.users(),
			"writeConnectionSecretToRef": map[string]any{"name": c.name + "-kms"},
		},
	}}
	u.SetGroupVersionKind(claimGVK)
	u.SetNamespace(c.ns)
	u.SetName(c.name)
	return u
}

func (c scaleClaim) users() []any {
	var out []any
	for _, s := range []string{"a", "b", "c"} {
		out = append(out, "arn:aws:iam::"+account+":role/"+c.name+"-"+s)
	}
	return out
}

// watching is a cache of the claims, their XRs and the Keys and Aliases
// composed for them, which the provider lists from and the phases read.
type watching struct {
	cache cache.Cache
}

func startWatching(ctx context.Context) (*watching, error) {
	c, err := cache.New(cp.cfg, cache.Options{Scheme: cp.kube.Scheme()})
	if err != nil {
		return nil, err
	}
	kinds := append([]schema.GroupVersionKind{claimGVK, xrGVK}, keyKinds...)
	kinds = append(append(kinds, aliasKinds...), replicaKinds...)
	for _, gvk := range kinds {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(gvk)
		if _, err := c.GetInformer(ctx, u); err != nil {
			return nil, fmt.Errorf("cannot watch %s: %w", gvk, err)
		}
	}
	go func() { _ = c.Start(ctx) }()
	if !c.WaitForCacheSync(ctx) {
		return nil, fmt.Errorf("the cache did not sync")
	}
	return &watching{cache: c}, nil
}

// world is what the cache holds at one moment, by claim.
type world struct {
	claims  map[string]*unstructured.Unstructured
	xrs     map[string]*unstructured.Unstructured // by the XR's name
	keys    map[string][]*unstructured.Unstructured
	aliases map[string][]*unstructured.Unstructured
}

func (w *watching) world(ctx context.Context) (world, error) {
	out := world{claims: map[string]*unstructured.Unstructured{}, xrs: map[string]*unstructured.Unstructured{},
		keys: map[string][]*unstructured.Unstructured{}, aliases: map[string][]*unstructured.Unstructured{}}
	list := func(gvk schema.GroupVersionKind) ([]unstructured.Unstructured, error) {
		l := &unstructured.UnstructuredList{}
		l.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		return l.Items, w.cache.List(ctx, l, client.UnsafeDisableDeepCopy)
	}
	byClaim := func(o *unstructured.Unstructured) string {
		l := o.GetLabels()
		return l["crossplane.io/claim-namespace"] + "/" + l["crossplane.io/claim-name"]
	}
	for _, k := range []struct {
		gvk schema.GroupVersionKind
		add func(o *unstructured.Unstructured)
	}{
		{claimGVK, func(o *unstructured.Unstructured) { out.claims[o.GetNamespace()+"/"+o.GetName()] = o }},
		{xrGVK, func(o *unstructured.Unstructured) { out.xrs[o.GetName()] = o }},
		{keyKinds[0], func(o *unstructured.Unstructured) { out.keys[byClaim(o)] = append(out.keys[byClaim(o)], o) }},
		{aliasKinds[0], func(o *unstructured.Unstructured) { out.aliases[byClaim(o)] = append(out.aliases[byClaim(o)], o) }},
	} {
		items, err := list(k.gvk)
		if err != nil {
			return world{}, err
		}
		for i := range items {
			k.add(&items[i])
		}
	}
	return out, nil
}

// versions returns the resource versions of the claims and XRs, by kind
// and name.
func (w world) versions() map[string]string {
	out := make(map[string]string, len(w.claims)+len(w.xrs))
	for k, c := range w.claims {
		out["claim "+k] = c.GetResourceVersion()
	}
	for k, xr := range w.xrs {
		out["xr "+k] = xr.GetResourceVersion()
	}
	return out
}

// available reports whether a claim is KeyAvailable and its Key and Alias
// are Ready.
func (w world) available(k string) bool {
	c := w.claims[k]
	if c == nil || len(w.keys[k]) != 1 || len(w.aliases[k]) != 1 {
		return false
	}
	st, _, _ := condition(c, "KeyAvailable")
	kr, _, _ := condition(w.keys[k][0], "Ready")
	ar, _, _ := condition(w.aliases[k][0], "Ready")
	return st == "True" && kr == "True" && ar == "True"
}

// edited reports whether a claim's edit has reached its XR, which
// Crossplane has reconciled since, and, when the key's policy follows it,
// the key's policy in AWS.
func (w world) edited(k string, policy bool) bool {
	c := w.claims[k]
	if c == nil {
		return false
	}
	ref, _, _ := unstructured.NestedString(c.Object, "spec", "resourceRef", "name")
	xr := w.xrs[ref]
	if xr == nil {
		return false
	}
	users, _, _ := unstructured.NestedStringSlice(xr.Object, "spec", "standardUsers")
	if !slices.Contains(users, editedUser) || !synced(xr) {
		return false
	}
	if !policy {
		return true
	}
	if len(w.keys[k]) != 1 {
		return false
	}
	p, _, _ := unstructured.NestedString(w.keys[k][0].Object, "status", "atProvider", "policy")
	return strings.Contains(p, editedUser)
}

// synced reports whether Crossplane has reconciled this generation of an
// object: its Synced condition is True and observed it.
func synced(o *unstructured.Unstructured) bool {
	cs, _, _ := unstructured.NestedSlice(o.Object, "status", "conditions")
	for _, c := range cs {
		m, _ := c.(map[string]any)
		if m["type"] != "Synced" {
			continue
		}
		g, _ := m["observedGeneration"].(int64)
		return m["status"] == "True" && g == o.GetGeneration()
	}
	return false
}

// gone reports whether a claim and everything composed for it are gone.
func (w world) gone(k string) bool {
	return w.claims[k] == nil && len(w.keys[k]) == 0 && len(w.aliases[k]) == 0
}

// scaleRun is one run of the phases, with the function or with the floor.
type scaleRun struct {
	name string
	// edits says whether the server's answers follow an edit: the floor
	// answers as it was recorded, so the edit reaches the XR only.
	edits bool
	start func() error
}

// counters are the cumulative figures a phase reports the growth of.
type counters struct {
	at       time.Time
	cpu      map[string]time.Duration
	requests map[string]float64
	calls    float64
	writes   int
}

func readCounters(ctx context.Context, pids map[string]int) (counters, error) {
	c := counters{at: time.Now(), cpu: map[string]time.Duration{}, writes: sim.writeCount()}
	for name, pid := range pids {
		d, err := processCPU(pid)
		if err != nil {
			return c, fmt.Errorf("%s: %w", name, err)
		}
		c.cpu[name] = d
	}
	var err error
	if c.requests, err = apiRequests(ctx, cp.cfg); err != nil {
		return c, err
	}
	c.calls, _, err = functionCalls()
	return c, err
}

// phaseResult is what one phase measured.
type phaseResult struct {
	Name string
	// Wall is from the phase's first action to its last claim done (or
	// its length, for the steady state).
	Wall time.Duration
	// PerClaim are the times from each claim's action to it being done,
	// sorted; empty for the steady state.
	PerClaim []time.Duration
	// NotDone counts claims not done when the phase ended (the steady
	// state: claims no longer available).
	NotDone  int
	CPU      map[string]time.Duration
	Requests map[string]float64
	Calls    float64
	Writes   int
	PeakRSS  map[string]uint64
	// Events are the events recorded during the phase, by the kind of
	// object, reason and message, with their counts.
	Events map[string]int32
}

type runResult struct {
	Name   string
	N      int
	Phases []phaseResult
}

// measure runs the four phases over the claims.
func (r scaleRun) measure(ctx context.Context, t *testing.T, w *watching, mem *memorySampler, claims []scaleClaim, report func(runResult)) (runResult, error) {
	res := runResult{Name: r.name, N: len(claims)}
	pids := trackedProcesses()
	phases := []struct {
		name string
		act  func(c scaleClaim) error
		done func(w world, k string) bool
	}{
		{"create", func(c scaleClaim) error { return kube.Create(ctx, c.object()) }, world.available},
		{"steady", nil, nil},
		{"edit", func(c scaleClaim) error {
			patch, err := json.Marshal(map[string]any{"spec": map[string]any{"standardUsers": append(c.users(), editedUser)}})
			if err != nil {
				return err
			}
			return kube.Patch(ctx, c.object(), client.RawPatch(types.MergePatchType, patch), fieldOwner)
		}, func(w world, k string) bool { return w.edited(k, r.edits) }},
		{"delete", func(c scaleClaim) error { return client.IgnoreNotFound(kube.Delete(ctx, c.object())) }, world.gone},
	}
	for _, ph := range phases {
		mem.reset()
		eventsBefore, err := readEvents(ctx)
		if err != nil {
			return res, err
		}
		before, err := readCounters(ctx, pids)
		if err != nil {
			return res, err
		}
		p := phaseResult{Name: ph.name}
		var phaseErr error
		if ph.act == nil {
			p.NotDone, phaseErr = holdSteady(ctx, w, claims)
		} else {
			p.PerClaim, p.NotDone, phaseErr = runPhase(ctx, w, claims, ph.act, ph.done)
		}
		after, err := readCounters(ctx, pids)
		if err != nil {
			return res, err
		}
		p.Wall = after.at.Sub(before.at)
		p.CPU = map[string]time.Duration{}
		for n, d := range after.cpu {
			p.CPU[n] = d - before.cpu[n]
		}
		p.Requests = map[string]float64{}
		for k, v := range after.requests {
			if d := v - before.requests[k]; d > 0 {
				p.Requests[k] = d
			}
		}
		p.Calls, p.Writes, p.PeakRSS = after.calls-before.calls, after.writes-before.writes, mem.reset()
		eventsAfter, err := readEvents(ctx)
		if err != nil {
			return res, err
		}
		p.Events = eventsBetween(eventsBefore, eventsAfter)
		res.Phases = append(res.Phases, p)
		report(res)
		t.Logf("%s/%s: %s, %d not done, %.0f function calls, %d provider writes", r.name, ph.name, p.Wall.Round(time.Second), p.NotDone, p.Calls, p.Writes)
		if phaseErr != nil {
			return res, fmt.Errorf("%s: %w", ph.name, phaseErr)
		}
		if ph.name == "steady" && p.Writes > 0 {
			return res, fmt.Errorf("the provider wrote %d times in the steady state: some desired field changes on every reconcile", p.Writes)
		}
	}
	return res, nil
}

// eventCount is an event's kind of object, reason and message (its first
// line, without the object's name), and how many times it occurred.
type eventCount struct {
	key string
	n   int32
}

// readEvents reads how many times each event has occurred so far.
func readEvents(ctx context.Context) (map[types.UID]eventCount, error) {
	l := &corev1.EventList{}
	if err := kube.List(ctx, l); err != nil {
		return nil, err
	}
	out := make(map[types.UID]eventCount, len(l.Items))
	for _, e := range l.Items {
		msg, _, _ := strings.Cut(e.Message, "\n")
		msg = strings.ReplaceAll(msg, e.InvolvedObject.Name, "<name>")
		if len(msg) > 120 {
			msg = msg[:120] + "..."
		}
		n := e.Count
		if e.Series != nil {
			n = e.Series.Count
		}
		out[e.UID] = eventCount{key: e.Type + " " + e.InvolvedObject.Kind + " " + e.Reason + ": " + msg, n: max(n, 1)}
	}
	return out, nil
}

// eventsBetween counts the events that occurred between two readings, by
// kind of object, reason and message: an event recorded again adds only
// its new occurrences.
func eventsBetween(before, after map[types.UID]eventCount) map[string]int32 {
	out := map[string]int32{}
	for uid, e := range after {
		if d := e.n - before[uid].n; d > 0 {
			out[e.key] += d
		}
	}
	return out
}

// runPhase acts on every claim (eight at a time, as fast as the API server
// takes them) and waits until each is done, reading the cache every
// second, and then until every claim is done in one reading and the claims
// and XRs have not changed for -scale-settle (phaseEnd). It returns each
// claim's time from its action to done (first seen), sorted.
func runPhase(ctx context.Context, w *watching, claims []scaleClaim, act func(scaleClaim) error, done func(world, string) bool) ([]time.Duration, int, error) {
	var mu sync.Mutex
	acted := map[string]time.Time{}
	work := make(chan scaleClaim)
	errs := make(chan error, 8)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for c := range work {
				at := time.Now()
				if err := act(c); err != nil {
					select {
					case errs <- fmt.Errorf("%s: %w", c.key(), err):
					default:
					}
					continue
				}
				mu.Lock()
				acted[c.key()] = at
				mu.Unlock()
			}
		})
	}
	go func() {
		defer close(work)
		for _, c := range claims {
			work <- c
		}
	}()
	finished := map[string]time.Duration{}
	end := phaseEnd{quiet: *scaleSettle}
	deadline := time.Now().Add(*scaleTimeout)
	for {
		select {
		case err := <-errs:
			wg.Wait()
			return nil, len(claims), err
		case <-ctx.Done():
			return nil, len(claims), ctx.Err()
		case <-time.After(time.Second):
		}
		now := time.Now()
		wld, err := w.world(ctx)
		if err != nil {
			return nil, len(claims), err
		}
		mu.Lock()
		for k, at := range acted {
			if _, ok := finished[k]; !ok && done(wld, k) {
				finished[k] = now.Sub(at)
			}
		}
		mu.Unlock()
		allDone := len(finished) == len(claims) && !slices.ContainsFunc(claims, func(c scaleClaim) bool { return !done(wld, c.key()) })
		if end.over(now, allDone, wld.versions()) {
			break
		}
		if now.After(deadline) {
			if len(finished) == len(claims) {
				return nil, len(claims), fmt.Errorf("every claim was done once, but after %s a claim is no longer done or the claims and XRs still change", *scaleTimeout)
			}
			return nil, len(claims) - len(finished), fmt.Errorf("%d of %d claims not done after %s", len(claims)-len(finished), len(claims), *scaleTimeout)
		}
	}
	wg.Wait()
	out := make([]time.Duration, 0, len(finished))
	for _, d := range finished {
		out = append(out, d)
	}
	slices.Sort(out)
	return out, 0, nil
}

// holdSteady waits out the steady state, and returns how many claims are
// no longer available at its end.
func holdSteady(ctx context.Context, w *watching, claims []scaleClaim) (int, error) {
	select {
	case <-ctx.Done():
		return len(claims), ctx.Err()
	case <-time.After(*scaleSteady):
	}
	wld, err := w.world(ctx)
	if err != nil {
		return len(claims), err
	}
	n := 0
	for _, c := range claims {
		if !wld.available(c.key()) {
			n++
		}
	}
	if n > 0 {
		return n, fmt.Errorf("%d claims no longer available in the steady state", n)
	}
	return 0, nil
}
