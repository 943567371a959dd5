package sim

import (
	"fmt"
	"hash/fnv"
	"slices"

	"github.com/splitbrain/splitbrain/harness/raftnode"
	"github.com/splitbrain/splitbrain/harness/world"
	pb "go.etcd.io/raft/v3/raftpb"
)

// Invariant names, as reported.
const (
	ElectionSafety     = "election-safety"        // at most one leader per term
	LogMatching        = "log-matching"           // same index and term ⇒ same entry and same prefix
	StateMachineSafety = "state-machine-safety"   // no two nodes apply different entries (or reach different states) at one index
	LeaderCompleteness = "leader-completeness"    // a leader holds every entry committed in an earlier term
	DurableCommitted   = "committed-entry-kept"   // a node restarted from a disk that promised its data still holds every entry it applied
	PersistBeforeSend  = "persist-before-send"    // every message a node sends is backed by its durable state
	RejoinAfterLoss    = "rejoin-after-data-loss" // a node whose durable state was lost does not take part under its old ID
	HardStateKept      = "hard-state-kept"        // a node's hard state never goes back: term, vote in a term, commit index
	NoPanic            = "no-panic"               // a node never panics: whatever the faults, it answers fail or unknown, or refuses to start
	MembershipAgreed   = "membership-agreement"   // nodes that report the same applied index report the same membership
)

// Invariants lists the raft safety properties the sim checks as it runs.
var Invariants = []string{ElectionSafety, LogMatching, StateMachineSafety, LeaderCompleteness, DurableCommitted, PersistBeforeSend, RejoinAfterLoss, HardStateKept, NoPanic, MembershipAgreed}

// MechanismInvariants are the invariants that watch how a node does its
// work (what it persists before it speaks, what it keeps across a
// restart, whether it comes back after losing its disk) rather than what
// a user of the cluster could see. They are cheap and exact, but only the
// sim can check them; Config.Skip turns them off to measure what the
// consequence checks alone (election safety, log matching, state-machine
// safety, leader completeness, membership agreement, no panic, and the
// history's linearizability) catch.
var MechanismInvariants = []string{PersistBeforeSend, DurableCommitted, RejoinAfterLoss, HardStateKept}

// ValidInvariant reports an error for a name that is not an invariant.
func ValidInvariant(name string) error {
	for _, n := range Invariants {
		if n == name {
			return nil
		}
	}
	return fmt.Errorf("unknown invariant %q (want one of %v)", name, Invariants)
}

type entryID struct{ index, term uint64 }

type entryFacts struct {
	term     uint64
	hash     uint64
	prevTerm uint64
	node     world.NodeID // who first wrote it
}

// commitFacts is the highest index a node of some term T reported
// committed while in term T (its hard state): every entry up to it was
// committed in term T at the latest.
type commitFacts struct {
	term      uint64 // T
	index     uint64
	entryTerm uint64 // the term of the entry at index
	node      world.NodeID
}

// appliedFacts is what the first node to apply an index (an entry, or a
// snapshot ending there) applied: the entry's term, and the state's hash
// after it when the node reports one.
type appliedFacts struct {
	term      uint64
	stateHash uint64
	node      world.NodeID
}

// memberFacts is the membership the first node to report an applied
// index reported with it.
type memberFacts struct {
	voters, learners []uint64 // sorted
	node             world.NodeID
}

// invariants checks raft's safety properties against everything the nodes
// write and apply. It is omniscient: it sees every node's disk.
type invariants struct {
	w       *World
	leaders map[uint64]world.NodeID // term -> leader
	entries map[uint64][]entryFacts // index -> every entry written there by anyone, one per term
	applies map[uint64]appliedFacts // index -> what was applied there
	members map[uint64]memberFacts  // applied index -> the membership first reported there
	// The records below these indexes have been pruned (see prune), and
	// the calls left before the next pruning.
	entriesFrom, appliesFrom uint64
	untilPrune               int
	commits                  map[uint64]commitFacts // term -> the highest index known committed in it
	checks                   map[string]int         // how many times each invariant was checked
	skip                     map[string]bool        // invariants not enforced (Config.Skip)
	reports                  raftnode.Reports       // what the nodes report (Config.System)
}

