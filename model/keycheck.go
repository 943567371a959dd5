package model

import (
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/splitbrain/splitbrain/harness/history"
)

// MaxKeptFailingKeys bounds the failing keys whose operations a
// KeyChecker keeps to explain and draw: the first ones by name. Every
// failing key is counted; the diagram says how many it leaves out.
const MaxKeptFailingKeys = 64

// KeyChecker checks a history key by key, as the caller hands it each
// key's events: the linearizability check of a history too large to hold
// in memory, read in passes (harness reads the file once to learn where
// each key's last event is, and hands a key over as soon as it is
// complete). Keys are checked by porcupine's fast check on worker
// goroutines while the caller reads on; Finish waits for them and
// explains the first failing key. Add blocks while every worker is busy
// and one key waits, so memory holds the keys being read, checked and
// waiting, and the operations of the failing keys kept to explain them.
//
// The verdict of a key does not depend on the rest of the history, so the
// result is the same, byte for byte, whatever the number of workers or the
// order keys are handed over in; CheckLinearizable is a KeyChecker fed
// from memory.
type KeyChecker struct {
	opts     Options
	deadline time.Time
	jobs     chan keyJob
	wg       sync.WaitGroup
	waitOnce sync.Once

	mu      sync.Mutex
	results map[string]KeyResult
	failing map[string][]history.Event // the first MaxKeptFailingKeys failing keys by name
	nFailed int
	err     error
}

type keyJob struct {
	key    string
	events []history.Event
}

