package workloads_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/splitbrain/splitbrain/harness"
	"github.com/splitbrain/splitbrain/harness/history"
	"github.com/splitbrain/splitbrain/model"
	"github.com/splitbrain/splitbrain/workloads"
)

func TestParseMix(t *testing.T) {
	for in, want := range map[string]workloads.Mix{
		"40/40/20":    {Read: 40, Write: 40, CAS: 20},
		"40/30/20/10": {Read: 40, Write: 30, CAS: 20, Delete: 10},
		"0/0/0/1":     {Delete: 1},
		"1/0/0":       {Read: 1},
	} {
		got, err := workloads.ParseMix(in)
		if err != nil || got != want {
			t.Errorf("ParseMix(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for in, msg := range map[string]string{
		"1/2":          "want read/write/cas or read/write/cas/delete",
		"1/2/3/4/5":    "want read/write/cas or read/write/cas/delete",
		"40/x/20":      `weight "x" is not an integer`,
		"40/-1/20":     `weight "-1" is not an integer`,
		"0/0/0":        "every weight is zero",
		"0/0/0/0":      "every weight is zero",
		"":             "want read/write/cas",
		"1/2/99999999": "not an integer from 0 to",
	} {
		if _, err := workloads.ParseMix(in); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("ParseMix(%q) = %v, want an error containing %q", in, err, msg)
		}
	}
	if s := workloads.DefaultMix.String(); s != "40/30/20/10" {
		t.Errorf("the default mix prints as %q", s)
	}
	if s := (workloads.Mix{Read: 1, Write: 2, CAS: 3}).String(); s != "1/2/3" {
		t.Errorf("a mix without deletes prints as %q, want the old three weights", s)
	}
}

func FuzzParseMix(f *testing.F) {
	for _, s := range []string{"40/40/20", "40/30/20/10", "0/0/0", "1/2", "a/b/c/d", "1//2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := workloads.ParseMix(s)
		if err != nil {
			return
		}
		opts := workloads.RegisterOptions{Mix: m}
		opts.Defaults()
		if err := opts.Validate(); err != nil || opts.Mix != m {
			t.Fatalf("ParseMix(%q) = %+v, which the workload refuses: %v", s, m, err)
		}
		again, err := workloads.ParseMix(m.String())
		if err != nil || again != m {
			t.Fatalf("ParseMix(%q) = %+v prints as %q, which parses as %+v, %v", s, m, m.String(), again, err)
		}
	})
}

// TestDeletesCheckedAndValid: with the default mix a run's history holds
// deletes, reads that saw their effect, and writes after them of values
// still unique per key — and a correct cluster passes.
func TestDeletesCheckedAndValid(t *testing.T) {
	out := harness.RunTest(t, harness.Test{Seed: 5, Duration: harness.Duration(20 * time.Second), Results: t.TempDir(),
		Nemesis: []string{"partition", "kill"}})
	h, err := history.ReadFile(out.Dir + "/" + harness.HistoryFile)
	if err != nil {
		t.Fatal(err)
	}
	deleted := map[string]bool{} // keys with an ok delete so far
	written := map[string]map[string]bool{}
	okDeletes, readsAfterDelete, writesAfterDelete := 0, 0, 0
	for _, e := range h.Events {
		if e.Process == history.Nemesis {
			continue
		}
		switch {
		case e.Type == history.Invoke && (e.F == history.FWrite || e.F == history.FCAS):
			if written[e.Key] == nil {
				written[e.Key] = map[string]bool{}
			}
			if written[e.Key][*e.Value] {
				t.Fatalf("value %q written twice to key %s (index %d)", *e.Value, e.Key, e.Index)
			}
			written[e.Key][*e.Value] = true
			if deleted[e.Key] {
				writesAfterDelete++
			}
		case e.Type == history.OK && e.F == history.FDelete:
			okDeletes++
			deleted[e.Key] = true
		case e.Type == history.OK && e.F == history.FRead && e.Value == nil && deleted[e.Key]:
			readsAfterDelete++
		}
	}
	if okDeletes == 0 || readsAfterDelete == 0 || writesAfterDelete == 0 {
		t.Fatalf("ok deletes %d, reads of absent after one %d, writes after one %d: want each > 0", okDeletes, readsAfterDelete, writesAfterDelete)
	}
}

// TestCanaryCaughtWithDeletes: the default mix, deletes included, still
// catches a stale-read canary.
func TestCanaryCaughtWithDeletes(t *testing.T) {
	out, err := harness.Run(context.Background(), harness.Test{Seed: 2, Duration: harness.Duration(20 * time.Second), Results: t.TempDir(),
		Bugs: []string{"local-reads"}, Quick: true})
	if err != nil {
		t.Fatal(err)
	}
	if out.Results.Valid != model.Invalid {
		t.Fatalf("--bug local-reads with deletes in the mix: verdict %s, want invalid\n%s", out.Results.Valid, harness.Summary(out.Results, &out.Test, false))
	}
	if d := out.Test.Workload.Mix.Delete; d == 0 {
		t.Fatalf("the default mix has no deletes: %+v", out.Test.Workload.Mix)
	}
}
