package harness

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/splitbrain/splitbrain/harness/history"
	"github.com/splitbrain/splitbrain/harness/report"
	"github.com/splitbrain/splitbrain/model"
)

// A history is checked from its file, in passes, so that the memory of a
// check does not grow with the length of the test: the first pass (the
// survey) reads every event once to count and index it; then the
// linearizability check (checkFile) and the artefacts (plots, timeline)
// each read the file again, side by side. Each pass holds what it is
// working on — the keys whose last event is still ahead, the points
// drawn, the timeline pages still open — never the history.

// CheckGCPercent is the garbage collector's GOGC for `splitbrain check`
// (unless GOGC is set): a check allocates much and keeps little (its
// memory is bounded: a few tens of megabytes for a million operations), so
// collecting when the heap has grown fivefold instead of twofold saves a
// fifth of its CPU for some 70 MB more.
const CheckGCPercent = 400

// survey is what the first pass over a history finds.
type survey struct {
	events  int64         // events read
	last    history.Event // the last of them
	clients int64         // client events among them
	stats   *model.StatsCounter
	live    *model.LivenessEvents
	report  *report.Survey
	keyLast map[string]int64 // each key's last event, by position
	torn    int              // the torn final line dropped, or 0
}

// nemesis are the history's fault events.
func (s *survey) nemesis() []history.Event { return s.reportInfo().Nemesis }

func (s *survey) reportInfo() report.HistoryInfo { return s.report.Info() }

// end is the index past the history's last event.
func (s *survey) end() int64 {
	if s.events == 0 {
		return 0
	}
	return s.last.Index + 1
}

// surveyHistory reads the JSONL history at path (strictly: a malformed
// history is a *history.ParseError), stopping at the deadline (an error
// wrapping errCheckDeadline).
func surveyHistory(path string, deadline time.Time) (*survey, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sv := &survey{stats: model.NewStatsCounter(), live: model.NewLivenessEvents(), report: report.NewSurvey(),
		keyLast: map[string]int64{}}
	s := history.NewScanner(deadlineReader{f, deadline}, path)
	for s.Scan() {
		e := s.Event()
		sv.stats.Add(e)
		sv.live.Add(e)
		sv.report.Add(e)
		if e.Process != history.Nemesis {
			sv.clients++
			sv.keyLast[e.Key] = sv.events
		}
		sv.last = *e
		sv.events++
	}
	if torn, line := s.Torn(); torn {
		sv.torn = line
	}
	return sv, s.Err()
}

// checkFile is the linearizability pass: it reads the history at path
// again and hands each key to a model.KeyChecker as soon as its last event
// (known from the survey) is read, so that memory holds the keys still
// being read. Keys not read by the deadline are undecided. It consumes
// sv.keyLast.
func checkFile(path string, sv *survey, opts model.Options, deadline time.Time) (model.Linearizability, error) {
	return checkFileTimed(path, sv, opts, deadline, nil)
}

// checkTimes are the wall times of checkFile's phases, for the benchmark.
type checkTimes struct{ check, explain time.Duration }

func checkFileTimed(path string, sv *survey, opts model.Options, deadline time.Time, times *checkTimes) (model.Linearizability, error) {
	started := time.Now()
	c, err := model.NewKeyChecker(opts, 0)
	if err != nil {
		return model.Linearizability{}, err
	}
	f, err := os.Open(path)
	if err != nil {
		c.Finish(nil, 0)
		return model.Linearizability{}, err
	}
	defer f.Close()
	open := map[string][]history.Event{}
	s := history.NewScanner(deadlineReader{f, deadline}, path)
	for pos := int64(0); s.Scan(); pos++ {
		e := s.Event()
		if e.Process == history.Nemesis {
			continue
		}
		open[e.Key] = append(open[e.Key], *e)
		if sv.keyLast[e.Key] == pos {
			c.Add(e.Key, open[e.Key])
			delete(open, e.Key)
			delete(sv.keyLast, e.Key)
		}
	}
	// Keys not read to their end (the deadline passed): undecided.
	for k := range sv.keyLast {
		c.AddUndecided(k)
	}
	c.Wait()
	explaining := time.Now()
	lin, err := c.Finish(sv.nemesis(), sv.end())
	if times != nil {
		times.check, times.explain = explaining.Sub(started), time.Since(explaining)
	}
	if serr := s.Err(); serr != nil && err == nil && !errors.Is(serr, errCheckDeadline) {
		err = fmt.Errorf("reading the history again: %w", serr)
	}
	return lin, err
}

// copyHistory writes the events of the history at src to a new file dst,
// each in the canonical form, dropping a torn final line as the survey
// did.
func copyHistory(dst, src string, deadline time.Time) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(out, 256<<10)
	s := history.NewScanner(deadlineReader{in, deadline}, src)
	var line []byte
	for s.Scan() {
		line = append(history.AppendLine(line[:0], s.Event()), '\n')
		if _, err := w.Write(line); err != nil {
			out.Close()
			return err
		}
	}
	if err := s.Err(); err != nil {
		out.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