func newInvariants(w *World) *invariants {
	iv := &invariants{w: w, leaders: map[uint64]world.NodeID{}, entries: map[uint64][]entryFacts{},
		applies: map[uint64]appliedFacts{}, members: map[uint64]memberFacts{}, commits: map[uint64]commitFacts{}, checks: map[string]int{}, skip: map[string]bool{},
		reports: w.cfg.System.Reports}
	for _, n := range w.cfg.Skip {
		iv.skip[n] = true
	}
	w.loop.nodePanic = iv.panicked
	return iv
}

// panicked is a panic raised by a node's own code (raft's, or the node's
// checks of itself): the node would crash. No fault the harness injects
// is one a correct node may die of — it fails or leaves unknown what it
// cannot do, and refuses to start from a disk it cannot trust — so it is
// a violation, with the panic and the stack in the node's log. Nil when
// the invariant is skipped: the run then ends with an error, as any
// panic does.
func (iv *invariants) panicked(id world.NodeID, r any, stack []byte) error {
	if iv.skip[NoPanic] {
		return nil
	}
	e := &world.InvariantError{Invariant: NoPanic, Nodes: []world.NodeID{id}, Time: iv.w.loop.now,
		Detail: fmt.Sprintf("%s panicked: %v", id, r)}
	if sn := iv.w.nodes[id]; sn != nil {
		sn.logf("INVARIANT VIOLATED: %v\n%s", e, stack)
	}
	return e
}

func (iv *invariants) violate(inv string, nodes []world.NodeID, term, index uint64, format string, args ...any) {
	if iv.w.loop.halted != nil || iv.skip[inv] {
		return
	}
	iv.w.loop.halted = &world.InvariantError{Invariant: inv, Nodes: nodes, Term: term, Index: index,
		Time: iv.w.loop.now, Detail: fmt.Sprintf(format, args...)}
	for _, n := range nodes {
		if sn := iv.w.nodes[n]; sn != nil {
			sn.logf("INVARIANT VIOLATED: %v", iv.w.loop.halted)
		}
	}
}

// written checks a write before it reaches the node's disk: its hard
// state against the one written before, and log matching for its entries
// against the node's log as written so far (the entry before each must
// have the term recorded when that (index, term) was first seen).
func (iv *invariants) written(sn *simNode, wr *raftnode.Write) {
	if wr.HardState != nil {
		iv.hardState(sn, wr.HardState)
	}
	if len(wr.Entries) == 0 {
		return
	}
	iv.checks[LogMatching]++
	prevTerm, _ := sn.disk.written.Term(wr.Entries[0].GetIndex() - 1)
	if !isEmptySnapWrite(wr) {
		if s := wr.Snapshot.GetMetadata(); s.GetIndex() == wr.Entries[0].GetIndex()-1 {
			prevTerm = s.GetTerm()
		}
	}
	iv.maybePrune()
	for _, e := range wr.Entries {
		id := entryID{e.GetIndex(), e.GetTerm()}
		h := fnv.New64a()
		h.Write([]byte{byte(e.GetType())})
		h.Write(e.GetData())
		facts := entryFacts{term: id.term, hash: h.Sum64(), prevTerm: prevTerm, node: sn.id}
		if id.index < iv.entriesFrom {
			panic(fmt.Sprintf("sim: %s wrote entry %d (term %d), below %d, where the invariant checker pruned its records: no node should ever write there again",
				sn.id, id.index, id.term, iv.entriesFrom))
		}
		if seen, ok := iv.entry(id); ok {
			if seen.hash != facts.hash {
				iv.violate(LogMatching, []world.NodeID{seen.node, sn.id}, id.term, id.index,
					"two different entries with index %d and term %d (written by %s and %s)", id.index, id.term, seen.node, sn.id)
				return
			}
			if seen.prevTerm != facts.prevTerm && facts.prevTerm != 0 && seen.prevTerm != 0 {
				iv.violate(LogMatching, []world.NodeID{seen.node, sn.id}, id.term, id.index,
					"entry %d/%d follows term %d on %s but term %d on %s", id.index, id.term, seen.prevTerm, seen.node, facts.prevTerm, sn.id)
				return
			}
		} else {
			iv.entries[id.index] = append(iv.entries[id.index], facts)
		}
		prevTerm = e.GetTerm()
	}
}

// entry is what was first written as (index, term), if anything was.
func (iv *invariants) entry(id entryID) (entryFacts, bool) {
	for _, f := range iv.entries[id.index] {
		if f.term == id.term {
			return f, true
		}
	}
	return entryFacts{}, false
}

