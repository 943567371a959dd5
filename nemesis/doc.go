// Package nemesis is the fault side of a test: the vocabulary of faults
// (Jepsen's, complete), schedules of them with a text form, the executor
// that carries a schedule out against a world.World on time, and the
// schedule generator behind every default run: fault periods that
// recreate the situations known to break raft systems, alternating with
// recovery.
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
// Faults fire on time: the schedule's times are when things happen, and
// a test's fault timeline ends at its final heal. Nothing an op does may
// hold up the next event: an op aimed at the leader waits for an election
// at most until the next event is due (then it is a note, "no node
// matches leader"), and the ops that block for seconds — membership
// changes (add-node, remove-node, promote, replace), and the replacement
// of a node whose data is lost, which restart and heal-all start — run in
// a background lane, one at a time and in order, each recorded when it
// ends (its time is when it happened); one that cannot start within 3s of
// its time, because the one before it is still under way, is given up
// with a note. (They used to run in line: a leader target waited up to
// 3s, a remove-node of a lost node about 9s, and every later event moved
// back with them — a one-minute run's final heal came as late as 127s.)
// Execute returns once the lane and any snapshot-isolate watcher are done.
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
// wipe's window, restart "n3 replaced by n6". A stalled disk is the
// disk's: the node keeps running (receiving, ticking, answering status),
// everything that waits for an fsync waits, and the stall outlasts a
// crash and restart of the node until unstall-disk. A node removed from
// the cluster while crashed, paused, skewed or stalled takes those faults
// with it: the matching restart, resume, clock-reset or unstall-disk is
// recorded as "n2 (removed from the cluster)". Membership changes wait for a leader first (a change
// proposed without one is dropped at once), and their failures, such as
// timeouts during a partition, are recorded, not fatal.
//
// # Generation
//
// Generate draws a schedule from a seed; it is what a default run gets,
// and it is meant to find bugs with no parameters tuned to any. As in
// Jepsen's default nemesis, faults alternate with recovery: after a quiet
// start the timeline is a series of episodes — fault periods, each a
// structured mix of faults that recreates a situation known to break raft
// systems, with random parameters — each followed by a quiet period of
// 1–2s in which no fault is in force and the cluster heals and
// serves. An episode undoes everything it started by its end. The
// catalogue (episodes.go), with what each gives its window to:
//
//   - deposed-leader: the leader, alone or with a minority that still
//     follows it, is cut off while the others elect anew, and its clock
//     runs 10–20× slow, so that it goes on believing it leads, and that its
//     lease holds, for the whole episode (10.5–12s: twice a client's
//     operation timeout, so that clients stuck on a write there come back
//     and read). When the network heals, the entries to the side that
//     was cut off most often stay black-holed for 2–3s more while the
//     small messages pass (packet only=entries links=behind: a gray
//     failure, as on a path whose MTU drops full-size segments): those
//     nodes hear the new leader and have their reads confirmed, but
//     cannot catch up. Stale reads from a leader that does not know it
//     was deposed, reads of uncommitted writes, acknowledged writes
//     rolled back, reads answered before the node applied what they
//     were confirmed at.
//   - quorum-loss: a majority's disks stall (most often: fsyncs that hang
//     on a saturated or failing device are the commonest way a majority
//     stops acknowledging), or it is paused (a stalled VM) or crashed, for
//     longer than a request may wait, while the rest keep running: writes
//     pending there can neither commit nor be known to fail, and commit
//     once the majority is back — surely when the disks stalled, since
//     the stalled nodes kept receiving them. Indeterminate outcomes
//     reported as definite.
//   - asymmetric: a one-way partition held past the liveness bound, most
//     often a deaf leader (it reaches the others and hears none). A
//     cluster that cannot elect around it stalls (no PreVote or
//     CheckQuorum: Cloudflare's 2020 outage).
//   - disk-loss: a node's disk is lost (most often the leader's) and the
//     node restarted: it comes back only by replacement under a new ID.
//     Amnesiac nodes rejoining under their old ID (forgotten votes and
//     acknowledgements).
//   - membership-churn: three to five membership changes in quick
//     succession — the leader replaced or removed, nodes added and
//     removed, a learner promoted — then a disk lost and its node
//     replaced. When it is dealt early it comes first, as soon as the
//     first leader is elected, as an operator grows a young cluster: nodes
//     then join by replaying the whole log, configurations older than
//     themselves included; later in a run they join by snapshot.
//     Configurations used before they commit.
//   - cascade: a minority is cut off and falls behind; then the majority
//     side crashes (a disk lost, or every un-fsynced write lost to a power
//     failure); one of it comes back and the network heals while the rest
//     are down: an election among the stale minority and the node back
//     must not lose what was committed. Lost durability, amnesia.
//   - power-failure: the whole cluster, or a majority, loses power
//     (un-fsynced writes lost), or a write is torn; back within 1.5s.
//   - crash-loop: the leader crashes and a minority crash-loops (every
//     100–200ms) on a slow network, so that the stable nodes left are too
//     few to lead alone: elections follow one another, with votes cast by
//     nodes that crash right after. Votes not persisted.
//   - split, flaky-links, paused-leader, crash, wipe, lossy-network,
//     membership-partition, snapshot-catch-up, clock-chaos: the rest of
//     the vocabulary, for variety (partition shapes held past a client's
//     timeout, process pauses, plain crashes, lost disks, packet faults,
//     membership changes under a partition, catch-up by snapshot, skewed
//     and strobing clocks).
//
// A network heal at the end of another episode is most often followed by
// 0.8–1.5s of flaky links (the entries to the nodes behind black-holed, the
// entries crawling, packets lost, or packets held back), as a network
// recovering from a failure is: the nodes that were cut off catch up
// while their clients already read from them (reads served before they
// are applied).
//
// Which episodes a run gets: those marked must (deposed-leader,
// quorum-loss, asymmetric, disk-loss) come in every run whose families
// allow them — time before the final heal is kept for them (for those
// that fit, in a test too short for all). The
// others are dealt in a weighted random order and placed while they fit,
// so that runs get different mixes: swarm testing (Groce et al.) over
// structured episodes rather than over families. The family-subset swarm
// this generator replaced left, in each run, every bug class whose family
// it dropped undetected: with every family allowed it found 7 of the 13
// canaries in fewer than half of the seeds. Only a power failure may take
// every node down, and for at most 1.5s; every other episode leaves a
// node running.
//
// --nemesis FAMILIES still means only these families: an episode is left
// out when a family it needs is not allowed, and its optional parts (a
// slow clock, a flaky heal) when theirs are not; a partition family
// narrowed to a shape ("partition:one-way") leaves the episodes made of
// that shape.
//
// ScheduleGen draws unstructured schedules (each fault with its own heal
// after 1–8s, overlapping freely) from rapid primitives, so that a failing
// property shrinks to a few mild faults.
//
// # Vocabulary
//
// Help returns this table for the command line:
//
//	Fault schedules: one event a line, "<time> <op> <args>", times since the
//	test started (5.0s, 12.5s), non-decreasing; # starts a comment.
//
//	Targets, resolved when the op runs with the run's seeded PRNG: one,
//	minority (⌊(n-1)/2⌋), majority (⌊n/2⌋+1; to kill or pause, counting the
//	members already down and leaving one running), all, leader, followers,
//	random (a non-empty subset), behind (the minority with the lowest commit
//	index: after a heal, the nodes catching up), nodes (n1,n3), or members by
//	rank in ID order when the op runs (@1,@3: the first and third member,
//	whoever they are by then; generated episodes that act on the same nodes
//	several times use these, so that they still do after the cluster's nodes
//	were replaced). Restart, resume, clock-reset and unstall-disk pick among
//	the nodes the nemesis crashed, paused, skewed or stalled; promote among
//	learners; the others among the members. Leader targets wait for an
//	election, up to 3s but never past the next event's time (events at the
//	same time wait as one). Membership changes run in the background, in order
//	(a change that cannot start within 3s of its time is given up), so that
//	later events fire on time. Partitions replace each other; heal ends all of
//	them and every packet fault.
//
//	Packet parameters (at least one fault): loss=P dup=P reorder=P (P a
//	probability), delay=D jitter=D (Go durations: 20ms); only=entries confines
//	the fault to appends that carry entries and to snapshots, while
//	heartbeats, votes, acks and read-index traffic pass on a stream of their
//	own (a follower hears its leader but gets no entries; the sim only);
//	links=all (default), links=n1->n2,n3->n1 (directed links), or
//	links=<target> (every link to and from its nodes). snapshot-isolate:
//	gap=N entries (default 200), timeout=D (default 20s), then heal whatever
//	happened.
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
//	stall-disk        <target>                        fsyncs hang: writes wait in the page cache; the node runs on   SetDiskStall
//	unstall-disk      <target>                        stalled disks complete their fsyncs again                      SetDiskStall
//	add-node          [learner]                       a new node (new ID) joins as a voter or a learner              AddNode
//	remove-node       <target>                        remove members (voters or learners)                            RemoveNode
//	promote           <target>                        learners become voters                                         PromoteNode
//	replace           <target>                        remove each node and add a new voter                           RemoveNode, AddNode
//	snapshot-isolate  <target> gap= timeout=          isolate followers until the leader is gap entries ahead; heal  SetReach, Status
//	heal-all                                          heal, resume, restart (or replace), unstall, reset clocks      all of the above
//
//	Fault families, for generated schedules:
//	  partition   partition
//	  packet      packet
//	  kill        kill
//	  pause       pause
//	  clock       skew, strobe
//	  disk        lose-unsynced, torn-write, wipe, stall-disk
//	  membership  add-node, remove-node, promote, replace
//	  snapshot    snapshot-isolate
package nemesis
