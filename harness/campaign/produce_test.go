package campaign

import (
	"context"
	"testing"
	"time"

	"github.com/splitbrain/splitbrain/harness"
)

// TestBudgetStartsTheFirstRun: a budget already spent when the campaign
// starts (a machine so loaded that setting up took longer than the
// budget) still hands out the first run, and then stops.
func TestBudgetStartsTheFirstRun(t *testing.T) {
	p := Params{Mode: "sim", FirstSeed: 1, Budget: harness.Duration(time.Millisecond), Nemesis: [][]string{{"kill"}}, Workers: 1}
	for range 20 {
		specs := make(chan Spec)
		go produce(context.Background(), &p, time.Now().Add(-time.Hour), specs)
		var got []Spec
		for s := range specs {
			got = append(got, s)
		}
		if len(got) < 1 || got[0].Seed != 1 {
			t.Fatalf("runs handed out: %+v, want seed 1 first", got)
		}
	}
}
