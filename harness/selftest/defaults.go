package selftest

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/splitbrain/splitbrain/harness"
	"github.com/splitbrain/splitbrain/harness/campaign"
	"github.com/splitbrain/splitbrain/harness/raftkv"
)

// DefaultsOptions configure RunDefaults. Zero fields take the defaults
// noted; none of them changes what a run does.
type DefaultsOptions struct {
	// Seeds per canary, as `campaign --seeds` (default the campaign's).
	Seeds int
	// Canaries to measure (default all).
	Canaries []raftkv.Bug
	// Workers run at a time (default the campaign's: one per CPU).
	Workers int
	// Exe is the splitbrain binary the campaigns run (default this
	// program).
	Exe string
	// Results is where the campaigns land (default a temporary
	// directory, removed afterwards unless Keep).
	Results string
	Keep    bool
	// Progress receives the campaigns' progress lines, if set.
	Progress io.Writer
}

// DefaultsRow is one canary measured with the defaults.
type DefaultsRow struct {
	Canary raftkv.Bug `json:"canary"`
	// Command is the campaign run: what a user types.
	Command  string `json:"command"`
	Runs     int    `json:"runs"`
	Detected int    `json:"detected"`
	// NoVerdict counts runs that ended unknown or in error.
	NoVerdict int `json:"no_verdict"`
	// Caught counts the detecting runs by Signature, most first.
	Caught []SignatureCount `json:"caught_by,omitempty"`
	// DetectedAt is each detecting run's DetectionTime, sorted.
	DetectedAt []time.Duration `json:"detected_at_ns,omitempty"`
	// Wall is the campaign's wall time: reported, never judged.
	Wall time.Duration `json:"wall_ns"`
}

// SignatureCount is how many runs failed with one signature.
type SignatureCount struct {
	Signature string `json:"signature"`
	Count     int    `json:"count"`
}

// MedianDetection is the median simulated time to detection over the
// detecting runs (0 if none).
func (r *DefaultsRow) MedianDetection() time.Duration { return median(r.DetectedAt) }

// DefaultsReport is RunDefaults' result.
type DefaultsReport struct {
	Seeds       int           `json:"seeds"`
	Rows        []DefaultsRow `json:"rows"`
	Interrupted bool          `json:"interrupted,omitempty"`
	Wall        time.Duration `json:"wall_ns"`
}

// RunDefaults measures each canary with the defaults a user gets: the
// campaign `splitbrain campaign --seeds N --bug X` (campaign.DefaultParams
// with the seeds and the canary, nothing else), run by campaign.Run with
// every run a child process, as the command does. Cancelling ctx stops
// the campaign in flight and returns what was measured, with Interrupted
// set.
func RunDefaults(ctx context.Context, o DefaultsOptions) (*DefaultsReport, error) {
	started := time.Now()
	base := campaign.DefaultParams()
	if o.Seeds == 0 {
		o.Seeds = base.Seeds
	}
	if o.Seeds < 1 {
		return nil, fmt.Errorf("%w: --seeds %d: want at least 1", harness.ErrUsage, o.Seeds)
	}
	if len(o.Canaries) == 0 {
		o.Canaries = raftkv.AllBugs
	}
	root := o.Results
	if root == "" {
		dir, err := os.MkdirTemp("", "splitbrain-selftest-defaults-")
		if err != nil {
			return nil, err
		}
		root = dir
		if !o.Keep {
			defer os.RemoveAll(dir)
		}
	}
	rep := &DefaultsReport{Seeds: o.Seeds}
	for _, bug := range o.Canaries {
		if ctx.Err() != nil {
			rep.Interrupted = true
			break
		}
		p := base
		p.Seeds, p.Bugs = o.Seeds, []string{string(bug)}
		if o.Workers > 0 {
			p.Workers = o.Workers
		}
		row := DefaultsRow{Canary: bug, Command: fmt.Sprintf("splitbrain campaign --seeds %d --bug %s", o.Seeds, bug)}
		x, err := campaign.Run(ctx, p, campaign.Options{Exe: o.Exe, Results: root, Command: row.Command, Progress: o.Progress})
		if err != nil {
			return nil, fmt.Errorf("selftest --defaults, %s: %w", bug, err)
		}
		if err := row.tally(x); err != nil {
			return nil, err
		}
		row.Wall = time.Duration(x.WallSeconds * float64(time.Second))
		rep.Rows = append(rep.Rows, row)
		if x.Interrupted {
			rep.Interrupted = true
			break
		}
	}
	rep.Wall = time.Since(started)
	return rep, nil
}

