package nemesis

import (
	"fmt"
	"strings"
	"text/tabwriter"
)

// vocab is one row of the vocabulary table.
type vocab struct {
	family  string // fault family ("" for healers: they end a family's faults)
	form    string // text form
	does    string
	uses    string // world methods
	example string // a line that parses (tested)
}

var vocabulary = []vocab{
	{"partition", "partition halves", "first half of the nodes by ID | the rest", "SetReach", "partition halves"},
	{"partition", "partition random-halves", "a random half | the rest", "SetReach", "partition random-halves"},
	{"partition", "partition isolate <target>", "the target's nodes | everyone else", "SetReach", "partition isolate n2"},
	{"partition", "partition isolate-leader", "the leader | everyone else", "SetReach, Leader", "partition isolate-leader"},
	{"partition", "partition leader-minority", "leader + ⌊(n-1)/2⌋-1 others | the rest (elects anew)", "SetReach, Leader", "partition leader-minority"},
	{"partition", "partition leader-majority", "leader + ⌊n/2⌋ others | the rest", "SetReach, Leader", "partition leader-majority"},
	{"partition", "partition majorities-ring", "random ring; each node hears the majority around it", "SetReach", "partition majorities-ring"},
	{"partition", "partition bridge", "two halves that only one node (the bridge) joins", "SetReach", "partition bridge"},
	{"partition", "partition minority-third", "a random ⌊n/3⌋ (at least 1) | the rest", "SetReach", "partition minority-third"},
	{"partition", "partition one-way <a> <b>", "a's messages to b are dropped; a still hears b", "SetReach", "partition one-way leader followers"},
	{"", "heal", "reachability restored, packet faults cleared", "SetReach, SetPacket", "heal"},
	{"packet", "packet <param>=<value>…", "add packet faults (parameters below)", "SetPacket", "packet loss=0.2 dup=0.05 reorder=0.1 delay=20ms jitter=10ms links=all"},
	{"kill", "kill <target>", "crash; the page cache survives (a process crash)", "Crash(KeepWritten)", "kill minority"},
	{"", "restart <target>", "restart crashed nodes; replace those whose data is lost", "Restart (RemoveNode, AddNode)", "restart all"},
	{"pause", "pause <target>", "freeze (SIGSTOP)", "Pause", "pause leader"},
	{"", "resume <target>", "thaw paused nodes", "Resume", "resume all"},
	{"clock", "skew <target> <rate>", "clock runs at rate × real speed (0.5 half, 2 double)", "SetClockRate", "skew leader 2"},
	{"clock", "strobe <target> <low> <high> <period>", "rate alternates low/high each period until clock-reset", "SetClockRate", "strobe one 0.5 2 200ms"},
	{"", "clock-reset <target>", "rate back to 1, strobes stopped", "SetClockRate", "clock-reset all"},
	{"disk", "lose-unsynced <target>", "crash losing un-fsynced writes (power failure)", "Crash(LoseUnsynced)", "lose-unsynced majority"},
	{"disk", "torn-write <target>", "crash mid-write: only a prefix of it survives", "Crash(TornWrite)", "torn-write one"},
	{"disk", "wipe <target>", "crash losing everything; restart replaces the node", "Crash(Wipe)", "wipe n3"},
	{"disk", "stall-disk <target>", "fsyncs hang: writes wait in the page cache; the node runs on", "SetDiskStall", "stall-disk majority"},
	{"", "unstall-disk <target>", "stalled disks complete their fsyncs again", "SetDiskStall", "unstall-disk all"},
	{"membership", "add-node [learner]", "a new node (new ID) joins as a voter or a learner", "AddNode", "add-node learner"},
	{"membership", "remove-node <target>", "remove members (voters or learners)", "RemoveNode", "remove-node one"},
	{"membership", "promote <target>", "learners become voters", "PromoteNode", "promote one"},
	{"membership", "replace <target>", "remove each node and add a new voter", "RemoveNode, AddNode", "replace followers"},
	{"snapshot", "snapshot-isolate <target> gap= timeout=", "isolate followers until the leader is gap entries ahead; heal", "SetReach, Status", "snapshot-isolate one gap=100 timeout=30s"},
	{"", "heal-all", "heal, resume, restart (or replace), unstall, reset clocks", "all of the above", "heal-all"},
}

const helpIntro = `Fault schedules: one event a line, "<time> <op> <args>", times since the
test started (5.0s, 12.5s), non-decreasing; # starts a comment.

Targets, resolved when the op runs with the run's seeded PRNG: one,
minority (⌊(n-1)/2⌋), majority (⌊n/2⌋+1; to kill or pause, counting the
members already down and leaving one running), all, leader, followers,
random (a non-empty subset), behind (the minority with the lowest commit
index: after a heal, the nodes catching up), nodes (n1,n3), or members by
rank in ID order when the op runs (@1,@3: the first and third member,
whoever they are by then; generated episodes that act on the same nodes
several times use these, so that they still do after the cluster's nodes
were replaced). Restart, resume, clock-reset and unstall-disk pick among
the nodes the nemesis crashed, paused, skewed or stalled; promote among
learners; the others among the members. Leader targets wait for an
election, up to 3s but never past the next event's time (events at the
same time wait as one). Membership changes run in the background, in order
(a change that cannot start within 3s of its time is given up), so that
later events fire on time. Partitions replace each other; heal ends all of
them and every packet fault.

Packet parameters (at least one fault): loss=P dup=P reorder=P (P a
probability), delay=D jitter=D (Go durations: 20ms); only=entries confines
the fault to appends that carry entries and to snapshots, while
heartbeats, votes, acks and read-index traffic pass on a stream of their
own (a follower hears its leader but gets no entries; the sim only);
links=all (default), links=n1->n2,n3->n1 (directed links), or
links=<target> (every link to and from its nodes). snapshot-isolate:
gap=N entries (default 200), timeout=D (default 20s), then heal whatever
happened.
`

// Help returns the vocabulary table (kind, arguments, what it does, which
// world methods it uses) with the rules of the text form, for splitbrain
// run --help.
func Help() string {
	var b strings.Builder
	b.WriteString(helpIntro)
	b.WriteByte('\n')
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	tw.Write([]byte("KIND\tARGS\tWHAT IT DOES\tWORLD\n"))
	for _, v := range vocabulary {
		kind, args, _ := strings.Cut(v.form, " ")
		tw.Write([]byte(kind + "\t" + args + "\t" + v.does + "\t" + v.uses + "\n"))
	}
	tw.Flush()
	b.WriteString("\nFault families, for generated schedules:\n")
	for _, f := range families {
		var ks []string
		for _, v := range vocabulary {
			k, _, _ := strings.Cut(v.form, " ")
			if v.family == f && (len(ks) == 0 || ks[len(ks)-1] != k) {
				ks = append(ks, k)
			}
		}
		fmt.Fprintf(&b, "  %-11s %s\n", f, strings.Join(ks, ", "))
	}
	return b.String()
}
