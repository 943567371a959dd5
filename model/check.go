package model

import (
	"errors"
	"fmt"
	"sort"
	"sync/atomic"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/splitbrain/splitbrain/harness/history"
)

// ErrVisualization wraps a failure to write Options.HTMLPath. The verdict
// returned with it is complete.
var ErrVisualization = errors.New("model: writing the visualization")

// Defaults for Options fields left zero.
const (
	DefaultVerboseTimeout = 30 * time.Second
	DefaultLivenessBound  = 10 * time.Second
)

// Options configure a check.
type Options struct {
	// Initial is the value of every register before the test; nil means
	// absent. Jepsen histories use "0" or nil.
	Initial *string
	// Timeout bounds the fast linearizability check over all keys; 0 means
	// no limit. Keys not decided in time are Unknown.
	Timeout time.Duration
	// ExplainSteps bounds the search that explains the first failing key,
	// in model steps (search.go): a bound that gives the same explanation
	// on any machine. Default DefaultExplainSteps.
	ExplainSteps int64
	// VerboseTimeout is the wall-clock safety net of the explaining search
	// (behind ExplainSteps), and bounds the slower check that draws the
	// failing keys for HTMLPath. Default DefaultVerboseTimeout.
	VerboseTimeout time.Duration
	// HTMLPath, if set and the history is not linearizable, is where
	// porcupine's visualization is written: a window of the first failing
	// key around the first operation that cannot be placed, and, when that
	// is not all of it, the whole diagram of every failing key next to it
	// (linearizability.html → linearizability-full.html).
	HTMLPath string
	// LivenessBound is how soon after the final heal the system must serve
	// an ok read and an ok write (see CheckLiveness). Default
	// DefaultLivenessBound. Used by Check.
	LivenessBound time.Duration
	// Deadline, if set, bounds the whole of CheckLinearizable: the fast
	// check stops at it (as at Timeout: keys not decided are Unknown), the
	// explaining check gets only the time left (at most VerboseTimeout),
	// and neither it nor the visualization starts once it has passed.
	Deadline time.Time
}

func (o Options) validate() error {
	switch {
	case o.Timeout < 0:
		return fmt.Errorf("model: Timeout %v is negative", o.Timeout)
	case o.VerboseTimeout < 0:
		return fmt.Errorf("model: VerboseTimeout %v is negative", o.VerboseTimeout)
	case o.ExplainSteps < 0:
		return fmt.Errorf("model: ExplainSteps %d is negative", o.ExplainSteps)
	case o.LivenessBound < 0:
		return fmt.Errorf("model: LivenessBound %v is negative", o.LivenessBound)
	}
	return nil
}

func (o Options) withDefaults() Options {
	if o.VerboseTimeout == 0 {
		o.VerboseTimeout = DefaultVerboseTimeout
	}
	if o.LivenessBound == 0 {
		o.LivenessBound = DefaultLivenessBound
	}
	if o.ExplainSteps == 0 {
		o.ExplainSteps = DefaultExplainSteps
	}
	return o
}

// KeyResult is the verdict for one key. Ops counts the operations the
// checker considered (failed operations, reads of unknown outcome and
// unneeded writes of unknown outcome are not among them).
type KeyResult struct {
	Key   string   `json:"key"`
	Valid Validity `json:"valid"`
	Ops   int      `json:"ops"`
}

// Linearizability is the verdict of CheckLinearizable.
type Linearizability struct {
	// Valid is Invalid if any key is not linearizable, else Unknown if any
	// key timed out, else Valid.
	Valid Validity    `json:"valid"`
	Keys  []KeyResult `json:"keys"` // sorted by key
	// FirstFailingKey is the failing key that sorts first; Explanation and
	// Anomaly are about it.
	FirstFailingKey string `json:"first_failing_key,omitempty"`
	// Explanation says in one paragraph what went wrong on that key.
	Explanation string `json:"explanation,omitempty"`
	// Anomaly is the kind of failure; see the package documentation for the
	// taxonomy.
	Anomaly string `json:"anomaly,omitempty"`
	// AnomalyTime is when the operation the explanation blames returned
	// (ns since the start of the test, the history's Time): the moment a
	// client saw the anomaly. 0 when no single operation is blamed.
	AnomalyTime int64 `json:"anomaly_time_ns,omitempty"`
	// BlamedIndex is the history index of the invocation of the operation
	// the explanation blames, when it blames one.
	BlamedIndex *int64 `json:"blamed_index,omitempty"`
	// HTML is the base name of the visualization written, if any: a
	// window of the first failing key around the first operation that
	// cannot be placed.
	HTML string `json:"html,omitempty"`
	// HTMLFull is the base name of the whole visualization of every
	// failing key, when HTML shows only a window of it.
	HTMLFull string `json:"html_full,omitempty"`
	// FailingKeys counts the keys found not linearizable.
	FailingKeys int `json:"failing_keys,omitempty"`
	// VerboseTimedOut is set when the explaining search's wall-clock
	// safety net (Options.VerboseTimeout, or Options.Deadline) tripped
	// before it ended: the explanation says it is incomplete and Anomaly is
	// AnomalyUnexplained, so that how fast the machine was never decides an
	// anomaly kind.
	VerboseTimedOut bool `json:"verbose_timed_out,omitempty"`
	// ExplainBudgetSpent is set when the explaining search spent
	// Options.ExplainSteps before it found the operations to blame: the
	// explanation rests on the history alone, and says so. Unlike a
	// timeout, this is the same on every machine.
	ExplainBudgetSpent bool `json:"explain_budget_spent,omitempty"`
	// DiagramTimedOut is set when the check that draws the visualization
	// ran out of Options.VerboseTimeout: the diagram shows a partial
	// search. The explanation does not rest on it.
	DiagramTimedOut bool `json:"diagram_timed_out,omitempty"`
}

