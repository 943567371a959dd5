package proc

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/splitbrain/splitbrain/harness/proc/node"
	"github.com/splitbrain/splitbrain/harness/world"
)

// convergePoll is how often Converge asks the members again.
const convergePoll = 250 * time.Millisecond

// Converge implements world.World through the KV protocol's GET /hash:
// every running member is asked for its index (the reference node's
// applied index, etcd's KV revision) and its state hash at it, again and
// again, until all report the same pair or bound passes. A system whose
// nodes do not serve /hash (HTTP 501 or 404) makes the check unavailable.
// Members that are not running (a restart that failed) are listed but not
// compared.
func (w *World) Converge(bound time.Duration) world.Convergence {
	start := time.Now()
	var last []world.MemberState
	var split string   // a disagreement at one index, if ever seen
	var members string // the membership check at the last poll whose data agreed
	for {
		states, unsupported := w.hashes()
		if unsupported != nil {
			return world.Convergence{Detail: fmt.Sprintf("not available: %s does not serve GET /hash (%v)", w.systemName(), unsupported),
				Waited: time.Since(start)}
		}
		last, members = states, ""
		ok, why := agree(states)
		if ok {
			// The same data: the same membership too, which the
			// replicated log carries like any command.
			var same bool
			same, members = agreeMembers(w.memberships(states))
			if same {
				return world.Convergence{Available: true, Converged: true, Members: states, Waited: time.Since(start),
					Detail: why + "; " + members}
			}
			why = members
		}
		if strings.HasPrefix(why, "diverged") {
			split = why
		}
		if time.Since(start) >= bound {
			break
		}
		time.Sleep(convergePoll)
	}
	ok, why := agree(last)
	if ok && !strings.HasPrefix(members, "diverged") {
		// The data agree; the statuses could not be compared at one
		// applied index in time: nothing seen against the membership.
		return world.Convergence{Available: true, Converged: true, Members: last, Waited: time.Since(start),
			Detail: why + "; " + members}
	}
	if ok {
		why = members
	}
	if split != "" && split != why {
		why += "; earlier " + split
	}
	return world.Convergence{Available: true, Members: last, Waited: time.Since(start),
		Detail: fmt.Sprintf("the members did not converge within %v: %s", bound, why)}
}

// hashes asks every member for its state at once. unsupported is set when
// a member says it does not serve /hash.
func (w *World) hashes() (states []world.MemberState, unsupported error) {
	ids := w.Nodes()
	states = make([]world.MemberState, len(ids))
	var wg sync.WaitGroup
	var mu sync.Mutex
	for i, id := range ids {
		states[i].Node = id
		n := w.lookup(id)
		if n == nil || !w.answering(n) {
			states[i].Err = "not running"
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			h, err := w.kv.Hash(ctx, n.apiAddr)
			if errors.Is(err, node.ErrNotImplemented) {
				mu.Lock()
				unsupported = err
				mu.Unlock()
				return
			}
			if err != nil {
				states[i].Err = err.Error()
				return
			}
			states[i].Index, states[i].Hash, states[i].Detail = h.Index, h.Hash, h.Detail
		}()
	}
	wg.Wait()
	return states, unsupported
}