// NewKeyChecker starts a checker with workers goroutines (≤ 0: one per
// CPU). opts.Timeout counts from now.
func NewKeyChecker(opts Options, workers int) (*KeyChecker, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	c := &KeyChecker{opts: opts, results: map[string]KeyResult{}, failing: map[string][]history.Event{}}
	if opts.Timeout > 0 {
		c.deadline = time.Now().Add(opts.Timeout)
	}
	if !opts.Deadline.IsZero() && (c.deadline.IsZero() || opts.Deadline.Before(c.deadline)) {
		c.deadline = opts.Deadline
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	c.jobs = make(chan keyJob, 1)
	for range workers {
		c.wg.Add(1)
		go c.work()
	}
	return c, nil
}

// Add hands over every client event of key (invocations and completions,
// in history order, each completion with its invocation) to be checked.
// The checker keeps events (for a failing key) and the caller must not
// change them afterwards. Each key is added once.
func (c *KeyChecker) Add(key string, events []history.Event) {
	c.jobs <- keyJob{key, events}
}

// AddUndecided records key as not decided: its events could not all be
// read in time (the check's deadline passed).
func (c *KeyChecker) AddUndecided(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.results[key] = KeyResult{Key: key, Valid: Unknown}
}

func (c *KeyChecker) work() {
	defer c.wg.Done()
	for j := range c.jobs {
		r, err := c.checkOne(j)
		c.mu.Lock()
		if err != nil && c.err == nil {
			c.err = err
		}
		if _, dup := c.results[j.key]; dup && c.err == nil {
			c.err = fmt.Errorf("model: key %q handed to the checker twice", j.key)
		}
		c.results[j.key] = r
		if r.Valid == Invalid {
			c.nFailed++
			c.failing[j.key] = j.events
			if len(c.failing) > MaxKeptFailingKeys {
				last := ""
				for k := range c.failing {
					last = max(last, k)
				}
				delete(c.failing, last)
			}
		}
		c.mu.Unlock()
	}
}

func (c *KeyChecker) checkOne(j keyJob) (KeyResult, error) {
	h, err := newKVHistory(j.events, c.opts.Initial)
	if err != nil {
		return KeyResult{Key: j.key, Valid: Unknown}, err
	}
	m := kvModel(h.values, h.initial)
	m.Partition = nil // one key: partitioning again is wasted work
	return KeyResult{Key: j.key, Valid: h.checkKey(m, j.key, c.deadline), Ops: len(h.checked[j.key])}, nil
}

// Wait waits until every key handed over is checked: the fast check is
// done, and Finish only explains. No key may be added after it.
func (c *KeyChecker) Wait() {
	c.waitOnce.Do(func() {
		close(c.jobs)
		c.wg.Wait()
	})
}

// Finish waits for the keys handed over and returns the verdict. nemesis
// are the history's fault events (for the explanation's fault windows
// and the diagram's annotations) and end is the index past its last event.
// When a key fails, the explaining check and the visualization run as
// CheckLinearizable describes.
func (c *KeyChecker) Finish(nemesis []history.Event, end int64) (Linearizability, error) {
	c.Wait()
	if c.err != nil {
		return Linearizability{}, c.err
	}
	keys := make([]string, 0, len(c.results))
	for k := range c.results {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	res := Linearizability{Valid: Valid, Keys: make([]KeyResult, len(keys))}
	for i, k := range keys {
		res.Keys[i] = c.results[k]
		res.Valid = res.Valid.And(res.Keys[i].Valid)
	}
	if c.nFailed == 0 {
		return res, nil
	}
	failing := make([]string, 0, len(c.failing))
	for k := range c.failing {
		failing = append(failing, k)
	}
	sort.Strings(failing)
	res.FailingKeys = c.nFailed
	res.FirstFailingKey = failing[0]
	return c.explain(res, failing, nemesis, end)
}

// explain runs the verbose check on the failing keys kept, explains the
// first and draws the diagram.
func (c *KeyChecker) explain(res Linearizability, failing []string, nemesis []history.Event, end int64) (Linearizability, error) {
	opts := c.opts
	var events []history.Event
	for _, k := range failing {
		events = append(events, c.failing[k]...)
	}
	slices.SortFunc(events, func(a, b history.Event) int { return int(a.Index - b.Index) })
	h, err := newKVHistoryEnd(events, opts.Initial, end)
	if err != nil {
		return res, err
	}
	m := kvModel(h.values, h.initial)
	// The verbose check: only the first failing key is needed to explain;
	// all of them to draw.
	verbose := failing[:1]
	if opts.HTMLPath != "" {
		verbose = failing
	}
	budget := opts.VerboseTimeout
	if !opts.Deadline.IsZero() {
		if budget = min(budget, time.Until(opts.Deadline)); budget <= 0 {
			res.VerboseTimedOut = true
			res.Explanation = fmt.Sprintf("Key %s is not linearizable. (Not explained: the check's deadline passed before the explaining check could start.)", failing[0])
			return res, nil
		}
	}
	result, info := porcupine.CheckOperationsVerbose(m, h.operations(verbose...), budget)
	res.VerboseTimedOut = result == porcupine.Unknown
	windows := history.FaultWindows(nemesis)
	var prefix []int
	if partials := info.PartialLinearizations(); len(partials) > 0 {
		prefix = longestPartial(partials[0])
	}
	ex := explainKey(h, failing[0], prefix, windows)
	res.Explanation, res.Anomaly = ex.text, ex.anomaly
	if ex.blamed != nil {
		i := ex.blamed.inv.Index
		res.BlamedIndex = &i
		if ex.blamed.comp != nil {
			res.AnomalyTime = ex.blamed.comp.Time
		}
	}
	if res.VerboseTimedOut {
		res.Explanation += fmt.Sprintf(" (The explaining check ran out of its %v budget, so this rests on a partial search.)", budget)
	}
	if opts.HTMLPath != "" && (opts.Deadline.IsZero() || time.Now().Before(opts.Deadline)) {
		info.AddAnnotations(faultAnnotations(windows, h.end))
		full, err := writeDiagrams(m, info, diagramKeys{First: failing[0], Count: len(failing), Failing: res.FailingKeys}, opts.HTMLPath)
		if err != nil {
			return res, fmt.Errorf("%w %s: %w", ErrVisualization, opts.HTMLPath, err)
		}
		res.HTML, res.HTMLFull = filepath.Base(opts.HTMLPath), full
	}
	return res, nil
}

// wellFormed checks what newKVHistory checks across keys — indexes
// increase strictly, every client event has a key and a known f, and
// each completion matches its process's open invocation — so that a
// history split by key is split right.
func wellFormed(events []history.Event) error {
	type open struct {
		f, key string
		index  int64
	}
	opened := map[history.Process]open{}
	last := int64(-1)
	for i := range events {
		e := &events[i]
		if i > 0 && e.Index <= last {
			return fmt.Errorf("model: history index %d follows index %d: indexes must increase strictly", e.Index, last)
		}
		last = e.Index
		if e.Process == history.Nemesis {
			continue
		}
		if e.Key == "" {
			return fmt.Errorf("model: history index %d: client %s without a key", e.Index, e.F)
		}
		if e.F != history.FRead && e.F != history.FWrite && e.F != history.FCAS && e.F != history.FDelete {
			return fmt.Errorf("model: history index %d: unknown client operation %q", e.Index, e.F)
		}
		o, isOpen := opened[e.Process]
		if e.Type == history.Invoke {
			if isOpen {
				return fmt.Errorf("model: history index %d: process %s invokes %s while its %s at index %d is still open",
					e.Index, e.Process, e.F, o.f, o.index)
			}
			opened[e.Process] = open{e.F, e.Key, e.Index}
			continue
		}
		if !isOpen {
			return fmt.Errorf("model: history index %d: process %s completes %s with no open invoke", e.Index, e.Process, e.F)
		}
		if o.f != e.F || o.key != e.Key {
			return fmt.Errorf("model: history index %d: completion %s %q does not match the open invoke %s %q at index %d",
				e.Index, e.F, e.Key, o.f, o.key, o.index)
		}
		delete(opened, e.Process)
	}
	return nil
}