// pruneEvery is how many writes and applies go by between prunings (the
// package's tests prune at every call).
var pruneEvery = defaultPruneEvery

const defaultPruneEvery = 4096

// maybePrune prunes every pruneEvery calls.
func (iv *invariants) maybePrune() {
	if iv.untilPrune--; iv.untilPrune > 0 {
		return
	}
	iv.untilPrune = pruneEvery
	iv.prune()
}

// prune forgets the records of entries and applies that can never be
// compared again, so that the checker's memory does not grow with the
// length of the run. Let S be the lowest durable snapshot index among the
// members. Nothing below S is ever written or applied again:
//
//   - A member writes entries only above its raft commit index (a
//     follower refuses appends below it, raft panics on a conflict at or
//     below it, a leader appends past its last index), which is at least
//     its durable commit (raft restarts from it), which is at least its
//     durable snapshot: so at least S. A node added later starts empty and
//     writes what a leader sends it: a snapshot of the leader's, then
//     entries after it. A leader's log begins after its snapshot, which is
//     at least its durable snapshot: again at least S.
//   - A member applies only above what it has applied, which after a
//     restart is its durable snapshot; a node added later applies the
//     leader's snapshot and what follows. And a restarted member is asked
//     to have kept only what it applied above its durable snapshot.
//
// Durable snapshots only grow, and a member that joins later starts at
// 0, so S computed now bounds every later write and apply. Nodes that are
// no longer members are stopped for good (Restart refuses them). A member
// that lost its durable state (a wipe) has snapshot 0 and holds S down
// from then on; had it been pruned past before, coming back under its old
// ID would let it write and apply below S — but that is the
// rejoin-after-data-loss violation, found at its first message, so
// nothing is pruned while that invariant is skipped. A record looked up
// below where it was pruned panics: the reasoning above is checked by
// every test of the package, which prunes at every call.
func (iv *invariants) prune() {
	if iv.skip[RejoinAfterLoss] {
		return
	}
	first := true
	var snap uint64
	for _, id := range iv.w.order {
		sn := iv.w.nodes[id]
		if !sn.member {
			continue
		}
		if s := sn.disk.durable.Snapshot.GetMetadata().GetIndex(); first || s < snap {
			snap = s
		}
		first = false
	}
	for ; iv.entriesFrom < snap; iv.entriesFrom++ {
		delete(iv.entries, iv.entriesFrom)
	}
	for ; iv.appliesFrom < snap; iv.appliesFrom++ {
		delete(iv.applies, iv.appliesFrom)
		delete(iv.members, iv.appliesFrom)
	}
}

func isEmptySnapWrite(wr *raftnode.Write) bool {
	return wr.Snapshot == nil || wr.Snapshot.GetMetadata().GetIndex() == 0
}

// hardState checks that a node's hard state never goes back (a wipe
// excepted: the disk then holds none). raft's term only grows, its vote
// is fixed once cast in a term, and its commit index only grows; it
// writes them before acting on them, and a restarted node starts from
// what it wrote. A node that writes a lower term, another vote in the
// same term or a lower commit index has forgotten what it promised —
// typically across a restart whose raft storage did not start from the
// durable state.
func (iv *invariants) hardState(sn *simNode, hs *pb.HardState) {
	old := sn.disk.written.HardState
	if raftnode.IsEmptyHardState(old) {
		return
	}
	iv.checks[HardStateKept]++
	var what string
	switch {
	case hs.GetTerm() < old.GetTerm():
		what = fmt.Sprintf("term %d after term %d", hs.GetTerm(), old.GetTerm())
	case hs.GetTerm() == old.GetTerm() && old.GetVote() != 0 && hs.GetVote() != old.GetVote():
		what = fmt.Sprintf("vote %s in term %d after voting %s in it", voteName(hs.GetVote()), hs.GetTerm(), voteName(old.GetVote()))
	case hs.GetCommit() < old.GetCommit():
		what = fmt.Sprintf("commit index %d after %d", hs.GetCommit(), old.GetCommit())
	default:
		return
	}
	since := ""
	if sn.restarts > 0 {
		since = fmt.Sprintf(" (it restarted at %v from a disk holding that state: a restarted node starts raft from its durable state)", sn.startedAt)
	}
	iv.violate(HardStateKept, []world.NodeID{sn.id}, hs.GetTerm(), hs.GetCommit(),
		"%s wrote hard state term %d vote %s commit %d over term %d vote %s commit %d: %s; it forgot what it had written%s",
		sn.id, hs.GetTerm(), voteName(hs.GetVote()), hs.GetCommit(), old.GetTerm(), voteName(old.GetVote()), old.GetCommit(), what, since)
}

