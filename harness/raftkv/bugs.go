package raftkv

import (
	"fmt"
	"sort"
	"strings"
)

// Bug names a known-bug canary: a deliberate defect, off by default, that
// re-creates a documented class of real raft-system bugs. The harness must
// catch every one of them; that is how we know it can fail.
type Bug string

// The canaries. Each doc line names the real-world bug class it mirrors and
// the faults that expose it.
const (
	// BugLocalReads serves reads from the local state machine on any node,
	// without ReadIndex: the stale-read class of etcd#741 and consul's
	// "default" consistency mode before 0.4. Exposed by partitions: a node
	// on the minority side keeps answering with old values.
	BugLocalReads Bug = "local-reads"
	// BugLeaderUnverifiedReads lets a node that believes it is leader answer
	// reads from local state without confirming leadership with a quorum
	// (the raft thesis §6.4 warning; etcd's pre-3.0 non-quorum reads).
	// Exposed by leader-isolating partitions: a deposed leader still answers.
	BugLeaderUnverifiedReads Bug = "leader-unverified-reads"
	// BugLeaseReads uses ReadOnlyLeaseBased reads, which trust that clocks
	// run at the same rate (the lease-read clock-skew class that raft's own
	// ReadOnlyLeaseBased documentation warns of). Exposed by clock skew
	// plus a partition: a fast-ticking old leader thinks its lease is valid.
	BugLeaseReads Bug = "lease-reads"
	// BugReadBeforeApply answers a ReadIndex read without waiting for the
	// applied index to reach the read index, and serves reads while a
	// restarted node is still replaying its log. Exposed by
	// load on lagging followers, restarts and partitions.
	BugReadBeforeApply Bug = "read-before-apply"
	// BugAckOnPropose acknowledges a write as soon as it is proposed, before
	// it commits (the classic "acked but lost" write, Jepsen's MongoDB and
	// RabbitMQ analyses). Exposed by partitions and crashes of the leader.
	BugAckOnPropose Bug = "ack-on-propose"
	// BugDefiniteOnUnknown reports failure when the outcome is unknown
	// (leadership lost or a timeout after proposing): the indeterminate-
	// failure class Jepsen finds in many clients. Exposed by partitions:
	// a "failed" write later commits.
	BugDefiniteOnUnknown Bug = "definite-on-unknown"
	// BugNoFsync acknowledges entries and votes before they are durable
	// (fsync skipped or reordered: the class studied in "All File Systems
	// Are Not Created Equal", OSDI 2014). Exposed by crashes that lose
	// un-fsynced writes.
	BugNoFsync Bug = "no-fsync"
	// BugApplyUnstable applies log entries to the state machine as soon as
	// they are appended, before they are committed (the "apply uncommitted"
	// class). Exposed by leader-in-minority partitions: the old leader's
	// uncommitted writes are read and then rolled back.
	BugApplyUnstable Bug = "apply-unstable"
	// BugForgetVote does not persist HardState.Vote, so a restarted node can
	// vote twice in one term (the raft paper's persistent-state rule;
	// persistent-state bugs in many implementations). Exposed by crashes during
	// elections: two leaders in one term.
	BugForgetVote Bug = "forget-vote"
	// BugAmnesiaRejoin lets a node whose disk was wiped rejoin under its old
	// ID with an empty log, so it votes as if it had never accepted entries
	// (etcd's "member with lost data" hazard). Exposed by wipe faults.
	BugAmnesiaRejoin Bug = "amnesia-rejoin"
	// BugStaleSnapshot labels a snapshot with a newer index than the state
	// it holds, so entries between are silently skipped by whoever installs
	// it (the snapshot/compaction race class). Exposed by a
	// follower cut off until the leader compacts past it.
	BugStaleSnapshot Bug = "stale-snapshot"
	// BugConfChangeOnPropose makes a membership change take effect when it is
	// proposed instead of when it is applied (the single-server-change bug
	// class of the raft dissertation's errata). Exposed by membership
	// changes under partition.
	BugConfChangeOnPropose Bug = "confchange-on-propose"
	// BugNoPreVoteCheckQuorum turns off PreVote and CheckQuorum, so a node
	// behind a one-way or partial partition keeps forcing elections and the
	// cluster loses liveness (Cloudflare's November 2020 etcd outage).
	// Liveness only: caught by the liveness check under one-way partitions.
	BugNoPreVoteCheckQuorum Bug = "no-prevote-checkquorum"
)

// AllBugs lists every canary, in the order selftest runs them.
var AllBugs = []Bug{
	BugLocalReads, BugLeaderUnverifiedReads, BugLeaseReads, BugReadBeforeApply,
	BugAckOnPropose, BugDefiniteOnUnknown, BugNoFsync, BugApplyUnstable,
	BugForgetVote, BugAmnesiaRejoin, BugStaleSnapshot, BugConfChangeOnPropose,
	BugNoPreVoteCheckQuorum,
}

// Exposers names, per canary, the fault families (nemesis families) that
// expose it, as its doc line says. selftest restricts its generated
// schedules to them.
var Exposers = map[Bug][]string{
	BugLocalReads:            {"partition"},
	BugLeaderUnverifiedReads: {"partition", "clock"},
	BugLeaseReads:            {"partition", "clock"},
	BugReadBeforeApply:       {"kill", "packet", "partition"},
	BugAckOnPropose:          {"partition", "kill"},
	BugDefiniteOnUnknown:     {"partition"},
	BugNoFsync:               {"disk", "kill"},
	BugApplyUnstable:         {"partition"},
	BugForgetVote:            {"kill"},
	BugAmnesiaRejoin:         {"disk"},
	BugStaleSnapshot:         {"snapshot", "kill"},
	BugConfChangeOnPropose:   {"membership", "partition"},
	BugNoPreVoteCheckQuorum:  {"partition:one-way"},
}

// Bugs is a set of enabled canaries. The zero value enables none.
type Bugs map[Bug]bool

// Has reports whether b is enabled.
func (bs Bugs) Has(b Bug) bool { return bs[b] }

// Names returns the enabled canaries, sorted.
func (bs Bugs) Names() []string {
	var out []string
	for b, on := range bs {
		if on {
			out = append(out, string(b))
		}
	}
	sort.Strings(out)
	return out
}

// ParseBugs parses a comma-separated list of canary names.
func ParseBugs(s string) (Bugs, error) {
	bs := Bugs{}
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		if !known(Bug(name)) {
			return nil, fmt.Errorf("unknown bug %q (want one of %s)", name, strings.Join(bugNames(), ", "))
		}
		bs[Bug(name)] = true
	}
	return bs, nil
}

func known(b Bug) bool {
	for _, k := range AllBugs {
		if k == b {
			return true
		}
	}
	return false
}

func bugNames() []string {
	out := make([]string, len(AllBugs))
	for i, b := range AllBugs {
		out[i] = string(b)
	}
	return out
}
