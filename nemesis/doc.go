// Package nemesis is the fault side of a test: the vocabulary of faults
// (Jepsen's, complete), schedules of them with a text form, the executor
// that carries a schedule out against a world.World, and a random schedule
// generator for swarm testing.
//
// # Schedules
//
// A Schedule is a list of timed Events, each an Op. Its text form has one
// event a line:
//
//	# split the leader off, then crash two nodes
//	5.0s partition leader-minority
//	8.0s heal
//	10.0s kill minority
//	12.5s restart all
//
// Schedule.String prints the canonical text (seconds with at least one
// decimal, arguments in a fixed order, default parameters left out) and
// Parse reads it back: parse(print(s)) == s, and print(parse(t)) == t for
// canonical text t. Parse errors name the place as file:line. Kinds gives
// the fault families a schedule uses, its signature in a campaign.
// CheckCluster (and ParseFor, which names file:line) refuses a schedule
// that cannot run as written on a cluster: an event at or after the end
// of the test, or a node named that can never exist (not one of the
// initial nodes, nor one an earlier add-node, replace or wipe could have
// created).
//
// # Execution
//
// Execute (or ExecuteUntil, which can be stopped) runs a schedule from a
// task of the world: it sleeps until each event's time since the test
// started, resolves the op's targets at that moment with the world's
// seeded PRNG (so a sim run is deterministic), calls the world, and records
// one nemesis event per fault in the history: one per node for crashes,
// restarts, pauses, resumes and clock changes, so that history.FaultWindows
// pairs them; one for a partition, a heal or a packet fault. The event's
// value names the resolved nodes ("leader-minority [n4 n1] | [n2 n3 n5]");
// its error says what the world refused, and a refused fault opens no
// window (history.FaultWindows). A crash or pause the world reports an
// error for, but which took effect all the same (the node no longer
// answers: a process slow to die, a wiped directory not fully removed),
// counts as done: a note before it carries the error, and it is undone
// like any other. An op that finds no target (no leader,
// nothing crashed to restart) is recorded as a note and opens or closes no
// window; so is a crash of a node that is already down without the
// nemesis's doing (it does not answer, and the nemesis did not pause it):
// crashing it again would do nothing. HealAll ends whatever the nemesis
// left in force; it finds it in a registry keyed by the world, which holds
// an entry while something is outstanding or an executor (or a
// snapshot-isolate watcher) is at work on it.
//
// A partition event notes the connected majority it leaves, if any: the
// largest set of running voters, a majority of the voters, in which every
// pair hears each other both ways ("{connected majority n3 n4 n5}"; the
// liveness check demands progress from it). Voters are counted as the
// cluster knows them: every node that a running member lists as a voter.
// A learner, or a node whose add never took effect, is none.
//
// # Schedules a correct cluster cannot survive
//
// Some schedules would destroy the cluster's quorum for good: the system
// could not be blamed for the verdict, and a property that demands VALID
// of every generated schedule would fail on them. Rather than carry them
// out and then excuse the verdict, the executor refuses the step that does
// the damage, records a note saying why it kept the node ("n3 kept: ..."),
// and goes on — as an operator would. It does not remove a voter when
// fewer than three voters, or no running majority of them, would be left,
// nor while a wiped node awaits replacement; it does not wipe a node while
// another wiped one awaits replacement, nor when the voters that would be
// back (running, paused, or crashed with their data) are no majority,
// since replacing the wiped node takes a membership change that needs
// their quorum. When no member answers, the voters are unknown and it
// does neither. Everything else, however
// harsh, a correct cluster survives once healed.
//
// Conventions worth knowing: "partition one-way a b" drops the messages
// from a's nodes to b's nodes (a no longer reaches b, b's messages still
// reach a). Partitions replace one another rather than stack, and heal (as
// in Jepsen) ends all of them and every packet fault, as does the end of a
// snapshot-isolate. A wiped node cannot come back under its old ID: the
// world refuses to restart it, and restart replaces it (RemoveNode, then
// AddNode as a voter), recording remove-node, add-node and, to close the
// wipe's window, restart "n3 replaced by n6". A node removed from the
// cluster while crashed, paused or skewed takes those faults with it: the
// matching restart, resume or clock-reset is recorded as "n2 (removed from
// the cluster)". Membership changes wait for a leader first (a change
// proposed without one is dropped at once), and their failures, such as
// timeouts during a partition, are recorded, not fatal.
//
// # Generation
//
// Generate draws a schedule from a seed in swarm style (Groce et al.): the
// seed picks a subset of the allowed fault families and an intensity, then
// faults from that subset, each healed after a random hold, with heal-all
// at the end. ScheduleGen draws the same kind of schedule from rapid
// primitives, so that a failing property shrinks to a few mild faults.
//
// # Vocabulary
//
// Help returns this table for the command line:
//
//	Fault schedules: one event a line, "<time> <op> <args>", times since the
//	test started (5.0s, 12.5s), non-decreasing; # starts a comment.
//
//	Targets, resolved when the op runs with the run's seeded PRNG: one,
//	minority (⌊(n-1)/2⌋), majority (⌊n/2⌋+1), all, leader, followers, random
//	(a non-empty subset), or nodes (n1,n3). Restart, resume and clock-reset
//	pick among the nodes the nemesis crashed, paused or skewed; promote among
//	learners; the others among the members. Leader targets wait up to 3s for
//	an election. Partitions replace each other; heal ends all of them and
//	every packet fault.
//
//	Packet parameters (at least one fault): loss=P dup=P reorder=P (P a
//	probability), delay=D jitter=D (Go durations: 20ms), links=all (default),
//	links=n1->n2,n3->n1 (directed links), or links=<target> (every link to and
//	from its nodes). snapshot-isolate: gap=N entries (default 200), timeout=D
//	(default 20s), then heal whatever happened.
//
//	KIND              ARGS                            WHAT IT DOES                                                   WORLD
//	partition         halves                          first half of the nodes by ID | the rest                       SetReach
//	partition         random-halves                   a random half | the rest                                       SetReach
//	partition         isolate <target>                the target's nodes | everyone else                             SetReach
//	partition         isolate-leader                  the leader | everyone else                                     SetReach, Leader
//	partition         leader-minority                 leader + ⌊(n-1)/2⌋-1 others | the rest (elects anew)           SetReach, Leader
//	partition         leader-majority                 leader + ⌊n/2⌋ others | the rest                               SetReach, Leader
//	partition         majorities-ring                 random ring; each node hears the majority around it            SetReach
//	partition         bridge                          two halves that only one node (the bridge) joins               SetReach
//	partition         minority-third                  a random ⌊n/3⌋ (at least 1) | the rest                         SetReach
//	partition         one-way <a> <b>                 a's messages to b are dropped; a still hears b                 SetReach
//	heal                                              reachability restored, packet faults cleared                   SetReach, SetPacket
//	packet            <param>=<value>…                add packet faults (parameters below)                           SetPacket
//	kill              <target>                        crash; the page cache survives (a process crash)               Crash(KeepWritten)
//	restart           <target>                        restart crashed nodes; replace those whose data is lost        Restart (RemoveNode, AddNode)
//	pause             <target>                        freeze (SIGSTOP)                                               Pause
//	resume            <target>                        thaw paused nodes                                              Resume
//	skew              <target> <rate>                 clock runs at rate × real speed (0.5 half, 2 double)           SetClockRate
//	strobe            <target> <low> <high> <period>  rate alternates low/high each period until clock-reset         SetClockRate
//	clock-reset       <target>                        rate back to 1, strobes stopped                                SetClockRate
//	lose-unsynced     <target>                        crash losing un-fsynced writes (power failure)                 Crash(LoseUnsynced)
//	torn-write        <target>                        crash mid-write: only a prefix of it survives                  Crash(TornWrite)
//	wipe              <target>                        crash losing everything; restart replaces the node             Crash(Wipe)
//	add-node          [learner]                       a new node (new ID) joins as a voter or a learner              AddNode
//	remove-node       <target>                        remove members (voters or learners)                            RemoveNode
//	promote           <target>                        learners become voters                                         PromoteNode
//	replace           <target>                        remove each node and add a new voter                           RemoveNode, AddNode
//	snapshot-isolate  <target> gap= timeout=          isolate followers until the leader is gap entries ahead; heal  SetReach, Status
//	heal-all                                          heal, resume, restart (or replace), reset clocks               all of the above
//
//	Fault families, for generated schedules:
//	  partition   partition
//	  packet      packet
//	  kill        kill
//	  pause       pause
//	  clock       skew, strobe
//	  disk        lose-unsynced, torn-write, wipe
//	  membership  add-node, remove-node, promote, replace
//	  snapshot    snapshot-isolate
package nemesis
