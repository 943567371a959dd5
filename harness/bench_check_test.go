package harness

import (
	"bufio"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/splitbrain/splitbrain/harness/history"
	"github.com/splitbrain/splitbrain/harness/report"
	"github.com/splitbrain/splitbrain/model"
)

// writeBigHistory writes, deterministically from seed, a history of ops
// client operations on keys keys to path: 50 clients on a rotating set of
// ten keys at a time (each key gets about ops/keys operations over a
// span of the history, as the register workload retires keys), every
// operation taking effect at its invocation (so the history is
// linearizable), 10% failed and 2% of unknown outcome, a partition and a
// kill every 100,000 operations. If stale, one read in the middle returns
// a value its key held ten acknowledged writes earlier: a stale read for
// the explaining check to find. It streams the lines: memory stays small.
func writeBigHistory(tb testing.TB, path string, ops, keys int, seed uint64, stale bool) {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	const clients = 50
	type open struct {
		e      history.Event
		result history.Type
		read   *string
	}
	opened := make([]*open, clients)
	procs := make([]int, clients)
	for i := range procs {
		procs[i] = i
	}
	nextProc := clients
	regs := map[string]*string{}
	okVals := map[string][]*string{} // each key's values written by ok operations, in order
	next := map[string]int{}
	var line []byte
	var index, now int64
	emit := func(e history.Event) {
		e.Index, e.Time = index, now
		index++
		line = append(history.AppendLine(line[:0], &e), '\n')
		if _, err := w.Write(line); err != nil {
			tb.Fatal(err)
		}
	}
	perKey := max(1, ops/keys)
	invoked, staleDone := 0, !stale
	for invoked < ops || anyOpen(opened) {
		now += 1 + rng.Int64N(200e3)
		if invoked > 0 && invoked%100000 == 0 && rng.IntN(clients) == 0 {
			emit(history.Event{Type: history.Info, Process: history.Nemesis, F: history.FaultPartition, Value: history.Str("halves [n1 n2] | [n3 n4 n5]")})
			emit(history.Event{Type: history.Info, Process: history.Nemesis, F: history.FaultKill, Node: "n2", Value: history.Str("n2")})
			emit(history.Event{Type: history.Info, Process: history.Nemesis, F: history.FaultHeal})
			emit(history.Event{Type: history.Info, Process: history.Nemesis, F: history.FaultRestart, Node: "n2", Value: history.Str("n2")})
		}
		c := rng.IntN(clients)
		node := "n" + strconv.Itoa(1+c%5)
		if o := opened[c]; o != nil {
			done := o.e
			done.Type, done.Value = o.result, o.e.Value
			if o.e.F == history.FRead {
				done.Value = o.read
			}
			if o.result != history.OK {
				done.Error = "timed out"
			}
			emit(done)
			opened[c] = nil
			if o.result == history.Info {
				procs[c] = nextProc
				nextProc++
			}
			continue
		}
		if invoked >= ops {
			continue
		}
		key := "k" + strconv.Itoa(min(keys-1, invoked/perKey+rng.IntN(10)))
		e := history.Event{Type: history.Invoke, Process: history.Process(procs[c]), Key: key, Node: node}
		o := &open{result: history.OK}
		switch r := rng.IntN(100); {
		case r < 10:
			o.result = history.Fail
		case r < 12:
			o.result = history.Info
		}
		applies := o.result == history.OK || o.result == history.Info && rng.IntN(2) == 0
		switch r := rng.IntN(10); {
		case r < 5:
			e.F = history.FRead
			if o.result == history.Info {
				o.result = history.Fail
			}
			o.read = regs[key]
			if vs := okVals[key]; !staleDone && invoked >= ops/2 && len(vs) >= 10 && o.result == history.OK {
				o.read, staleDone = vs[len(vs)-10], true // long overwritten, by acknowledged writes
			}
		case r < 8:
			e.F = history.FWrite
			next[key]++
			e.Value = history.Str(strconv.Itoa(next[key]))
			if applies {
				regs[key] = e.Value
			}
			if o.result == history.OK {
				okVals[key] = append(okVals[key], e.Value)
			}
		default:
			e.F = history.FCAS
			next[key]++
			e.Prev, e.Value = regs[key], history.Str(strconv.Itoa(next[key]))
			if rng.IntN(4) == 0 {
				e.Prev = history.Str("0")
			}
			matches := e.Prev == nil && regs[key] == nil || e.Prev != nil && regs[key] != nil && *e.Prev == *regs[key]
			if o.result == history.OK && !matches {
				o.result = history.Fail // a cas that does not match fails
			}
			if applies && matches {
				regs[key] = e.Value
			}
			if o.result == history.OK && matches {
				okVals[key] = append(okVals[key], e.Value)
			}
		}
		o.e = e
		emit(e)
		opened[c] = o
		invoked++
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
}

func anyOpen[T any](xs []*T) bool {
	for _, x := range xs {
		if x != nil {
			return true
		}
	}
	return false
}

// BenchmarkCheckMillion checks a history of a million operations on 1,000
// keys, with one stale read to explain, as `splitbrain check` does, and
// reports the wall time of each phase on its own (read: the survey;
// check: porcupine's fast check of every key as the file is read again;
// explain: the verbose check and the diagram of the failing key; plots;
// timeline) and of the whole check, in which the check and the artefacts
// run side by side:
//
//	go test ./harness -run XXX -bench CheckMillion -benchtime 1x
//
// The goal is a whole check under 10 s on 2 cores.
func BenchmarkCheckMillion(b *testing.B) {
	dir := b.TempDir()
	run := filepath.Join(dir, "run")
	if err := os.MkdirAll(run, 0o755); err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(run, HistoryFile)
	writeBigHistory(b, path, 1_000_000, 1000, 1, true)
	st, _ := os.Stat(path)
	b.SetBytes(st.Size())
	var read, check, explain, plots, timeline, whole, wholeCPU time.Duration
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		sv, err := surveyHistory(path, time.Time{})
		if err != nil {
			b.Fatal(err)
		}
		read += time.Since(t0)
		out := b.TempDir()
		var times checkTimes
		lin, err := checkFileTimed(path, sv, model.Options{HTMLPath: filepath.Join(out, LinearHTML)}, time.Time{}, &times)
		if err != nil {
			b.Fatal(err)
		}
		if lin.Valid != model.Invalid || lin.Anomaly != model.AnomalyStaleRead {
			b.Fatalf("verdict %v anomaly %q, want the stale read: %s", lin.Valid, lin.Anomaly, lin.Explanation)
		}
		check += times.check
		explain += times.explain
		sv, err = surveyHistory(path, time.Time{})
		if err != nil {
			b.Fatal(err)
		}
		info := sv.reportInfo()
		t0 = time.Now()
		pl := report.NewPlotter(info)
		scanAll(b, path, pl.Add)
		if _, err := pl.Write(out); err != nil {
			b.Fatal(err)
		}
		plots += time.Since(t0)
		t0 = time.Now()
		tl := report.NewTimelineWriter(filepath.Join(out, TimelineFile), info, report.TimelineOptions{Focus: -1})
		scanAll(b, path, tl.Add)
		if _, err := tl.Close(); err != nil {
			b.Fatal(err)
		}
		timeline += time.Since(t0)
		os.RemoveAll(filepath.Join(run, "timeline"))
		t0 = time.Now()
		cpu0 := cpuTime()
		gc := debug.SetGCPercent(CheckGCPercent) // as splitbrain check runs
		o, err := Check(context.Background(), run, CheckOptions{Results: dir})
		debug.SetGCPercent(gc)
		if err != nil {
			b.Fatal(err)
		}
		whole += time.Since(t0)
		wholeCPU += cpuTime() - cpu0
		if o.Results.Valid != model.Invalid || o.Results.Timeline == "" || len(o.Results.Plots) != 2 {
			b.Fatalf("check: %v, timeline %q, plots %v, error %q", o.Results.Valid, o.Results.Timeline, o.Results.Plots, o.Results.Error)
		}
	}
	n := float64(b.N)
	b.ReportMetric(read.Seconds()/n, "read-s")
	b.ReportMetric(check.Seconds()/n, "check-s")
	b.ReportMetric(explain.Seconds()/n, "explain-s")
	b.ReportMetric(plots.Seconds()/n, "plots-s")
	b.ReportMetric(timeline.Seconds()/n, "timeline-s")
	b.ReportMetric(whole.Seconds()/n, "whole-s")
	// CPU time (user and system, every goroutine) depends less on what
	// else the machine runs than the wall times above.
	b.ReportMetric(wholeCPU.Seconds()/n, "whole-cpu-s")
}

// cpuTime is the CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func scanAll(tb testing.TB, path string, add func(*history.Event)) {
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	s := history.NewScanner(f, path)
	for s.Scan() {
		add(s.Event())
	}
	if s.Err() != nil {
		tb.Fatal(s.Err())
	}
}