// tally reads each run of the canary's campaign.
func (r *DefaultsRow) tally(x *campaign.Index) error {
	caught := map[string]int{}
	for _, e := range x.Runs {
		r.Runs++
		switch e.Verdict {
		case campaign.Valid:
			continue
		case campaign.Invalid:
		default:
			r.NoVerdict++
			continue
		}
		res, err := harness.ReadResults(filepath.Join(x.Dir(), e.Dir))
		if err != nil {
			return fmt.Errorf("selftest --defaults: run %s: %w", e.Key, err)
		}
		r.Detected++
		caught[Signature(res)]++
		r.DetectedAt = append(r.DetectedAt, DetectionTime(res))
	}
	for sig, n := range caught {
		r.Caught = append(r.Caught, SignatureCount{sig, n})
	}
	slices.SortFunc(r.Caught, func(a, b SignatureCount) int {
		if a.Count != b.Count {
			return b.Count - a.Count
		}
		return strings.Compare(a.Signature, b.Signature)
	})
	slices.Sort(r.DetectedAt)
	return nil
}

// Table renders the report: a row per canary, wall time last.
func (r *DefaultsReport) Table() string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 8, 2, ' ', 0)
	fmt.Fprintln(w, "canary\tdetected\tno verdict\tmedian time to detect\tcaught by\twall")
	for _, row := range r.Rows {
		med := "-"
		if row.Detected > 0 {
			med = fmt.Sprintf("%.1fs", row.MedianDetection().Seconds())
		}
		var caught []string
		for _, c := range row.Caught {
			caught = append(caught, fmt.Sprintf("%s ×%d", c.Signature, c.Count))
		}
		fmt.Fprintf(w, "%s\t%d/%d\t%d\t%s\t%s\t%s\n", row.Canary, row.Detected, row.Runs, row.NoVerdict, med,
			dash(strings.Join(caught, ", ")), wallSeconds(row.Wall))
	}
	w.Flush()
	fmt.Fprintf(&b, "wall: %s in all (reported, never judged)\n", wallSeconds(r.Wall))
	return b.String()
}

// Summary is the last line.
func (r *DefaultsReport) Summary() string {
	n := 0
	for _, row := range r.Rows {
		if row.Detected > 0 {
			n++
		}
	}
	s := fmt.Sprintf("selftest --defaults: %d/%d canaries detected in at least one of %d seeds (each row: splitbrain campaign --seeds %d --bug CANARY)",
		n, len(r.Rows), r.Seeds, r.Seeds)
	if r.Interrupted {
		s += " (interrupted)"
	}
	return s
}

// Goal is a detection-rate target for the defaults: every canary in at
// least All of the seeds, the read-path canaries in at least ReadPath.
type Goal struct {
	All, ReadPath float64
	ReadPaths     []raftkv.Bug
}

// DefaultsGoal is the goal the project set (issue 12): every canary in at
// least 15 of 20 seeds, the read-path canaries in at least 18 of 20.
var DefaultsGoal = Goal{All: 0.75, ReadPath: 0.9, ReadPaths: []raftkv.Bug{
	raftkv.BugLeaderUnverifiedReads, raftkv.BugLeaseReads, raftkv.BugReadBeforeApply, raftkv.BugDefiniteOnUnknown}}

// Unmet lists the canaries below the goal, one line each.
func (g Goal) Unmet(r *DefaultsReport) []string {
	var out []string
	for _, row := range r.Rows {
		frac, what := g.All, "every canary"
		if slices.Contains(g.ReadPaths, row.Canary) {
			frac, what = g.ReadPath, "a read-path canary"
		}
		need := int(math.Ceil(frac * float64(row.Runs)))
		if row.Detected < need {
			out = append(out, fmt.Sprintf("%s: detected %d/%d, the goal for %s is %d/%d", row.Canary, row.Detected, row.Runs, what, need, row.Runs))
		}
	}
	return out
}