// voteName is a hard state's vote as people read it: n4, or none.
func voteName(v uint64) string {
	if v == 0 {
		return "none"
	}
	return world.NodeID(v).String()
}

// applied checks state machine safety: every node applies the same entry
// at an index (log matching makes an entry's term name its contents), and
// — when nodes report state hashes — reaches the same state there. A
// snapshot ending at an index counts as applying the entry there.
func (iv *invariants) applied(sn *simNode, a raftnode.Applied) {
	iv.maybePrune()
	iv.checks[StateMachineSafety]++
	if a.Index < iv.appliesFrom {
		panic(fmt.Sprintf("sim: %s applied index %d, below %d, where the invariant checker pruned its records: no node should ever apply there again",
			sn.id, a.Index, iv.appliesFrom))
	}
	seen, ok := iv.applies[a.Index]
	if !ok {
		iv.applies[a.Index] = appliedFacts{term: a.Term, stateHash: a.StateHash, node: sn.id}
		return
	}
	nodes := []world.NodeID{seen.node, sn.id}
	if seen.term != a.Term {
		what := "applied entry"
		if a.Snapshot {
			what = "installed a snapshot ending at entry"
		}
		iv.violate(StateMachineSafety, nodes, a.Term, a.Index,
			"%s %s %d from term %d, but %s applied a different entry (term %d) there", sn.id, what, a.Index, a.Term, seen.node, seen.term)
		return
	}
	if iv.reports.StateHash && seen.stateHash != a.StateHash {
		what := "after applying entry"
		if a.Snapshot {
			what = "after installing a snapshot at"
		}
		other := seen.node.String() + "'s"
		if seen.node == sn.id {
			other = "its own before it restarted"
		}
		iv.violate(StateMachineSafety, nodes, a.Term, a.Index,
			"%s's state %s %d (hash %016x) differs from %s at that index (hash %016x)", sn.id, what, a.Index, a.StateHash, other, seen.stateHash)
	}
}

// membership checks that the membership is part of the replicated state:
// a node's status (its applied index, and the voters and learners as it
// has applied them) must name, at that index, the membership every node
// named there, itself included. A configuration is replicated by the log
// like any command: a node that uses one before it applies it, or keeps
// one whose entry was overwritten, differs from the others at the same
// index — an operator asking the members who is in the cluster gets
// different answers, and the node counts its quorums over the wrong
// voters. Checked after every input, for nodes that report what they
// apply (their applied index is then exact).
func (iv *invariants) membership(sn *simNode, st raftnode.Status) {
	if st.Applied < iv.appliesFrom || st.Applied == 0 || len(st.Voters) == 0 {
		// Pruned (see prune), nothing applied yet, or no membership
		// reported (every configuration has a voter).
		return
	}
	iv.checks[MembershipAgreed]++
	voters, learners := sortedIDs(st.Voters), sortedIDs(st.Learners)
	seen, ok := iv.members[st.Applied]
	if !ok {
		iv.members[st.Applied] = memberFacts{voters: slices.Clone(voters), learners: slices.Clone(learners), node: sn.id}
		return
	}
	if !slices.Equal(seen.voters, voters) || !slices.Equal(seen.learners, learners) {
		other, nodes := seen.node.String(), []world.NodeID{seen.node, sn.id}
		if seen.node == sn.id {
			other, nodes = "it, earlier,", nodes[1:]
		}
		iv.violate(MembershipAgreed, nodes, st.Term, st.Applied,
			"%s reports voters %v learners %v at applied index %d, but %s reported voters %v learners %v there",
			sn.id, voters, learners, st.Applied, other, seen.voters, seen.learners)
	}
}

// sortedIDs returns ids sorted: ids itself if it is, else a sorted copy.
func sortedIDs(ids []uint64) []uint64 {
	if slices.IsSorted(ids) {
		return ids
	}
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}

