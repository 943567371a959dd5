package history

import (
	"path/filepath"
	"testing"
)

// TestRecorderWithFileKeepsNoEvents: a recorder writing a file holds no
// events in memory (a long run's memory must not grow with its history),
// and still hands them back from the file.
func TestRecorderWithFileKeepsNoEvents(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.jsonl")
	now := int64(0)
	r, err := NewRecorder(path, func() int64 { now++; return now })
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 1000; i++ {
		r.Record(Event{Type: Invoke, Process: Process(i), F: FWrite, Key: "k", Value: Str("v")})
	}
	if len(r.events) != 0 || cap(r.events) != 0 {
		t.Errorf("the recorder keeps %d events in memory", len(r.events))
	}
	if r.Len() != 1000 {
		t.Errorf("Len %d, want 1000", r.Len())
	}
	if got := r.Events(); len(got) != 1000 || got[999].Index != 999 || got[999].Time != 1000 {
		t.Errorf("Events read back %d events", len(got))
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
}
