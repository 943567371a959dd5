package harness

import (
	"context"
	cryptorand "crypto/rand"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/splitbrain/splitbrain/model"
	"github.com/splitbrain/splitbrain/nemesis"
)

// Environment variables RunTest honours, so that the replay command it
// prints reruns exactly the failing test.
const (
	// EnvSeed replaces the test's seed.
	EnvSeed = "SPLITBRAIN_SEED"
	// EnvSchedule names a schedule file to replay instead of the test's
	// own schedule (a shrunk one, as printed).
	EnvSchedule = "SPLITBRAIN_SCHEDULE"
	// EnvShrinkRuns bounds the runs RunTest spends shrinking a failing
	// schedule (default DefaultShrinkRuns; 0 turns shrinking off).
	EnvShrinkRuns = "SPLITBRAIN_SHRINK_RUNS"
	// EnvResults is where RunTest's runs land (default
	// splitbrain-results in the system's temporary directory).
	EnvResults = "SPLITBRAIN_RESULTS"
)

// DefaultShrinkRuns is how many runs RunTest may spend shrinking a
// failing schedule.
const DefaultShrinkRuns = 40

// RunTest runs test from a Go test and fails t unless the verdict is
// valid — one line in a user's test:
//
//	func TestMyCluster(t *testing.T) {
//		harness.RunTest(t, harness.Test{Seed: 7, Duration: harness.Duration(30 * time.Second)})
//	}
//
// or, for a node of your own (package harness/raftnode):
//
//	harness.RunTest(t, harness.Test{Seed: 7, SystemImpl: mynode.System()})
//
// On a failure it shrinks the fault schedule (deleting events while the
// run still fails the same way, nemesis.Shrink; at most
// $SPLITBRAIN_SHRINK_RUNS runs, default DefaultShrinkRuns), reruns the
// shrunk schedule with every artefact, and fails t with the seed, the
// check that failed and its explanation, the shrunk schedule, the results
// directory and the command that replays it: `splitbrain run …` for the
// reference node, and for a node in Go the `go test` command that reruns
// this very test with $SPLITBRAIN_SEED and $SPLITBRAIN_SCHEDULE, which
// RunTest honours. A verdict that is unknown fails t without shrinking.
//
// Results go to $SPLITBRAIN_RESULTS if set, else to splitbrain-results in
// the system's temporary directory (kept after the test, so a failure can
// be inspected), unless test.Results is set.
func RunTest(t testing.TB, test Test) *Outcome {
	t.Helper()
	if test.Results == "" {
		test.Results = os.Getenv(EnvResults)
		if test.Results == "" {
			test.Results = filepath.Join(os.TempDir(), "splitbrain-results")
		}
	}
	if err := fromEnv(&test); err != nil {
		t.Fatalf("splitbrain: %v", err)
		return nil
	}
	if test.Seed == 0 {
		test.Seed = randomSeed()
	}
	if test.SystemImpl != nil && test.Replay == "" {
		test.Replay = goTestCommand(t)
	}
	ctx := context.Background()
	out, err := Run(ctx, test)
	if err != nil {
		t.Fatalf("splitbrain: the test could not run: %v", err)
		return nil
	}
	r := out.Results
	if r.Valid == model.Valid {
		if testing.Verbose() { // go test -v: what ran and what was checked
			t.Logf("splitbrain: verdict VALID\n%s", Summary(r, &out.Test, false))
		}
		return out
	}
	if r.Valid != model.Invalid {
		t.Fatalf("splitbrain: verdict %s\n%s", VerdictWord(r.Valid, false), Summary(r, &out.Test, false))
		return out
	}
	failed := fmt.Sprintf("failed:   %s (seed %d, %d fault events)", strings.Join(r.Failures(), ", "), r.Seed, len(scheduleOf(out).Events))
	shrunk, runs, err := shrinkRun(ctx, out)
	switch {
	case err != nil:
		failed += "\nshrunk:   no: " + err.Error()
	case shrunk != nil:
		out = shrunk
		r = out.Results
		failed += fmt.Sprintf("\nshrunk:   to %d fault events in %d runs, failing the same way (%s)", len(scheduleOf(out).Events), runs, r.Signature())
	}
	sched := scheduleOf(out).String()
	if sched == "" {
		sched = "(none: it fails without faults)\n"
	}
	t.Fatalf("splitbrain: verdict %s\n%s\nschedule:\n%s%s",
		VerdictWord(r.Valid, false), failed, indentLines(sched), Summary(r, &out.Test, false))
	return out
}

