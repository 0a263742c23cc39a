//go:build e2e && scale

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"k8s.io/client-go/rest"
)

// What make scale reads of the control plane's processes and metrics.

// clockTick is the unit of /proc/<pid>/stat's CPU times (USER_HZ), 100 on
// every Linux that Go runs on.
const clockTick = 10 * time.Millisecond

// processCPU returns the user and system CPU time a process has used.
func processCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name, in parentheses, may hold spaces: the fields that
	// follow it are counted from its end.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	// utime and stime are fields 14 and 15 of stat, 12 and 13 after the
	// name.
	utime, err := strconv.ParseInt(f[11], 10, 64)
	if err != nil {
		return 0, err
	}
	stime, err := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * clockTick, err
}

// processMemory returns a field of /proc/<pid>/status, in bytes: VmRSS, its
// resident memory now, or VmHWM, its peak since it started.
func processMemory(pid int, field string) (uint64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close() //nolint:errcheck // Read only.
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), field+":"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

// memorySampler samples the resident memory of processes every 500ms and
// keeps the most each held since it was last reset.
type memorySampler struct {
	mu   sync.Mutex
	pids map[string]int
	peak map[string]uint64
}

func startMemorySampler(ctx context.Context) *memorySampler {
	m := &memorySampler{pids: map[string]int{}, peak: map[string]uint64{}}
	go func() {
		for {
			m.sample()
			select {
			case <-ctx.Done():
				return
			case <-time.After(500 * time.Millisecond):
			}
		}
	}()
	return m
}

func (m *memorySampler) sample() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for name, pid := range m.pids {
		if rss, err := processMemory(pid, "VmRSS"); err == nil && rss > m.peak[name] {
			m.peak[name] = rss
		}
	}
}

// track samples the processes, by name, from now on.
func (m *memorySampler) track(pids map[string]int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pids = pids
}

// reset returns each process's peak since the last reset, and starts
// again.
func (m *memorySampler) reset() map[string]uint64 {
	m.sample()
	m.mu.Lock()
	defer m.mu.Unlock()
	peak := m.peak
	m.peak = map[string]uint64{}
	return peak
}

// scrape reads the Prometheus metrics served at url.
func scrape(ctx context.Context, c *http.Client, url string) (map[string]*dto.MetricFamily, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	rsp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer rsp.Body.Close() //nolint:errcheck // Read only.
	if rsp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(rsp.Body)
		return nil, fmt.Errorf("%s: %s: %s", url, rsp.Status, b)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(rsp.Body)
}

// apiRequests returns kube-apiserver's count of the requests it has
// served, by verb and resource (apiserver_request_total, summed over
// response codes), as "VERB resource.group/subresource".
func apiRequests(ctx context.Context, cfg *rest.Config) (map[string]float64, error) {
	c, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, err
	}
	fams, err := scrape(ctx, c, cfg.Host+"/metrics")
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	f, ok := fams["apiserver_request_total"]
	if !ok {
		return out, nil
	}
	for _, m := range f.GetMetric() {
		l := map[string]string{}
		for _, lp := range m.GetLabel() {
			l[lp.GetName()] = lp.GetValue()
		}
		k := l["verb"] + " " + l["resource"]
		if l["group"] != "" {
			k += "." + l["group"]
		}
		if l["subresource"] != "" {
			k += "/" + l["subresource"]
		}
		out[k] += m.GetCounter().GetValue()
	}
	return out, nil
}
