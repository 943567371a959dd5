package model

import (
	"errors"

	"github.com/splitbrain/splitbrain/harness/history"
)

// Result is every verdict the model gives a history, as results.json
// carries it.
type Result struct {
	// Valid combines linearizability and liveness with Validity.And: false
	// wins over unknown, which wins over true.
	Valid           Validity        `json:"valid"`
	Linearizability Linearizability `json:"linearizability"`
	Liveness        Liveness        `json:"liveness"`
	Stats           Stats           `json:"stats"`
}

// Check runs CheckLinearizable, CheckLiveness (with opts.LivenessBound) and
// ComputeStats. An error is CheckLinearizable's; when it is
// ErrVisualization the verdicts are still filled in.
func Check(events []history.Event, opts Options) (Result, error) {
	lin, err := CheckLinearizable(events, opts)
	if err != nil && !errors.Is(err, ErrVisualization) {
		return Result{}, err
	}
	live := CheckLiveness(events, opts.withDefaults().LivenessBound)
	return Result{
		Valid:           lin.Valid.And(live.Valid),
		Linearizability: lin,
		Liveness:        live,
		Stats:           ComputeStats(events),
	}, err
}
