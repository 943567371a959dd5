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
// under one lock so that index order is time order. It keeps the events in
// memory for the checker and, when given a file, writes them there as they
// come. It is safe for concurrent use.
type Recorder struct {
	mu     sync.Mutex
	now    func() int64
	events []Event
	f      *os.File
	w      *bufio.Writer
	err    error
	stop   chan struct{}
	done   chan struct{}
}

// NewRecorder returns a recorder that stamps events with now() and writes
// them to path (if path is not empty), syncing at least every SyncInterval
// and on Close.
func NewRecorder(path string, now func() int64) (*Recorder, error) {
	r := &Recorder{now: now}
	if path == "" {
		return r, nil
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o644)
	if err != nil {
		return nil, err
	}
	r.f, r.w = f, bufio.NewWriterSize(f, 64<<10)
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
	e.Index = int64(len(r.events))
	e.Time = r.now()
	if n := len(r.events); n > 0 && e.Time < r.events[n-1].Time {
		e.Time = r.events[n-1].Time // a clock may not run backwards in a history
	}
	r.events = append(r.events, e)
	if r.w != nil && r.err == nil {
		b, err := json.Marshal(e)
		if err == nil {
			b = append(b, '\n')
			_, err = r.w.Write(b)
		}
		if err != nil {
			r.err = fmt.Errorf("writing history: %w", err)
		}
	}
	return e
}

// Events returns a copy of the events recorded so far.
func (r *Recorder) Events() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.events...)
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
