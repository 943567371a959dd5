package campaign

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/splitbrain/splitbrain/harness"
	"github.com/splitbrain/splitbrain/harness/world"
	"github.com/splitbrain/splitbrain/model"
)

func TestSignature(t *testing.T) {
	lin := func(v model.Validity, anomaly string) model.Linearizability {
		return model.Linearizability{Valid: v, Anomaly: anomaly}
	}
	cases := []struct {
		r    harness.Results
		want string
	}{
		{harness.Results{Valid: model.Invalid, FaultKinds: []string{"kill", "partition"}, Linearizability: lin(model.Invalid, "stale-read")}, "kill+partition / stale-read"},
		{harness.Results{Valid: model.Invalid, Faults: []harness.FaultCount{{F: "partition", Count: 2}, {F: "heal", Count: 2}, {F: "wipe", Count: 1}, {F: "note", Count: 3}}, Linearizability: lin(model.Invalid, "")}, "disk+partition / not-linearizable"},
		{harness.Results{Valid: model.Invalid, Linearizability: lin(model.Valid, ""), Invariants: harness.Invariants{Valid: model.Invalid, Violation: &world.InvariantError{Invariant: "election-safety"}}}, "no-faults / invariant:election-safety"},
		{harness.Results{Valid: model.Invalid, FaultKinds: []string{"partition"}, Linearizability: lin(model.Valid, ""), Liveness: model.Liveness{Valid: model.Invalid}}, "partition / liveness"},
		{harness.Results{Valid: model.Unknown, ScriptError: "x.lua:3: boom", Linearizability: lin(model.Valid, ""), Liveness: model.Liveness{Valid: model.Valid}}, "no-faults / script-error"},
		{harness.Results{Valid: model.Unknown, Linearizability: lin(model.Valid, ""), Liveness: model.Liveness{Valid: model.Unknown}, Faults: []harness.FaultCount{{F: "add-node", Count: 1}, {F: "promote", Count: 1}}}, "membership / liveness-unknown"},
		{harness.Results{Valid: model.Unknown, Linearizability: lin(model.Unknown, "")}, "no-faults / check-timeout"},
		{harness.Results{Valid: model.Valid, FaultKinds: []string{"pause"}}, "pause"},
	}
	for _, c := range cases {
		if got := Signature(FaultKinds(&c.r), Anomaly(&c.r)); got != c.want {
			t.Errorf("got %q, want %q", got, c.want)
		}
	}
}

func entry(i int, cell string, seed uint64, v Verdict, sig string) Entry {
	return Entry{Index: i, Key: cell + "-s" + string(rune('0'+seed)), Cell: cell, Seed: seed, Verdict: v, Signature: sig,
		Repro: "splitbrain run --seed " + string(rune('0'+seed)), Dir: "runs/" + cell}
}

func TestGroups(t *testing.T) {
	runs := []Entry{
		entry(0, "kill", 1, Valid, "kill"),
		entry(1, "kill", 2, Unknown, "kill / liveness-unknown"),
		entry(2, "partition", 2, Invalid, "partition / stale-read"),
		entry(3, "kill", 3, Invalid, "kill / lost-write"),
		entry(4, "partition", 3, Invalid, "partition / stale-read"),
		entry(5, "kill", 4, Error, "no-faults / script-error"),
	}
	var got []string
	for _, g := range Groups(runs) {
		got = append(got, string(g.Verdict)+" "+g.Signature+" "+string(rune('0'+len(g.Runs))))
	}
	want := "invalid partition / stale-read 2|invalid kill / lost-write 1|unknown kill / liveness-unknown 1|error no-faults / script-error 1"
	if strings.Join(got, "|") != want {
		t.Fatalf("groups %q, want %q", strings.Join(got, "|"), want)
	}
	var tot Totals
	for _, e := range runs {
		tot.add(e.Verdict)
	}
	if tot != (Totals{Runs: 6, Valid: 1, Invalid: 3, Unknown: 1, Errors: 1}) || tot.ExitCode() != 1 {
		t.Fatalf("totals %+v exit %d", tot, tot.ExitCode())
	}
	if (Totals{Runs: 2, Valid: 1, Errors: 1}).ExitCode() != 3 || (Totals{Runs: 1, Valid: 1}).ExitCode() != 0 {
		t.Fatal("exit codes")
	}
}