// committed records what a write's hard state says is committed. A node
// in term T whose commit index is c knows entries up to c committed by a
// leader of term T or earlier (a leader commits in its own term; a
// follower learns the commit index from the leader of its current term,
// and keeps it when it moves to a later term): so every entry up to c was
// committed in term T at the latest. The lowest such term is what Leader
// Completeness binds. Called after the write is in the node's page cache,
// so the entry at c is in its written log.
func (iv *invariants) committed(sn *simNode, wr *raftnode.Write) {
	hs := wr.HardState
	if hs == nil || hs.GetCommit() == 0 {
		return
	}
	term, c := hs.GetTerm(), hs.GetCommit()
	if f, ok := iv.commits[term]; ok && f.index >= c {
		return
	}
	et, ok := sn.disk.written.Term(c)
	if !ok {
		// A commit index beyond the node's log (or inside its snapshot):
		// raft never writes one; nothing to learn from it.
		return
	}
	iv.commits[term] = commitFacts{term: term, index: c, entryTerm: et, node: sn.id}
}

// committedBefore returns the highest index known committed in a term
// before term (with the earliest term it is known committed in), if any.
func (iv *invariants) committedBefore(term uint64) (commitFacts, bool) {
	var best commitFacts
	found := false
	for t, f := range iv.commits {
		if t < term && (!found || f.index > best.index || f.index == best.index && t < best.term) {
			best, found = f, true
		}
	}
	return best, found
}

// observeStatus checks election safety and, for a node newly seen as
// leader of a term, leader completeness.
func (iv *invariants) observeStatus(sn *simNode) {
	var term uint64
	var leader bool
	sn.call(func(n raftnode.Node) { term, leader = n.Leading() })
	if !leader {
		return
	}
	iv.checks[ElectionSafety]++
	prev, ok := iv.leaders[term]
	if ok && prev != sn.id {
		iv.violate(ElectionSafety, []world.NodeID{prev, sn.id}, term, 0, "%s and %s are both leaders of term %d", prev, sn.id, term)
		return
	}
	if ok {
		return
	}
	st := sn.status()
	if st.Term != term {
		panic(fmt.Sprintf("sim: %s leads term %d by its last Ready but term %d by its status", sn.id, term, st.Term))
	}
	iv.leaders[st.Term] = sn.id
	// Leader completeness: an entry committed in term T is in the log of
	// every leader of a term after T. Not of T or before: a candidate of
	// an older term whose vote grants arrive late may still win after a
	// later leader committed entries it lacks (it can commit nothing). By
	// log matching, holding the highest entry committed before this term
	// means holding all of them.
	iv.checks[LeaderCompleteness]++
	f, ok := iv.committedBefore(term)
	if !ok {
		return
	}
	c := f.index
	log := sn.disk.written
	if si := log.Snapshot.GetMetadata().GetIndex(); si > c {
		return // compacted away: the snapshot holds it (state-machine safety compares snapshots)
	}
	got, has := log.Term(c)
	if !has || got != f.entryTerm {
		iv.violate(LeaderCompleteness, []world.NodeID{sn.id, f.node}, term, c,
			"%s became leader of term %d without entry %d (term %d), committed in term %d (%s's commit index covered it then); its log has term %d there, last index %d",
			sn.id, term, c, f.entryTerm, f.term, f.node, got, log.LastIndex())
	}
}

// restarted checks that a restarted node still holds, durably, every
// entry it had applied before it crashed — when its crash promised that:
// a process crash (KeepWritten) keeps everything written, a power failure
// (LoseUnsynced, TornWrite) everything fsynced, and a node applies only
// entries its own log holds durably (the Ready contract). A wipe promises
// nothing: that a wiped disk lacks entries is the fault, not a finding
// (whether the node may come back at all is RejoinAfterLoss's business).
//
// It also checks that the node starts from the hard state its disk holds
// (hard-state-kept): raft's term and commit index, as the node's Status
// reports them, are at least the durable ones.
func (iv *invariants) restarted(sn *simNode) {
	if hs := sn.disk.durable.HardState; !raftnode.IsEmptyHardState(hs) && sn.up() {
		iv.checks[HardStateKept]++
		if st := sn.status(); st.Term < hs.GetTerm() || st.Commit < hs.GetCommit() {
			iv.violate(HardStateKept, []world.NodeID{sn.id}, hs.GetTerm(), hs.GetCommit(),
				"%s restarted at term %d, commit index %d, but its disk holds term %d vote %s commit %d: it did not start raft from its durable state",
				sn.id, st.Term, st.Commit, hs.GetTerm(), voteName(hs.GetVote()), hs.GetCommit())
		}
	}
	if sn.lastFate == world.Wipe {
		return
	}
	iv.checks[DurableCommitted]++
	d := sn.disk.durable
	want := sn.appliedBeforeCrash
	if want == 0 || d.Snapshot.GetMetadata().GetIndex() >= want {
		return
	}
	if want < iv.appliesFrom {
		panic(fmt.Sprintf("sim: %s restarted having applied %d, below %d, where the invariant checker pruned its records", sn.id, want, iv.appliesFrom))
	}
	got, has := d.Term(want)
	if f, ok := iv.applies[want]; ok && (!has || got != f.term) {
		iv.violate(DurableCommitted, []world.NodeID{sn.id}, f.term, want,
			"%s restarted after a %s crash without entry %d (term %d) that it had applied before; its durable log ends at %d",
			sn.id, sn.lastFate, want, f.term, d.LastIndex())
	}
}

