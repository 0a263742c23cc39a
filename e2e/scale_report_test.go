//go:build e2e && scale

package e2e

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The control plane's processes, in the order the report shows them; the
// test process, which plays the provider and the proxy, is shown apart.
var controlPlaneProcesses = []string{"function", "crossplane", "kube-apiserver", "etcd", "kube-controller-manager"}

const testProcess = "test (provider, proxy, watches)"

// writeScaleReport writes the report, as Markdown and as JSON, to
// -scale-out, and logs the Markdown if asked to.
func writeScaleReport(t *testing.T, runs []runResult, log bool) {
	t.Helper()
	if len(runs) == 0 {
		return
	}
	md := scaleReport(runs)
	base := filepath.Join(*scaleOut, fmt.Sprintf("report-%d", runs[0].N))
	j, err := json.MarshalIndent(runs, "", "  ")
	if err != nil {
		t.Error(err)
	}
	for path, b := range map[string][]byte{base + ".md": []byte(md), base + ".json": j} {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Error(err)
		}
	}
	if log {
		t.Logf("report in %s.md:\n%s", base, md)
	}
}

func scaleReport(runs []runResult) string {
	var b strings.Builder
	n := runs[0].N
	fmt.Fprintf(&b, "# make scale: %d claims, %d per namespace, steady state %s\n\n", n, *scalePerNS, *scaleSteady)
	fmt.Fprintf(&b, "Crossplane's poll interval %s; the provider's pass every second, from its cache. CPU in seconds; "+
		"share is the function's part of the control plane's CPU (function, Crossplane core, kube-apiserver, etcd, "+
		"kube-controller-manager); per claim times are from each claim's action to its done state, read every second.\n\n", *pollInterval)
	for _, r := range runs {
		fmt.Fprintf(&b, "## %s\n\n", r.Name)
		b.WriteString("| phase | wall | per claim p50 / p99 | CPU s: function / crossplane / kube-apiserver / etcd / kcm | function's share | control plane CPU cores | function calls per claim | function CPU per call | API requests per claim (writes) | function peak RSS | provider writes | test process CPU s |\n")
		b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|\n")
		for _, p := range r.Phases {
			cpus := make([]string, 0, len(controlPlaneProcesses))
			var total time.Duration
			for _, name := range controlPlaneProcesses {
				cpus = append(cpus, fmt.Sprintf("%.1f", p.CPU[name].Seconds()))
				total += p.CPU[name]
			}
			all, writes := requestTotals(p.Requests)
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %.1f %% | %.2f | %.2f | %s | %.1f (%.1f) | %.1f MiB | %d | %.1f |\n",
				p.Name, p.Wall.Round(time.Second), percentiles(p.PerClaim), strings.Join(cpus, " / "),
				100*ratio(p.CPU["function"].Seconds(), total.Seconds()), total.Seconds()/p.Wall.Seconds(),
				p.Calls/float64(r.N), perCall(p), all/float64(r.N), writes/float64(r.N),
				float64(p.PeakRSS["function"])/(1<<20), p.Writes, p.CPU[testProcess].Seconds())
		}
		b.WriteString("\n")
	}
	if len(runs) == 2 {
		k, f := runs[0], runs[1]
		fmt.Fprintf(&b, "## %s against %s, phase by phase\n\n", k.Name, f.Name)
		b.WriteString("| phase | function CPU | function CPU per call | function calls | control plane CPU | API requests |\n|---|---|---|---|---|---|\n")
		for i := range min(len(k.Phases), len(f.Phases)) {
			kp, fp := k.Phases[i], f.Phases[i]
			ka, _ := requestTotals(kp.Requests)
			fa, _ := requestTotals(fp.Requests)
			fmt.Fprintf(&b, "| %s | %.1f / %.1f s = %.2fx | %s / %s = %.2fx | %.0f / %.0f | %.1f / %.1f s = %.2fx | %.0f / %.0f |\n", kp.Name,
				kp.CPU["function"].Seconds(), fp.CPU["function"].Seconds(), ratio(kp.CPU["function"].Seconds(), fp.CPU["function"].Seconds()),
				perCall(kp), perCall(fp), ratio(perCallSeconds(kp), perCallSeconds(fp)), kp.Calls, fp.Calls,
				controlPlaneCPU(kp), controlPlaneCPU(fp), ratio(controlPlaneCPU(kp), controlPlaneCPU(fp)), ka, fa)
		}
		b.WriteString("\n")
	}
	for _, r := range runs {
		fmt.Fprintf(&b, "## Events, %s (occurrences in each phase)\n\n", r.Name)
		for _, p := range r.Phases {
			for _, e := range slices.Sorted(maps.Keys(p.Events)) {
				fmt.Fprintf(&b, "- %s: %d × %s\n", p.Name, p.Events[e], e)
			}
		}
		b.WriteString("\n")
	}
	for _, r := range runs {
		fmt.Fprintf(&b, "## API requests by verb and resource, %s\n\n", r.Name)
		keys := map[string]float64{}
		for _, p := range r.Phases {
			for k, v := range p.Requests {
				keys[k] += v
			}
		}
		sorted := slices.SortedFunc(maps.Keys(keys), func(a, b string) int {
			if keys[a] != keys[b] {
				if keys[a] > keys[b] {
					return -1
				}
				return 1
			}
			return strings.Compare(a, b)
		})
		b.WriteString("| request |")
		for _, p := range r.Phases {
			b.WriteString(" " + p.Name + " |")
		}
		b.WriteString("\n|---|" + strings.Repeat("---|", len(r.Phases)) + "\n")
		for _, k := range sorted {
			if keys[k] < float64(r.N)/10 {
				continue // The control plane's own background requests.
			}
			fmt.Fprintf(&b, "| %s |", k)
			for _, p := range r.Phases {
				fmt.Fprintf(&b, " %.0f |", p.Requests[k])
			}
			b.WriteString("\n")
		}
		b.WriteString("\n")
	}
	return b.String()
}

// requestTotals returns the number of API requests, and of those that
// write (anything but get, list and watch).
func requestTotals(rs map[string]float64) (all, writes float64) {
	for k, v := range rs {
		all += v
		verb, _, _ := strings.Cut(k, " ")
		if verb != "GET" && verb != "LIST" && verb != "WATCH" {
			writes += v
		}
	}
	return all, writes
}

func controlPlaneCPU(p phaseResult) float64 {
	var total time.Duration
	for _, name := range controlPlaneProcesses {
		total += p.CPU[name]
	}
	return total.Seconds()
}

func perCallSeconds(p phaseResult) float64 { return ratio(p.CPU["function"].Seconds(), p.Calls) }

func perCall(p phaseResult) string {
	if p.Calls == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f µs", 1e6*perCallSeconds(p))
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// percentiles shows the 50th and 99th percentiles of sorted durations.
func percentiles(ds []time.Duration) string {
	if len(ds) == 0 {
		return "-"
	}
	at := func(q float64) time.Duration { return ds[min(len(ds)-1, int(q*float64(len(ds))))] }
	return fmt.Sprintf("%s / %s", at(0.50).Round(time.Second), at(0.99).Round(time.Second))
}