// agree reports whether every running member reported the same index and
// hash, and describes the states otherwise: "diverged: …" when two
// members differ at the same index (a real split), else who is behind or
// silent.
func agree(states []world.MemberState) (bool, string) {
	type key struct {
		index uint64
		hash  string
	}
	groups := map[key][]string{}
	var silent, down []string
	for _, s := range states {
		switch {
		case s.Err == "not running":
			down = append(down, s.Node.String())
		case s.Err != "":
			silent = append(silent, fmt.Sprintf("%s (%s)", s.Node, s.Err))
		default:
			k := key{s.Index, s.Hash}
			groups[k] = append(groups[k], s.Node.String())
		}
	}
	var keys []key
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].index != keys[j].index {
			return keys[i].index < keys[j].index
		}
		return keys[i].hash < keys[j].hash
	})
	notRunning := ""
	if len(down) > 0 {
		notRunning = fmt.Sprintf("; not running, not compared: %s", strings.Join(down, " "))
	}
	if len(silent) == 0 && len(keys) == 1 {
		k := keys[0]
		return true, fmt.Sprintf("%d members at index %d with hash %s%s", len(groups[k]), k.index, k.hash, notRunning)
	}
	if len(silent) == 0 && len(keys) == 0 {
		return false, "no member is running" + notRunning
	}
	var parts []string
	for i, k := range keys {
		parts = append(parts, fmt.Sprintf("%s at index %d hash %s", strings.Join(groups[k], " "), k.index, k.hash))
		if i > 0 && keys[i-1].index == k.index {
			return false, fmt.Sprintf("diverged: %s and %s hold different data at the same index %d",
				strings.Join(groups[keys[i-1]], " "), strings.Join(groups[k], " "), k.index)
		}
	}
	if len(silent) > 0 {
		parts = append(parts, "no answer from "+strings.Join(silent, ", "))
	}
	return false, strings.Join(parts, "; ") + notRunning
}

// memberStatus is what a member says of the membership: its applied index
// and the voters and learners as it has applied them (GET /status).
type memberStatus struct {
	node             world.NodeID
	applied          uint64
	voters, learners []uint64 // sorted
	err              string
}

// memberships asks the members that reported a state for their status.
func (w *World) memberships(states []world.MemberState) []memberStatus {
	var out []memberStatus
	for _, s := range states {
		if s.Err != "" {
			continue
		}
		ms := memberStatus{node: s.Node}
		n := w.lookup(s.Node)
		if n == nil {
			ms.err = "not running"
			out = append(out, ms)
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		st, err := w.kv.Status(ctx, n.apiAddr)
		cancel()
		if err != nil {
			ms.err = err.Error()
		} else {
			ms.applied, ms.voters, ms.learners = st.Applied, slices.Sorted(slices.Values(st.Voters)), slices.Sorted(slices.Values(st.Learners))
		}
		out = append(out, ms)
	}
	return out
}

// agreeMembers reports whether members that hold the same data (agree)
// also report the same membership. A member whose status names no voter
// does not report its membership (etcd's learners) and is not compared. Their statuses must be taken at one
// applied index to be compared: otherwise (a member applied something
// since, an answer missing) they are not judged yet. Two memberships at
// one applied index are a divergence: the configuration is part of the
// replicated state (a node that used a change before it committed, or
// kept one whose entry was overwritten).
func agreeMembers(sts []memberStatus) (bool, string) {
	type key struct{ voters, learners string }
	groups := map[key][]string{}
	var keys []key
	applied := map[uint64]bool{}
	var silent []string
	for _, s := range sts {
		if s.err != "" {
			return false, fmt.Sprintf("membership not compared: no status from %s (%s)", s.node, s.err)
		}
		if len(s.voters) == 0 {
			// Every configuration has a voter: an empty one is a member
			// that does not report its membership (etcd's learners).
			silent = append(silent, s.node.String())
			continue
		}
		applied[s.applied] = true
		k := key{fmt.Sprint(s.voters), fmt.Sprint(s.learners)}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], s.node.String())
	}
	if len(applied) > 1 {
		return false, "membership not compared: the members' statuses are at different applied indexes"
	}
	unreported := ""
	if len(silent) > 0 {
		unreported = fmt.Sprintf(" (no membership reported by %s)", strings.Join(silent, " "))
	}
	if len(keys) <= 1 {
		if len(keys) == 0 {
			return true, "no membership to compare" + unreported
		}
		return true, fmt.Sprintf("the same membership: voters %s learners %s%s", keys[0].voters, keys[0].learners, unreported)
	}
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s report voters %s learners %s", strings.Join(groups[k], " "), k.voters, k.learners)
	}
	return false, "diverged: members at the same data and applied index report different memberships: " + strings.Join(parts, "; ") + unreported
}