// writeIndex writes a fake campaign (shard s of a 2-cell × 3-seed plan)
// under root/campaigns/<id>.
func writeIndex(t *testing.T, root, id string, s Shard, started time.Time) *Index {
	t.Helper()
	p := Params{Mode: "sim", Seeds: 3, FirstSeed: 1, Nemesis: [][]string{{"partition"}, {"kill"}}, Workers: 2, Shard: s}
	dir := filepath.Join(root, "campaigns", id)
	if err := os.MkdirAll(filepath.Join(dir, RunsDir), 0o755); err != nil {
		t.Fatal(err)
	}
	x := &Index{Version: indexVersion, ID: id, Params: p, Fingerprint: p.Fingerprint(), Started: started, Finished: started.Add(time.Minute),
		WallSeconds: 60, Planned: len(p.Planned()), dir: dir}
	for _, sp := range p.Planned() {
		v, sig := Valid, strings.Join(sp.Cell.Nemesis, "+")
		if sp.Seed == 2 {
			v, sig = Invalid, sig+" / stale-read"
		}
		x.Runs = append(x.Runs, Entry{Index: sp.Index, Key: sp.Key, Cell: sp.Cell.Label(), Seed: sp.Seed, Verdict: v, Signature: sig,
			Dir: filepath.Join(RunsDir, sp.Key, "register", "T"), Repro: "splitbrain run --seed 2"})
	}
	if err := x.write(); err != nil {
		t.Fatal(err)
	}
	if err := writeSummary(x); err != nil {
		t.Fatal(err)
	}
	return x
}

func TestMergeAndList(t *testing.T) {
	root := t.TempDir()
	t0 := time.Date(2026, 4, 1, 2, 0, 0, 0, time.UTC)
	a := writeIndex(t, root, "A-shard-1-of-2", Shard{1, 2}, t0)
	b := writeIndex(t, root, "B-shard-2-of-2", Shard{2, 2}, t0.Add(time.Second))
	if len(a.Runs) != 3 || len(b.Runs) != 3 {
		t.Fatalf("shards hold %d and %d runs", len(a.Runs), len(b.Runs))
	}
	m, err := Merge([]string{a.Dir(), b.Dir()}, root, "merge")
	if err != nil {
		t.Fatal(err)
	}
	if m.Totals != (Totals{Runs: 6, Valid: 4, Invalid: 2}) || m.Planned != 6 || len(m.Shards) != 2 {
		t.Fatalf("merged totals %+v planned %d shards %v", m.Totals, m.Planned, m.Shards)
	}
	for i, e := range m.Runs {
		if e.Index != i {
			t.Fatalf("merged runs out of order: %d at %d", e.Index, i)
		}
		// The run directory is reachable from the merged campaign.
		want := filepath.Join(root, "campaigns", map[bool]string{true: "A-shard-1-of-2", false: "B-shard-2-of-2"}[i%2 == 0], e.Key)
		if got := filepath.Join(m.Dir(), e.Dir); !strings.HasPrefix(got, filepath.Join(filepath.Dir(want), RunsDir, e.Key)) {
			t.Fatalf("run %d: %s resolves to %s, want it under %s", i, e.Dir, got, want)
		}
	}
	html, _ := os.ReadFile(filepath.Join(m.Dir(), SummaryFile))
	if !bytes.Contains(html, []byte("partition / stale-read")) || !bytes.Contains(html, []byte("../A-shard-1-of-2/runs/")) {
		t.Fatal("merged summary lacks the failures or the links into the shards")
	}

	// Errors: a shard twice, different matrices.
	if _, err := Merge([]string{a.Dir(), a.Dir()}, root, ""); err == nil || !strings.Contains(err.Error(), "shard 1/2 is in both") {
		t.Fatalf("same shard twice: %v", err)
	}
	c := writeIndex(t, root, "C", Shard{}, t0)
	c.Params.Seeds = 4
	c.Fingerprint = c.Params.Fingerprint()
	c.write()
	if _, err := Merge([]string{a.Dir(), c.Dir()}, root, ""); err == nil || !strings.Contains(err.Error(), "different matrices") {
		t.Fatalf("different matrices: %v", err)
	}
	if _, err := Merge([]string{filepath.Join(root, "nope")}, root, ""); err == nil {
		t.Fatal("merging a missing directory")
	}

	// List: newest first, with the failure groups; the merged one too.
	os.MkdirAll(filepath.Join(root, "campaigns", "starting"), 0o755) // no index yet: skipped
	list, err := List(root)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range list {
		ids = append(ids, s.ID)
	}
	// Newest first by start; a merged campaign started with its first shard.
	if strings.Join(ids, " ") != "B-shard-2-of-2 C A-shard-1-of-2 "+m.ID {
		t.Fatalf("list %v", ids)
	}
	if ms := list[3]; !ms.Merged || ms.Totals.Invalid != 2 || len(ms.Failures) != 2 || ms.Failures[0].Count != 1 || ms.Summary == "" {
		t.Fatalf("merged campaign listed as %+v", ms)
	}
	if empty, err := List(t.TempDir()); err != nil || len(empty) != 0 {
		t.Fatalf("an empty results dir: %v %v", empty, err)
	}
}

