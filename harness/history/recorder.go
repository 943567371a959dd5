package history

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"
)

// SyncInterval is the longest a recorded event waits before it is on disk.
const SyncInterval = time.Second

// Recorder appends events to a history, assigning each its index and time
// under one lock so that index order is time order. Given a file, it
// writes the events there as they come and keeps none of them: its memory
// does not grow with the test, and the checker reads the file (a Scanner).
// Without one, it keeps them in memory (Events), for tests. It is safe for
// concurrent use.
type Recorder struct {
	mu     sync.Mutex
	now    func() int64
	events []Event // only without a file
	n      int64   // events recorded
	last   int64   // the time of the last event
	line   []byte
	path   string
	f      *os.File
	w      *bufio.Writer
	err    error
	stop   chan struct{}
	done   chan struct{}
}

// NewRecorder returns a recorder that stamps events with now() and writes
// them to path, syncing at least every SyncInterval and on Close; with an
// empty path it keeps them in memory instead.
func NewRecorder(path string, now func() int64) (*Recorder, error) {
	r := &Recorder{now: now}
	if path == "" {
		return r, nil
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o644)
	if err != nil {
		return nil, err
	}
	r.f, r.w, r.path = f, bufio.NewWriterSize(f, 64<<10), path
	r.stop, r.done = make(chan struct{}), make(chan struct{})
	go r.syncLoop()
	return r, nil
}

// syncLoop flushes and fsyncs on a wall-clock ticker. It touches only the
// file, never the events or their order, so it cannot affect a sim's output.
func (r *Recorder) syncLoop() {
	defer close(r.done)
	t := time.NewTicker(SyncInterval)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
			r.mu.Lock()
			r.syncLocked()
			r.mu.Unlock()
		}
	}
}

func (r *Recorder) syncLocked() {
	if r.f == nil || r.err != nil {
		return
	}
	if err := r.w.Flush(); err != nil {
		r.err = err
		return
	}
	if err := r.f.Sync(); err != nil {
		r.err = err
	}
}

// Record stamps e with the next index and the current time, appends it and
// returns it.
func (r *Recorder) Record(e Event) Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	e.Index = r.n
	e.Time = r.now()
	if r.n > 0 && e.Time < r.last {
		e.Time = r.last // a clock may not run backwards in a history
	}
	r.n++
	r.last = e.Time
	if r.f == nil && r.stop == nil {
		r.events = append(r.events, e)
	}
	if r.w != nil && r.err == nil {
		var err error
		if e.Process >= Nemesis {
			r.line = append(appendCanonical(r.line[:0], &e), '\n')
		} else {
			r.line, err = json.Marshal(e) // fails, naming the bad process
		}
		if err == nil {
			_, err = r.w.Write(r.line)
		}
		if err != nil {
			r.err = fmt.Errorf("writing history: %w", err)
		}
	}
	return e
}

// Len is the number of events recorded so far.
func (r *Recorder) Len() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

// Events returns the events recorded so far: a copy of those kept by a
// recorder without a file; a recorder with a file keeps none, and reads
// them back from its file (the whole history in memory: for tests and
// small histories; the checker streams the file instead).
func (r *Recorder) Events() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stop == nil {
		return append([]Event(nil), r.events...)
	}
	if r.f != nil && r.err == nil {
		if err := r.w.Flush(); err != nil {
			r.err = err
		}
	}
	res, err := ReadFile(r.path)
	if err != nil {
		panic(fmt.Sprintf("history: reading back %s: %v", r.path, err))
	}
	return res.Events
}

// Close syncs and closes the file. It returns the first write error, if
// any happened while recording.
func (r *Recorder) Close() error {
	if r.f == nil {
		return nil
	}
	close(r.stop)
	<-r.done
	r.mu.Lock()
	defer r.mu.Unlock()
	r.syncLocked()
	if err := r.f.Close(); err != nil && r.err == nil {
		r.err = err
	}
	r.f = nil
	return r.err
}
