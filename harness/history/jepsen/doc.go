// Package jepsen imports Jepsen histories so that `splitbrain check` can
// run our checker on them. It reads three formats and turns each into
// []history.Event:
//
//   - edn: Jepsen's history.edn, one op map per line, as Jepsen 0.3 writes
//     it (each op a record, #jepsen.history.Op{...}; older Jepsen writes
//     plain maps), or a vector of op maps. Parsing is done by
//     olympos.io/encoding/edn; this package only tracks where each op
//     starts, so that errors name its line.
//   - jepsen-log: the op lines jepsen.util writes to Jepsen's log
//     ("INFO  jepsen.util - 4\t:invoke\t:read\tnil" in log4j layout, or
//     "2018-02-19 13:15:11,443{GMT}\tINFO\t[jepsen worker 4] jepsen.util: ..."
//     in logback layout), or a file of bare op lines (Jepsen's
//     history.txt). Lines of other loggers, other messages and continuation
//     lines are skipped; a line that looks like an op (a process then a
//     :type keyword) but does not parse is an error. Fields are separated by
//     tabs or runs of spaces; after the value Jepsen may append the error.
//   - jsonl: our own format, read by history.Read.
//
// Detect tells the three apart from the first non-blank line (a JSON array,
// [{"..., is refused with the formats accepted: our JSON is JSONL); Read
// and ReadFile detect when given FormatAuto, DetectFile for a file. Every
// malformed input is a *history.ParseError naming the file, the line (of
// the op, for EDN ops spanning lines: the line it starts on) and the
// problem, once: its message carries no location of its own, and any
// input it quotes is cut short and Go-quoted when it is not printable text,
// so binary input never reaches a terminal raw (the fuzz targets check
// this). An empty input, or an empty EDN collection ([]), is an empty
// history: zero events and no error.
//
// # Mapping
//
// A Jepsen op {:process p, :type t, :f f, :value v, :time ns, :error e}
// becomes one event; unknown keys (:index, :node, :exception, ...) are
// ignored and events are renumbered 0, 1, 2, ... in file order.
//
//   - process: an integer is a client, :nemesis is history.Nemesis.
//   - type: :invoke :ok :fail :info map to the same types. A completion is
//     kept whatever its type: the checker drops failed operations and treats
//     :info (and an invocation never completed) as of unknown outcome.
//   - f: clients must use :read, :write or :cas (a register history);
//     anything else is an error. Nemesis fs keep their keyword form
//     (":start", ":stop", ":kill", ...; see NemesisF). They are not mapped
//     to our fault actions: what :start means depends on the nemesis (a
//     partition for jepsen.nemesis/partitioner, a kill for
//     node-start-stopper, a restart for the combined nemesis' :kill/:start,
//     a clock change for the clock nemesis), so it cannot honestly be
//     called a partition; and the colon keeps Jepsen's :kill from being
//     taken for our "kill", which only our "restart" closes. Both the
//     invocation and the completion of a nemesis op are kept, each as an
//     instant event, the completion's value saying what was done. With no
//     fault windows, an imported history has no final heal, and `check`
//     does not judge its liveness (nor do Jepsen's own checkers).
//   - value: nil is nil, an integer its decimal text, a string itself; a
//     cas [old new] is Prev = old, Value = new. An independent-key tuple
//     [k v] (jepsen.independent) puts the op on key k (an integer, string or
//     keyword, as text) with v as its value, e.g. [3 [2 4]] is a cas on key
//     "3" from "2" to "4". A history without independent keys is one
//     register, on key SingleKey ("0"). A history must use one mode
//     throughout: mixing tuples and plain values would merge key 0 with the
//     single register.
//   - completions carry their invocation's arguments: a write or cas
//     completion must repeat the invocation's value (or carry nil), and gets
//     the invocation's value. A read's ok carries the value read; a read's
//     invocation carries nil (a value there is ignored, as knossos fills
//     it in from the completion).
//   - nil reads: in Jepsen's cas-register model (knossos.model/CASRegister,
//     which Jepsen's linearizable checker uses) an :ok read whose value is
//     nil is a read whose value is unknown: "nil reads are always legal".
//     Such a read becomes an :info read whose Error is NilReadNote, which
//     the checker leaves out just as knossos accepts it in any state. That
//     is the rule for EDN. In a Jepsen log nil is "absent" (the key does not
//     exist), as porcupine's model of Jepsen's etcd logs reads it (reading
//     those 102 logs the EDN way gives the same verdicts, so absent, the
//     stricter reading, is kept). Options.NilRead (check --nil-read)
//     overrides either; our JSONL has no unknown reads.
//   - outcomes, as knossos has them: :fail did not happen; :info, or an
//     invocation the history never completes, may take effect at any time
//     after its invocation or never; an :info read says nothing. The
//     checker (package model) implements these. Old Jepsen clients put a keyword such as
//     :timed-out in place of the value of a :fail or :info; it becomes the
//     event's Error.
//   - nemesis values and :error: a string as it is, anything else as EDN
//     text: in a log as written; in EDN as printed back from the parsed
//     value, map entries and set elements sorted so the output does not
//     depend on Go's map order. A value the library parses but cannot hold
//     in a Go map (a map keyed by a big integer or a tagged collection) makes
//     that op be read again with its fields as text; such a value is then
//     kept as written.
//   - time: :time (ns) when the first op has it; an op without it then takes
//     the previous op's time, and a time that goes backwards is raised to
//     the previous one (Jepsen orders a history by position, not by :time,
//     and times can lag by a hair). Without :time, and always in logs, time
//     is the line number × TimeStep (1ms), so it counts up in file order.
//
// Each process has at most one open operation, and a completion must match
// its open invocation's f and key; Jepsen never reuses a process after an
// :info (it gives the worker a new process id), so a violation is an error
// in the file.
//
// The EDN library reads about 7 MB/s (a Jepsen op of ~100 bytes in ~15µs,
// nearly all of it inside the library; see BenchmarkReadEDN), so a 100 MB
// history.edn takes some 15 s; logs read about as fast.
//
// # Checking an import
//
// Jepsen's (knossos') cas-register model starts at nil unless a test gives
// it a value; pass model.Options{Initial: nil} for such histories and
// Initial: history.Str("0") for tests whose registers start at 0 (the
// value must be written as this package writes integers, in decimal).
//
// Two corpora are the reference. Porcupine's test data
// (github.com/anishathalye/porcupine, test_data/jepsen/etcd_*.log): its
// 102 non-empty etcd logs get the verdicts porcupine's own tests expect,
// with registers starting at nil (etcd_095.log is empty: etcd failed to
// start in that run, and it has no verdict); TestPorcupineEtcdLogs reads
// them from the module cache. Knossos' cas-register corpus
// (github.com/jepsen-io/knossos, data/cas-register/{good,bad}/*.edn, 113
// linearizable and 7 not, checked with the register starting at 0): all
// 120 get knossos' verdict, none of the bad ones for a nil read;
// TestKnossosCorpus runs on a checkout named by SPLITBRAIN_KNOSSOS_DATA
// (the project commits no copy), and testdata/cas-register holds our own
// small histories of the same conventions, checked by
// TestRegisterConventions.
package jepsen
