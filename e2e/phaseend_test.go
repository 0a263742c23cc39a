package e2e

// No build constraint: `go test ./e2e` without tags runs this file's test
// alone, without starting a control plane; make scale uses phaseEnd.

import (
	"maps"
	"testing"
	"time"
)

// phaseEnd decides when a phase of make scale is over: every claim is done
// in the same reading of the cache, and the claims and XRs have not changed
// since for quiet. Counting a claim done once it has been seen done is not
// enough: under load, Crossplane v2.4 writes an XR's conditions back to an
// older version it read from its cache (its function composer applies the
// status with the conditions read at the start of the reconcile), each such
// write reconciles the XR and its claim again, and a claim seen available
// turns unavailable for a while; a steady state measured from then on
// counts the tail of the creation (docs/performance.md, "One reading I
// cannot explain").
type phaseEnd struct {
	quiet time.Duration
	// since is when every claim was last seen done with these versions.
	since    time.Time
	versions map[string]string
}

// over reports whether the phase is over at now, given whether every claim
// is done in this reading and the resource versions of the claims and XRs
// in it.
func (p *phaseEnd) over(now time.Time, allDone bool, versions map[string]string) bool {
	if !allDone {
		p.since, p.versions = time.Time{}, nil
		return false
	}
	if p.since.IsZero() || !maps.Equal(versions, p.versions) {
		p.since, p.versions = now, versions
	}
	return now.Sub(p.since) >= p.quiet
}

func TestPhaseEnd(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 19, 8, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	v := func(claim, xr string) map[string]string { return map[string]string{"claim": claim, "xr": xr} }
	type reading struct {
		s        int
		allDone  bool
		versions map[string]string
		want     bool
	}
	cases := map[string]struct {
		quiet    time.Duration
		readings []reading
	}{
		// make scale at 100 claims, run 6: claim scale-001/kms-0060 seen
		// available at 19:08:01, unavailable at 19:08:13 and 19:08:25
		// (KeyAvailable back to False, with the lastTransitionTime of
		// 19:07:15), available again at 19:08:19 and 19:08:30; its XR
		// written every 5 s until 19:08:43.
		"ClaimTurnsUnavailableAgain": {15 * time.Second, []reading{
			{1, true, v("6113", "5744"), false},
			{12, true, v("6113", "6057"), false},
			{13, false, v("6657", "6057"), false},
			{19, true, v("6904", "6356"), false},
			{25, false, v("7114", "6557"), false},
			{30, true, v("7268", "6854"), false},
			{38, true, v("7268", "7084"), false},
			{43, true, v("7268", "7225"), false},
			{57, true, v("7268", "7225"), false},
			{58, true, v("7268", "7225"), true},
		}},
		"Settled": {15 * time.Second, []reading{
			{0, false, v("1", "1"), false},
			{3, true, v("2", "2"), false},
			{17, true, v("2", "2"), false},
			{18, true, v("2", "2"), true},
		}},
		"NoQuietPeriod": {0, []reading{
			{0, false, v("1", "1"), false},
			{1, true, v("2", "2"), true},
		}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			p := phaseEnd{quiet: tc.quiet}
			for _, r := range tc.readings {
				if got := p.over(at(r.s), r.allDone, r.versions); got != r.want {
					t.Errorf("at %ds: over() = %t, want %t", r.s, got, r.want)
				}
			}
		})
	}
}