// sent checks that a message is backed by the sender's durable state (the
// Ready contract: persist hard state and entries before sending): its term
// is durable (pre-votes excepted: they carry a future term), a vote it
// grants is durably recorded, and an append it acknowledges is in its
// durable log.
func (iv *invariants) sent(sn *simNode, m *pb.Message) {
	if sn.amnesiac {
		iv.checks[RejoinAfterLoss]++
		switch m.GetType() {
		case pb.MsgVoteResp, pb.MsgPreVoteResp, pb.MsgAppResp, pb.MsgHeartbeatResp:
			// It answers as the member it was, with none of what that
			// member promised: it must have been replaced under a new ID.
			iv.violate(RejoinAfterLoss, []world.NodeID{sn.id}, m.GetTerm(), m.GetIndex(),
				"%s lost its durable state (wiped) and came back under its old ID: it sent %s to %x", sn.id, m.GetType(), m.GetTo())
		}
	}
	iv.checks[PersistBeforeSend]++
	d := sn.disk.durable
	hs := d.HardState
	fail := func(format string, args ...any) {
		iv.violate(PersistBeforeSend, []world.NodeID{sn.id}, m.GetTerm(), m.GetIndex(),
			"%s sent %s to %x %s", sn.id, m.GetType(), m.GetTo(), fmt.Sprintf(format, args...))
	}
	switch m.GetType() {
	case pb.MsgPreVote, pb.MsgPreVoteResp:
		return
	case pb.MsgVoteResp:
		// Granting a vote in term T is safe once the vote is durable, or
		// once a later term is (the node can never vote in T again).
		if !m.GetReject() && hs.GetTerm() <= m.GetTerm() && (hs.GetTerm() != m.GetTerm() || hs.GetVote() != m.GetTo()) {
			fail("granting its vote in term %d, but its durable hard state says term %d vote %x", m.GetTerm(), hs.GetTerm(), hs.GetVote())
			return
		}
	case pb.MsgAppResp:
		if !m.GetReject() && d.LastIndex() < m.GetIndex() {
			fail("acknowledging entries up to %d, but its durable log ends at %d", m.GetIndex(), d.LastIndex())
			return
		}
	}
	if m.GetTerm() > hs.GetTerm() {
		fail("in term %d, but its durable term is %d", m.GetTerm(), hs.GetTerm())
	}
}

// Limits names, for each invariant the sim cannot check in full, what it
// leaves out and why: what the nodes do not report (see raftnode.Reports).
// An invariant not checked at all is also absent from Checks.
func (w *World) Limits() map[string]string {
	r := w.cfg.System.Reports
	out := map[string]string{}
	if !r.Applied {
		why := "not checked: " + w.cfg.System.Name + " does not report applied entries (raftnode.Reports.Applied)"
		for _, n := range []string{StateMachineSafety, DurableCommitted, MembershipAgreed} {
			if !w.inv.skip[n] {
				out[n] = why
			}
		}
	} else if !r.StateHash && !w.inv.skip[StateMachineSafety] {
		out[StateMachineSafety] = "entries only: " + w.cfg.System.Name + " reports no state hash (raftnode.Reports.StateHash), so states are not compared"
	}
	return out
}

// Checks reports how many times each invariant was checked.
func (w *World) Checks() map[string]int {
	out := map[string]int{}
	for k, v := range w.inv.checks {
		if !w.inv.skip[k] {
			out[k] = v
		}
	}
	if !w.inv.skip[NoPanic] && w.loop.nodeCalls > 0 {
		out[NoPanic] = w.loop.nodeCalls
	}
	return out
}