// fromEnv applies $SPLITBRAIN_SEED and $SPLITBRAIN_SCHEDULE to test.
func fromEnv(test *Test) error {
	if s := os.Getenv(EnvSeed); s != "" {
		seed, err := strconv.ParseUint(s, 10, 64)
		if err != nil || seed == 0 {
			return fmt.Errorf("$%s=%q: want a positive integer", EnvSeed, s)
		}
		test.Seed = seed
	}
	if path := os.Getenv(EnvSchedule); path != "" {
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("$%s: %w", EnvSchedule, err)
		}
		defer f.Close()
		s, err := nemesis.Parse(f, path)
		if err != nil {
			return fmt.Errorf("$%s: %w", EnvSchedule, err)
		}
		test.Schedule, test.ScheduleFile, test.Nemesis, test.Scenario = &s, path, nil, ""
	}
	return nil
}

func randomSeed() uint64 {
	var b [8]byte
	cryptorand.Read(b[:])
	return binary.LittleEndian.Uint64(b[:])>>1 | 1
}

// goTestCommand is the `go test` command that reruns t (the caller's
// test): its package directory, and a -run pattern matching exactly its
// name, each subtest level anchored.
func goTestCommand(t testing.TB) string {
	dir, err := os.Getwd()
	if err != nil {
		dir = "."
	}
	levels := strings.Split(t.Name(), "/")
	for i, l := range levels {
		levels[i] = "^" + regexp.QuoteMeta(l) + "$"
	}
	return fmt.Sprintf("go -C %s test -count=1 -run %s", shellQuote(dir), shellQuote(strings.Join(levels, "/")))
}

// scheduleOf is the schedule a run ran, as its run directory records it.
func scheduleOf(out *Outcome) nemesis.Schedule {
	if out.Test.Schedule != nil {
		return *out.Test.Schedule
	}
	f, err := os.Open(filepath.Join(out.Dir, ScheduleFile))
	if err != nil {
		return nemesis.Schedule{}
	}
	defer f.Close()
	s, _ := nemesis.Parse(f, ScheduleFile)
	return s
}

// shrinkRun shrinks the schedule of a failed run with nemesis.Shrink and
// reruns the smallest one that fails the same way, with every artefact.
// It returns nil when there is nothing to shrink (a scenario, an empty
// schedule, shrinking turned off, or no event could go).
func shrinkRun(ctx context.Context, out *Outcome) (*Outcome, int, error) {
	budget := DefaultShrinkRuns
	if s := os.Getenv(EnvShrinkRuns); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return nil, 0, fmt.Errorf("$%s=%q: want a number of runs", EnvShrinkRuns, s)
		}
		budget = n
	}
	sched := scheduleOf(out)
	if budget == 0 || out.Test.Scenario != "" || len(sched.Events) == 0 {
		return nil, 0, nil
	}
	scratch, err := os.MkdirTemp("", "splitbrain-shrink-")
	if err != nil {
		return nil, 0, err
	}
	defer os.RemoveAll(scratch)
	base := out.Test
	base.Nemesis, base.Scenario = nil, ""
	judge := func(c nemesis.Schedule) (string, error) {
		tt := base
		tt.Schedule, tt.ScheduleFile, tt.Quick, tt.Results = &c, "", true, scratch
		o, err := Run(ctx, tt)
		if err != nil {
			return "", err
		}
		return o.Results.Signature(), nil
	}
	shrunk, runs, err := nemesis.Shrink(sched, out.Results.Signature(), budget, judge, func() bool { return ctx.Err() != nil })
	if err != nil || len(shrunk.Events) == len(sched.Events) {
		return nil, runs, err
	}
	final := base
	final.Schedule, final.ScheduleFile = &shrunk, ""
	o, err := Run(ctx, final)
	if err != nil {
		return nil, runs, err
	}
	return o, runs, nil
}

// indentLines indents every line of s under the summary's labels.
func indentLines(s string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(s, "\n") {
		if l != "" {
			b.WriteString("          " + l)
		}
	}
	return b.String()
}