// CheckLinearizable decides whether the client operations of a history are
// linearizable, one register per key.
//
// The history's Index orders operations (porcupine's call and return
// timestamps are indexes, never Time: the recorder's order is the real
// order, while many events may share a virtual time). Each key is checked
// on its own, in parallel, by porcupine's fast check within
// opts.Timeout. If some key fails, a verbose check of the failing keys
// within opts.VerboseTimeout finds the longest linearizable prefixes, from
// which the explanation of the first failing key is built and, if
// opts.HTMLPath is set, the visualization is drawn with the history's fault
// windows as annotations.
//
// An error means the options or the history are malformed, or the
// visualization could not be written (ErrVisualization); in the last case
// the verdict is returned along with the error.
func CheckLinearizable(events []history.Event, opts Options) (Linearizability, error) {
	if err := wellFormed(events); err != nil {
		return Linearizability{}, err
	}
	c, err := NewKeyChecker(opts, 0)
	if err != nil {
		return Linearizability{}, err
	}
	byKey, keys, nemesis := splitByKey(events)
	// Largest keys first, so one big key does not start last.
	sort.SliceStable(keys, func(a, b int) bool { return len(byKey[keys[a]]) > len(byKey[keys[b]]) })
	for _, k := range keys {
		c.Add(k, byKey[k])
	}
	end := int64(0)
	if len(events) > 0 {
		end = events[len(events)-1].Index + 1
	}
	return c.Finish(nemesis, end)
}

// splitByKey splits a history into each key's events (keys in order of
// first appearance) and the nemesis's events, as a KeyChecker takes them.
func splitByKey(events []history.Event) (byKey map[string][]history.Event, keys []string, nemesis []history.Event) {
	byKey = map[string][]history.Event{}
	for _, e := range events {
		if e.Process == history.Nemesis {
			nemesis = append(nemesis, e)
			continue
		}
		if byKey[e.Key] == nil {
			keys = append(keys, e.Key)
		}
		byKey[e.Key] = append(byKey[e.Key], e)
	}
	return byKey, keys, nemesis
}

// checkKey checks one key by porcupine's fast check and returns its
// verdict and, when it is Invalid, its reach (see reachModel): where its
// search stopped, which is where the explaining search starts. A zero
// deadline means no limit; a key not decided by it is Unknown.
func (h *kvHistory) checkKey(m porcupine.Model, key string, deadline time.Time) (Validity, int64) {
	var timeout time.Duration
	if !deadline.IsZero() {
		if timeout = time.Until(deadline); timeout <= 0 {
			return Unknown, 0
		}
	}
	// A search cut short by the timeout may still be running when
	// porcupine returns, so reach is atomic; it is read only after a
	// search that ended.
	var reach atomic.Int64
	reach.Store(-1)
	switch porcupine.CheckOperationsTimeout(reachModel(m, &reach), h.operations(key), timeout) {
	case porcupine.Ok:
		return Valid, 0
	case porcupine.Illegal:
		return Invalid, reach.Load()
	}
	return Unknown, 0
}

// longestPartial picks, deterministically, the longest of porcupine's
// partial linearizations of one partition: longest first, then the
// smallest sequence of operation ids.
func longestPartial(partials [][]int) []int {
	var best []int
	for _, p := range partials {
		if best == nil || len(p) > len(best) || len(p) == len(best) && lessInts(p, best) {
			best = p
		}
	}
	return best
}

func lessInts(a, b []int) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}

// Fault annotations go on their own rows below the clients, labelled
// faultTag; overlapping windows take further rows ("faults 2", ...).
const faultTag = "faults"

// faultAnnotations turns fault windows into porcupine annotations on the
// index timeline: a window spans its opening and closing events (to the end
// of the history if never closed); an instant fault is a point. Scenario
// notes and script errors are drawn too, in another colour.
func faultAnnotations(windows []history.Window, end int64) []porcupine.Annotation {
	var laneEnds []int64 // per row, the last end placed there
	out := make([]porcupine.Annotation, 0, len(windows))
	for _, w := range windows {
		start, stop := w.StartIndex, w.EndIndex
		closed := secs(w.End)
		if stop < 0 {
			stop, closed = end, ""
		}
		lane := 0
		for lane < len(laneEnds) && laneEnds[lane] >= start {
			lane++
		}
		if lane == len(laneEnds) {
			laneEnds = append(laneEnds, 0)
		}
		laneEnds[lane] = stop
		tag := faultTag
		if lane > 0 {
			tag = fmt.Sprintf("%s %d", faultTag, lane+1)
		}
		details := "at " + secs(w.Start)
		switch {
		case closed == "":
			details = "from " + secs(w.Start) + ", still in effect when the history ended"
		case w.EndIndex != w.StartIndex:
			details = "from " + secs(w.Start) + " to " + closed
		}
		color := "#f6d5d5" // faults
		if notFaults[w.F] {
			color = "#d5e5f6" // notes and script errors: context, not faults
		}
		out = append(out, porcupine.Annotation{
			Tag:             tag,
			Start:           start,
			End:             stop,
			Description:     w.Label,
			Details:         w.Label + ", " + details,
			BackgroundColor: color,
		})
	}
	return out
}
