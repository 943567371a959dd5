package harness

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/splitbrain/splitbrain/harness/history"
)

// progressEvery is how often the live status is redrawn (wall time: it
// is for the person watching, and never touches the run).
const progressEvery = 250 * time.Millisecond

// progress is the live one-line status of a run (Test.Progress): a bar of
// test time, the operations so far and the faults in effect, then
// "checking" while the history is checked. It sees the run only through
// the events recorded (it wraps the recorder), so it is the same for
// every world and cannot change what a run does: the sim's history is
// byte-identical with or without it.
type progress struct {
	rec *history.Recorder

	mu       sync.Mutex
	now      int64 // test time of the last event
	ok       int
	fail     int
	info     int
	nemesis  []history.Event
	checking int // events being checked (0: still running)

	total time.Duration
	bar   *progressbar.ProgressBar
	stop  chan struct{}
	done  chan struct{}
}

// newProgress starts drawing the status of a test of length total on w.
func newProgress(w io.Writer, rec *history.Recorder, total time.Duration) *progress {
	p := &progress{rec: rec, total: total, stop: make(chan struct{}), done: make(chan struct{})}
	p.bar = progressbar.NewOptions64(max(1, total.Milliseconds()),
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetWidth(20),
		progressbar.OptionThrottle(0),
		progressbar.OptionSetElapsedTime(false),
		progressbar.OptionSetPredictTime(false),
		progressbar.OptionShowDescriptionAtLineEnd(),
		progressbar.OptionSetDescription(p.describe()),
	)
	go p.draw()
	return p
}

// Record records e and counts it.
func (p *progress) Record(e history.Event) history.Event {
	e = p.rec.Record(e)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.now = e.Time
	switch {
	case e.Process == history.Nemesis:
		p.nemesis = append(p.nemesis, e)
	case e.Type == history.OK:
		p.ok++
	case e.Type == history.Fail:
		p.fail++
	case e.Type == history.Info:
		p.info++
	}
	return e
}

// check switches the status to the check of n events.
func (p *progress) check(n int) {
	p.mu.Lock()
	p.checking = max(n, 1)
	p.mu.Unlock()
}

// close erases the status line: the summary follows.
func (p *progress) close() {
	close(p.stop)
	<-p.done
}

func (p *progress) draw() {
	defer close(p.done)
	t := time.NewTicker(progressEvery)
	defer t.Stop()
	last := ""
	for {
		desc := p.describe()
		p.mu.Lock()
		at := min(time.Duration(p.now), p.total)
		if p.checking > 0 {
			at = p.total
		}
		p.mu.Unlock()
		if desc != last {
			// Only a change is drawn: a terminal left alone stays quiet.
			last = desc
			p.bar.Describe(desc)
			p.bar.Set64(at.Milliseconds())
		}
		select {
		case <-p.stop:
			p.bar.Clear()
			return
		case <-t.C:
		}
	}
}

// describe is the text beside the bar: "12.3s/60s · ok 812 fail 40
// info 2 · kill n3, partition halves" or "checking 24,000 events…".
func (p *progress) describe() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.checking > 0 {
		return fmt.Sprintf("checking %d events…", p.checking)
	}
	s := fmt.Sprintf("%s/%v · ok %d fail %d info %d", secondsText(time.Duration(p.now).Seconds()), p.total, p.ok, p.fail, p.info)
	var open []string
	for _, w := range history.FaultWindows(p.nemesis) {
		if w.End < 0 && history.IsWindowOpener(w.F) {
			open = append(open, clip(w.Label, 28))
		}
	}
	switch {
	case len(open) == 0:
		s += " · no faults"
	case len(open) <= 2:
		s += " · " + strings.Join(open, ", ")
	default:
		s += fmt.Sprintf(" · %s, %s +%d", open[0], open[1], len(open)-2)
	}
	return s
}

// clip shortens s to at most n runes, with an ellipsis.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
