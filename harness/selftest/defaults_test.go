package selftest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/splitbrain/splitbrain/harness"
	"github.com/splitbrain/splitbrain/harness/campaign"
	"github.com/splitbrain/splitbrain/harness/raftkv"
)

// buildSplitbrain builds the binary the defaults mode's campaigns run.
func buildSplitbrain(t *testing.T) string {
	t.Helper()
	exe := filepath.Join(t.TempDir(), "splitbrain")
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(gobin); err != nil {
		gobin = "go"
	}
	if out, err := exec.Command(gobin, "build", "-o", exe, "github.com/splitbrain/splitbrain/cmd/splitbrain").CombinedOutput(); err != nil {
		t.Fatalf("building splitbrain: %v\n%s", err, out)
	}
	return exe
}

// TestDefaultsMode: two canaries, two seeds each, run as `campaign --seeds
// 2 --bug X` runs them. The table has a row per canary with seeds detected
// out of 2, the median simulated time to detection and the checks that
// caught it; each figure agrees with the run a plain `splitbrain run
// --seed S --bug X` (the harness defaults) gives in this process.
func TestDefaultsMode(t *testing.T) {
	exe := buildSplitbrain(t)
	bugs := []raftkv.Bug{raftkv.BugLocalReads, raftkv.BugForgetVote}
	rep, err := RunDefaults(context.Background(), DefaultsOptions{Seeds: 2, Canaries: bugs, Workers: 2, Exe: exe})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Rows) != 2 || rep.Interrupted {
		t.Fatalf("report %+v", rep)
	}
	for i, row := range rep.Rows {
		if row.Canary != bugs[i] || row.Runs != 2 || row.Command != "splitbrain campaign --seeds 2 --bug "+string(bugs[i]) {
			t.Fatalf("row %+v", row)
		}
		// The same seeds in this process, with the harness's defaults.
		var want DefaultsRow
		caught := map[string]int{}
		for seed := uint64(1); seed <= 2; seed++ {
			out, err := harness.Run(context.Background(), harness.Test{Seed: seed, Bugs: []string{string(row.Canary)}, Results: t.TempDir(), Quick: true})
			if err != nil {
				t.Fatal(err)
			}
			want.Runs++
			if sig := Signature(out.Results); sig != "" {
				want.Detected++
				caught[sig]++
				want.DetectedAt = append(want.DetectedAt, DetectionTime(out.Results))
			}
		}
		if row.Detected != want.Detected || row.NoVerdict != 0 || len(row.DetectedAt) != len(want.DetectedAt) {
			t.Fatalf("%s: campaign %+v, in-process %+v", row.Canary, row, want)
		}
		for _, c := range row.Caught {
			if caught[c.Signature] != c.Count {
				t.Fatalf("%s: campaign caught %+v, in-process %v", row.Canary, row.Caught, caught)
			}
		}
		if want.Detected > 0 {
			if m := row.MedianDetection(); m <= 0 || m > time.Minute || m != median(sortedCopy(want.DetectedAt)) {
				t.Fatalf("%s: median detection %v, in-process %v", row.Canary, m, want.DetectedAt)
			}
		}
	}
	table := rep.Table()
	cells := regexp.MustCompile(` {2,}`).ReplaceAllString(table, "|")
	if !strings.HasPrefix(cells, "canary|detected|no verdict|median time to detect|caught by|wall\n") {
		t.Fatalf("header:\n%s", table)
	}
	for _, row := range rep.Rows {
		if !regexp.MustCompile(`\n` + string(row.Canary) + `\|[0-2]/2\|0\|(-|[0-9.]+s)\|[^|]+\|[0-9.]+s\n`).MatchString(cells) {
			t.Fatalf("no row for %s:\n%s", row.Canary, table)
		}
	}
	t.Log("\n" + table + rep.Summary())
}

func sortedCopy(ds []time.Duration) []time.Duration {
	out := slices.Clone(ds)
	slices.Sort(out)
	return out
}

// TestGoal: the goal is a share of the seeds, 75% for every canary and 90%
// for the read-path ones (15/20 and 18/20).
func TestGoal(t *testing.T) {
	rep := &DefaultsReport{Seeds: 20, Rows: []DefaultsRow{
		{Canary: raftkv.BugLocalReads, Runs: 20, Detected: 15},
		{Canary: raftkv.BugAckOnPropose, Runs: 20, Detected: 14},
		{Canary: raftkv.BugLeaseReads, Runs: 20, Detected: 18},
		{Canary: raftkv.BugReadBeforeApply, Runs: 20, Detected: 17},
	}}
	got := DefaultsGoal.Unmet(rep)
	want := []string{
		"ack-on-propose: detected 14/20, the goal for every canary is 15/20",
		"read-before-apply: detected 17/20, the goal for a read-path canary is 18/20",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("unmet:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestDefaultsAreTheCampaigns: the defaults mode starts from the campaign's
// own defaults, which follow a plain run's fault families.
func TestDefaultsAreTheCampaigns(t *testing.T) {
	var plain harness.Test
	plain.Defaults()
	p := campaign.DefaultParams()
	if p.Mode != "sim" || p.FirstSeed != 1 || p.Seeds != 20 || len(p.Nemesis) != 1 || strings.Join(p.Nemesis[0], ",") != strings.Join(plain.Nemesis, ",") ||
		p.Time != 0 || len(p.RunArgs) != 0 || len(p.Bugs) != 0 {
		t.Fatalf("campaign defaults %+v, a plain run's nemesis %v", p, plain.Nemesis)
	}
}
