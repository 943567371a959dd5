package selftest

import (
	"context"
	"reflect"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/splitbrain/splitbrain/harness/raftkv"
	"github.com/splitbrain/splitbrain/harness/sim"
)

// burnCPU keeps every CPU busy until the returned stop is called: a
// loaded machine.
func burnCPU() (stop func()) {
	var done atomic.Bool
	var wg sync.WaitGroup
	for range runtime.NumCPU() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x := 0
			for !done.Load() {
				x++
			}
			_ = x
		}()
	}
	return func() { done.Store(true); wg.Wait() }
}

// withoutWall drops the table's wall column (the last) and wall line.
func withoutWall(table string) string {
	var out []string
	last := regexp.MustCompile(`\s+\S+$`)
	for _, l := range strings.Split(table, "\n") {
		if !strings.HasPrefix(l, "wall:") {
			out = append(out, last.ReplaceAllString(l, ""))
		}
	}
	return strings.Join(out, "\n")
}

// TestSelftestIsTheSameOnALoadedMachine: budgets are seeds and runs, so a
// selftest gives the same report — every figure but wall time — with every
// CPU busy as on an idle machine. forget-vote is caught by its mechanism
// at once; the consequence checks alone do not catch it within the 3
// seeds allowed, and the search stops at exactly 3.
func TestSelftestIsTheSameOnALoadedMachine(t *testing.T) {
	o := Options{Canaries: []raftkv.Bug{raftkv.BugLocalReads, raftkv.BugForgetVote}, Seeds: 3, CleanSeeds: 1}
	quiet, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	stop := burnCPU()
	loaded, err := Run(context.Background(), o)
	stop()
	if err != nil {
		t.Fatal(err)
	}
	if a, b := withoutWall(quiet.Table()), withoutWall(loaded.Table()); a != b {
		t.Fatalf("tables differ beyond wall time:\n%s\n---\n%s", a, b)
	}
	for _, r := range []*Report{quiet, loaded} {
		r.Wall = 0
		for i := range r.Rows {
			r.Rows[i].Wall = 0
		}
	}
	if !reflect.DeepEqual(quiet, loaded) {
		t.Fatalf("reports differ beyond wall time:\n%+v\n%+v", quiet, loaded)
	}

	lr, fv := quiet.Rows[0], quiet.Rows[1]
	if !lr.Detected || !lr.Consequences.Detected || !strings.HasPrefix(lr.Signature, "linearizability/") || lr.Consequences.Signature != lr.Signature {
		t.Fatalf("local-reads: %+v", lr)
	}
	if !fv.Detected || fv.Signature != "invariant/"+sim.PersistBeforeSend || fv.DetectedAt <= 0 || fv.DetectedAt > 2*time.Second {
		t.Fatalf("forget-vote with every check: %+v", fv.Search)
	}
	if c := fv.Consequences; c.Detected || c.Seeds != 3 || c.SimTime < 3*DefaultDuration {
		t.Fatalf("forget-vote, consequences alone: %+v, want not detected in exactly 3 full seeds", c)
	}
	table := quiet.Table()
	cells := regexp.MustCompile(` {2,}`).ReplaceAllString(table, "|")
	for _, want := range []string{`\|consequences alone\|seeds\|sim time\|caught by\|wall\n`,
		`\nforget-vote\|yes\|1\|[0-9]+s\|[0-9]+/[0-9]+\|invariant/persist-before-send\|no\|3\|[0-9]+s\|-\|[0-9.]+s\n`, `\nwall: `} {
		if !regexp.MustCompile(want).MatchString(cells) {
			t.Fatalf("table lacks %s:\n%s", want, table)
		}
	}
	if !quiet.OK() || !strings.Contains(quiet.Summary(), "2/2 canaries detected (1 by the consequence checks alone) in up to 3 seeds each") {
		t.Fatalf("summary %q, ok %v", quiet.Summary(), quiet.OK())
	}
}
