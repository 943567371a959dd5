// Package scenario drives a test's fault timeline with a Lua script, for
// scenarios a flag cannot say: "partition the leader into the minority,
// wait until the majority elects a new leader, then heal and kill two
// nodes".
//
//	splitbrain run --scenario harness/scenario/examples/leader-minority.lua --seed 1
//
// Importing the package installs Run and Check as harness.RunScenario and
// harness.CheckScenario. The harness checks the script before anything
// starts (a syntax error is a usage error, exit 2), then runs it as the
// nemesis task beside the workload. The script's faults are recorded as a
// schedule's would be; when it ends, or the test is over, the harness
// heals everything and checks the history. A runtime error stops the
// timeline: the harness records a script-error event, heals, ends the
// test at once (the error is bad input, exit 2: the rest of the test time
// would only delay saying so), still checks the history, and reports the
// error (results.json script_error).
//
// # The API
//
// Faults are the nemesis vocabulary (see nemesis.Help), one Lua function a
// kind, with the same names ('-' becomes '_'), targets and shapes. The
// arguments become the op's text form, which package nemesis parses and
// carries out (nemesis.Apply) exactly as a schedule line: same checks,
// same messages, same history events.
//
//	partition(shape [, target [, target]])  partition("leader-minority"), partition("isolate", "n2"),
//	                                        partition("one-way", "leader", "followers"); returns the
//	                                        description recorded ("leader-minority [n4 n1] | …") or nil
//	heal()   heal_all()                     end partitions and packet faults; end everything
//	packet{loss=, dup=, reorder=, delay=, jitter=, only=, links=}
//	kill(t)  pause(t)  lose_unsynced(t)  torn_write(t)  wipe(t)  stall_disk(t)  remove_node(t)  promote(t)
//	restart([t])  resume([t])  clock_reset([t])  unstall_disk([t])
//	                                        default: all the nemesis crashed, paused, skewed, stalled
//	skew(t, rate)  strobe(t, low, high, period)
//	add_node([learner])                     returns the new node's name, or nil
//	replace(t)                              returns the list of new nodes
//	snapshot_isolate(t [, {gap=, timeout=}])
//
// A target t is a selector ("one", "minority", "majority", "all",
// "leader", "followers", "random", "behind"), a node ("n3"), nodes ("n1,n3"), members
// by rank in ID order when the op runs ("@1,@3"), or a
// list of node names ({"n1", "n3"}, as nodes() returns). Durations are
// seconds (0.2) or Go duration strings ("200ms"). Node faults return the
// list of nodes they acted on.
//
// The rest of the API:
//
//	sleep(seconds)            let test time pass (virtual in the sim)
//	now()                     seconds since the test started
//	running()                 false once the test is over
//	leader()                  the leader's name ("n3") or nil
//	wait_for_leader([secs])   the leader once there is one, or nil after secs (default 10)
//	nodes()                   the members, sorted: {"n1", "n2", …}
//	status(node)              {id, term, leader, state, commit, applied, learner, voters} or nil
//	log(...)                  a note in the history (on the timeline) and a line on Output,
//	                          cut to MaxNote bytes (4 KiB) with a marker
//	print(...)                a line on Output only
//	rate(n)                   the workload's target rate, operations per second
//	random.int(lo, hi)  random.float()  random.chance(p)  random.choice(list)  random.shuffle(list)
//
// math.random draws from the same source; math.randomseed is an error.
//
// # Errors name file and line
//
// Check parses the script and lints it: a call of a function defined
// nowhere, and an API call whose arguments are literals and wrong, are
// found before the run, with the message the call would raise:
//
//	nightly.lua:12: partition: unknown shape "halfs" (did you mean "halves"?) (want one of halves, …)
//
// Arguments computed at run time are checked when the call runs, with the
// same message, and stop the timeline.
//
// # Determinism
//
// In the sim the script runs inside a lockstep task: sleep and every other
// call that waits use the world's Sleep, so the script's timeline is part
// of the seeded event order and the same seed and script give a
// byte-identical history. The script's random draws come from its own
// PRNG seeded from the run seed (not the world's, so the choices do not
// shift when the world draws differently, and are the same in process
// mode). Nothing in the sandbox reads the wall clock or the environment;
// tostring and log print tables without memory addresses and with sorted
// keys.
//
// # Sandbox
//
// The Lua state has the base library (without dofile, loadfile, require,
// module, collectgarbage), table, string and math; no io, os, package,
// debug or coroutine: a script that names one of those (os.execute,
// io.open) is refused by Check before anything runs, and one that reaches
// them dynamically fails at that line and ends the test at once.
//
// A script may hold at most MemoryBudget bytes (strings, tables,
// functions it can reach), counted by a meter of its own (see memory.go:
// gopher-lua has no allocator hook): every '..' (rewritten into a metered
// call), string.rep, format, gsub, table.concat and the other functions
// that can build a large string in one step charge their result before
// building it, and what the script holds is measured when the charges
// could take it over, and every few million instructions. A script over
// the budget is stopped with an error naming the line, as a runaway loop
// is; it never reaches Go's fatal "out of memory". The meter counts what
// the script does, not what Go's heap says, so it stops the same script
// at the same place on every run.
//
// A loop that never lets test time pass would hang
// the sim, whose clock only moves when tasks wait: the VM counts
// instructions (through the context gopher-lua consults before each one)
// and stops a script that runs InstructionBudget of them while the clock
// stands still, naming the line. The same hook stops any script as soon
// as the test is over, and keeps stopping it: pcall cannot swallow the end
// of the test.
package scenario