func TestProgressLinesWithoutATerminal(t *testing.T) {
	var buf bytes.Buffer
	p := newProgress(&buf, false, 12, 0)
	var tot Totals
	for i, v := range []Verdict{Valid, Invalid, Unknown} {
		e := entry(i, "partition,kill", uint64(i+1), v, "partition+kill / stale-read")
		tot.add(v)
		p.done(e, tot)
	}
	p.finish(tot, true)
	out := buf.String()
	if strings.ContainsAny(out, "\r\x1b") {
		t.Fatalf("control characters in plain progress: %q", out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	re := regexp.MustCompile(`^campaign \[ ?\d+/12\] (VALID  |INVALID|UNKNOWN) partition,kill seed \d+(: partition\+kill / stale-read)? \(failed \d, ETA \d+s\)$`)
	if len(lines) != 4 || lines[3] != "campaign interrupted after 3 runs" {
		t.Fatalf("lines %q", lines)
	}
	for _, l := range lines[:3] {
		if !re.MatchString(l) {
			t.Errorf("line %q", l)
		}
	}
	if !strings.Contains(lines[1], "INVALID") || !strings.Contains(lines[1], "(failed 1,") {
		t.Errorf("line %q", lines[1])
	}
}

func TestProgressBarOnATerminal(t *testing.T) {
	var buf bytes.Buffer
	p := newProgress(&buf, true, 3, 0)
	var tot Totals
	for i, v := range []Verdict{Valid, Invalid, Valid} {
		tot.add(v)
		p.done(entry(i, "kill", uint64(i+1), v, "kill / stale-read"), tot)
		time.Sleep(120 * time.Millisecond) // past the bar's throttle
	}
	p.finish(tot, false)
	out := buf.String()
	if !strings.Contains(out, "\r") || !strings.Contains(out, "3/3") || !strings.Contains(out, "1 failed") {
		t.Fatalf("bar output %q", out)
	}
	if !strings.Contains(out, "INVALID kill seed 2: kill / stale-read\n  splitbrain run --seed 2\n") {
		t.Fatalf("the failure is not printed above the bar: %q", out)
	}
}

func TestETA(t *testing.T) {
	if got := eta(10*time.Second, 2, 10, 0); got != "ETA 40s" {
		t.Fatal(got)
	}
	if got := eta(10*time.Second, 2, -1, time.Minute); got != "budget left 50s" {
		t.Fatal(got)
	}
	if got := eta(10*time.Second, 2, 100, 30*time.Second); got != "ETA 20s" {
		t.Fatal(got)
	}
}

// TestShrunkSchedule: a shrunk schedule in a failing run's directory is
// carried into the index and shown with the failure.
func TestShrunkSchedule(t *testing.T) {
	runDir := t.TempDir()
	shrunk := "5.0s partition isolate-leader\n8.0s heal\n"
	os.WriteFile(filepath.Join(runDir, ShrunkFile), []byte(shrunk), 0o644)
	r := &harness.Results{Valid: model.Invalid, FaultKinds: []string{"partition"},
		Linearizability: model.Linearizability{Valid: model.Invalid, Anomaly: "stale-read", Explanation: "a stale read"}, Repro: "splitbrain run --seed 9"}
	var e Entry
	fill(&e, r, runDir)
	if e.Shrunk != shrunk || e.Verdict != Invalid || e.Signature != "partition / stale-read" || e.Repro != r.Repro || e.Explanation != "a stale read" {
		t.Fatalf("entry %+v", e)
	}
	dir := t.TempDir()
	x := &Index{Version: indexVersion, ID: "x", Runs: []Entry{e, {Index: 1, Verdict: Invalid, Signature: "kill / lost-write", Repro: "splitbrain run --seed 10"}}, dir: dir}
	x.recount()
	if err := writeSummary(x); err != nil {
		t.Fatal(err)
	}
	html, _ := os.ReadFile(filepath.Join(dir, SummaryFile))
	if !bytes.Contains(html, []byte("<pre>5.0s partition isolate-leader\n8.0s heal\n</pre>")) {
		t.Fatal("the shrunk schedule is not in summary.html")
	}
	if bytes.Count(html, []byte("No shrunk schedule")) != 1 {
		t.Fatal("the group without a shrunk schedule does not say so (once)")
	}
}
