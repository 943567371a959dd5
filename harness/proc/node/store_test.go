package node

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/splitbrain/splitbrain/harness/raftkv"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
	"pgregory.net/rapid"
)

func entry(index, term uint64, data string) *pb.Entry {
	return &pb.Entry{Index: &index, Term: &term, Data: []byte(data)}
}

func hardState(term, vote, commit uint64) *pb.HardState {
	return &pb.HardState{Term: &term, Vote: &vote, Commit: &commit}
}

func snapshot(index, term uint64, data string) *pb.Snapshot {
	return &pb.Snapshot{Data: []byte(data), Metadata: &pb.SnapshotMetadata{Index: &index, Term: &term,
		ConfState: &pb.ConfState{Voters: []uint64{1, 2, 3}}}}
}

// sameDurable fails unless got and want hold the same state.
func sameDurable(t interface {
	Helper()
	Fatalf(string, ...any)
}, got, want *raftkv.Durable) {
	t.Helper()
	if !proto.Equal(got.HardState, want.HardState) && !(got.HardState == nil && proto.Equal(want.HardState, &pb.HardState{})) {
		t.Fatalf("hard state: got %v, want %v", got.HardState, want.HardState)
	}
	if gi, wi := got.Snapshot.GetMetadata().GetIndex(), want.Snapshot.GetMetadata().GetIndex(); gi != wi ||
		(wi > 0 && !proto.Equal(got.Snapshot, want.Snapshot)) {
		t.Fatalf("snapshot: got index %d, want %d", gi, wi)
	}
	if len(got.Entries) != len(want.Entries) {
		t.Fatalf("entries: got %d (%s), want %d (%s)", len(got.Entries), span(got.Entries), len(want.Entries), span(want.Entries))
	}
	for i := range got.Entries {
		if !proto.Equal(got.Entries[i], want.Entries[i]) {
			t.Fatalf("entry %d: got %v, want %v", i, got.Entries[i], want.Entries[i])
		}
	}
}

func span(es []*pb.Entry) string {
	if len(es) == 0 {
		return "none"
	}
	return fmt.Sprintf("%d..%d", es[0].GetIndex(), es[len(es)-1].GetIndex())
}

func mustOpen(t testing.TB, dir string) (*Store, *raftkv.Durable) {
	t.Helper()
	s, d, err := OpenStore(dir)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return s, d
}

func TestStoreRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s, d := mustOpen(t, dir)
	if !d.Empty() || s.Boots() != 1 {
		t.Fatalf("new store: empty %v boots %d", d.Empty(), s.Boots())
	}
	want := &raftkv.Durable{}
	writes := []*raftkv.Write{
		{Sync: true, Entries: []*pb.Entry{entry(1, 1, "a"), entry(2, 1, "b"), entry(3, 1, "c")}, HardState: hardState(1, 1, 1)},
		{Sync: true, Entries: []*pb.Entry{entry(3, 2, "c2"), entry(4, 2, "d")}, HardState: hardState(2, 2, 2)}, // overwrites 3
		{HardState: hardState(2, 2, 4)},
		{LocalSnapshot: snapshot(3, 2, "state@3"), Compact: 2},
	}
	if err := s.Save(writes[:2]); err != nil {
		t.Fatal(err)
	}
	if err := s.Save(writes[2:]); err != nil {
		t.Fatal(err)
	}
	for _, w := range writes {
		want.Apply(w)
	}
	s.Close()
	s, d = mustOpen(t, dir)
	sameDurable(t, d, want)
	if s.Boots() != 2 {
		t.Fatalf("boots after reopen = %d, want 2", s.Boots())
	}
	// A snapshot from the leader replaces everything.
	w := &raftkv.Write{Sync: true, Snapshot: snapshot(10, 3, "state@10"), HardState: hardState(3, 0, 10)}
	if err := s.Save([]*raftkv.Write{w, {Sync: true, Entries: []*pb.Entry{entry(11, 3, "k")}}}); err != nil {
		t.Fatal(err)
	}
	want.Apply(w)
	want.Apply(&raftkv.Write{Entries: []*pb.Entry{entry(11, 3, "k")}})
	s.Close()
	s, d = mustOpen(t, dir)
	defer s.Close()
	sameDurable(t, d, want)
}

// TestStoreMatchesDurable checks that Store implements raftkv.Durable.Apply
// exactly, over random raft-like write sequences split into random
// batches, reopening the store at random points.
func TestStoreMatchesDurable(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		dir, err := os.MkdirTemp("", "store-prop")
		if err != nil {
			rt.Fatal(err)
		}
		defer os.RemoveAll(dir)
		s, _, err := OpenStore(dir)
		if err != nil {
			rt.Fatal(err)
		}
		defer func() { s.Close() }()
		// Small checkpoints: the log is rewritten often.
		small := rapid.Bool().Draw(rt, "small checkpoints")
		if small {
			s.ckptMin, s.ckptAt = 1<<10, 1<<10
		}
		ref := &raftkv.Durable{}
		var term, commit, snapIdx uint64 = 1, 0, 0
		var batch []*raftkv.Write
		steps := rapid.IntRange(1, 60).Draw(rt, "steps")
		for i := 0; i < steps; i++ {
			last := ref.LastIndex()
			var w *raftkv.Write
			switch rapid.IntRange(0, 9).Draw(rt, "kind") {
			case 0, 1, 2, 3: // append, maybe overwriting an uncommitted tail
				from := rapid.Uint64Range(max(commit, snapIdx)+1, last+1).Draw(rt, "from")
				if rapid.Bool().Draw(rt, "newterm") {
					term++
				}
				n := rapid.IntRange(1, 4).Draw(rt, "n")
				var es []*pb.Entry
				for j := 0; j < n; j++ {
					es = append(es, entry(from+uint64(j), term, fmt.Sprintf("e%d.%d", i, j)))
				}
				w = &raftkv.Write{Sync: true, Entries: es}
			case 4, 5: // commit more
				if last > commit {
					commit = rapid.Uint64Range(commit+1, last).Draw(rt, "commit")
				}
				w = &raftkv.Write{HardState: hardState(term, 1, commit)}
			case 6, 7: // local snapshot and compaction
				if commit <= snapIdx {
					continue
				}
				idx := rapid.Uint64Range(snapIdx+1, commit).Draw(rt, "snap")
				keep := rapid.Uint64Range(0, 3).Draw(rt, "keep")
				w = &raftkv.Write{LocalSnapshot: snapshot(idx, term, fmt.Sprintf("s%d", idx))}
				if idx > keep {
					w.Compact = idx - keep
				}
				snapIdx = idx
			case 8: // snapshot from a leader, ahead of everything
				idx := max(last, snapIdx) + rapid.Uint64Range(1, 5).Draw(rt, "ahead")
				term++
				commit, snapIdx = idx, idx
				w = &raftkv.Write{Sync: true, Snapshot: snapshot(idx, term, fmt.Sprintf("r%d", idx)), HardState: hardState(term, 0, idx)}
			case 9: // crash and reopen: only saved batches survive
				s.Close()
				var d *raftkv.Durable
				s, d, err = OpenStore(dir)
				if err != nil {
					rt.Fatal(err)
				}
				if small {
					s.ckptMin, s.ckptAt = 1<<10, 1<<10
				}
				sameDurable(rt, d, ref)
				continue
			}
			batch = append(batch, w)
			if w.Sync || rapid.Bool().Draw(rt, "flush") {
				if err := s.Save(batch); err != nil {
					rt.Fatal(err)
				}
				for _, b := range batch {
					ref.Apply(b)
				}
				batch = nil
			}
		}
		if err := s.Save(batch); err != nil {
			rt.Fatal(err)
		}
		for _, b := range batch {
			ref.Apply(b)
		}
		s.Close()
		var d *raftkv.Durable
		s, d, err = OpenStore(dir)
		if err != nil {
			rt.Fatal(err)
		}
		sameDurable(rt, d, ref)
	})
}

// writeSample makes a store whose entry 7 carries a unique payload.
func writeSample(t testing.TB) (dir string, marker []byte) {
	dir = t.TempDir()
	s, _ := mustOpen(t, dir)
	marker = []byte("CORRUPT-ME-0123456789")
	var es []*pb.Entry
	for i := uint64(1); i <= 10; i++ {
		data := fmt.Sprintf("entry-%d", i)
		if i == 7 {
			data = string(marker)
		}
		es = append(es, entry(i, 1, data))
	}
	if err := s.Save([]*raftkv.Write{{Sync: true, Entries: es, HardState: hardState(1, 1, 10)}}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	return dir, marker
}

func TestStoreDetectsFlippedByte(t *testing.T) {
	dir, marker := writeSample(t)
	path := filepath.Join(dir, StoreFile)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(b, marker)
	if i < 0 {
		t.Fatal("marker not found in the file")
	}
	b[i+3] ^= 0x20 // "CORrUPT"
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err = OpenStore(dir)
	var ce *CorruptError
	if !errors.As(err, &ce) {
		t.Fatalf("open of a store with a flipped byte: got %v, want a CorruptError", err)
	}
	for _, want := range []string{path, "batch at offset", "checksum mismatch"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

// rawBatch appends a batch built by build to the store in dir, bypassing
// Save's bookkeeping: a way to write states Save never writes.
func rawBatch(t *testing.T, dir string, build func(*batchWriter)) {
	t.Helper()
	s, _ := mustOpen(t, dir)
	defer s.Close()
	s.bw.reset()
	build(&s.bw)
	if err := s.appendBatch(); err != nil {
		t.Fatal(err)
	}
}

// TestStoreRefusesInconsistentState: batches whose checksums hold but
// whose content is not a state any sequence of writes makes.
func TestStoreRefusesInconsistentState(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		build      func(*batchWriter)
	}{
		{"gap in the log", "gap in the log: entry 12 follows 10", func(b *batchWriter) {
			b.write(&raftkv.Write{Entries: []*pb.Entry{entry(12, 1, "x")}})
		}},
		{"commit beyond the log", "the hard state commits index 20 but the store ends at 10", func(b *batchWriter) {
			b.write(&raftkv.Write{HardState: hardState(1, 1, 20)})
		}},
		{"compaction beyond the snapshot", "compaction to index 5, beyond the snapshot at 0", func(b *batchWriter) {
			b.write(&raftkv.Write{Compact: 5})
		}},
		{"log after a snapshot with a gap", "gap between the snapshot at index 30 and entry 40", func(b *batchWriter) {
			b.write(&raftkv.Write{Snapshot: snapshot(30, 2, "s"), Entries: []*pb.Entry{entry(40, 2, "x")}})
		}},
		{"unknown record", "unknown record type 99", func(b *batchWriter) { b.bytes(99, []byte("?")) }},
		{"second format record", "a format record after the start of the file", func(b *batchWriter) {
			b.bytes(recFormat, []byte(storeFormat))
		}},
		{"boot count going back", "boot count 1 after 2", func(b *batchWriter) { b.uvarint(recBoot, 1) }},
		{"undecodable entry", "log entry not decodable", func(b *batchWriter) { b.bytes(recEntry, []byte{0xff, 0xff}) }},
		{"record longer than its batch", "record 0: bad length", func(b *batchWriter) {
			b.buf = append(b.buf, recEntry, 50, 1)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, _ := writeSample(t)
			rawBatch(t, dir, tc.build)
			_, _, err := OpenStore(dir)
			var ce *CorruptError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.want) || ce.File != filepath.Join(dir, StoreFile) {
				t.Fatalf("got %v, want a CorruptError saying %q", err, tc.want)
			}
		})
	}
}

func TestStoreRefusesDamagedFile(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		damage     func([]byte) []byte
	}{
		{"first header", "batch header at offset 0: header checksum mismatch", func(b []byte) []byte { b[5] ^= 1; return b }},
		{"not a store", "batch header at offset 0: no batch magic", func([]byte) []byte { return bytes.Repeat([]byte("splitbrain"), 2000) }},
		{"empty", "does not start with its format record", func([]byte) []byte { return nil }},
		{"zeros", "batch header at offset 0: no batch magic", func(b []byte) []byte { return make([]byte, len(b)) }},
		{"truncated", "runs past the end of the file", func(b []byte) []byte { return b[:100] }},
		{"data after the end of the log", "data after the end of the log", func(b []byte) []byte { b[len(b)-1] = 1; return b }},
		{"a later header", "header checksum mismatch", func(b []byte) []byte {
			first := headerSize + int(binary.BigEndian.Uint32(b[4:]))
			b[first+6] ^= 0x10 // the second batch's length
			return b
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, _ := writeSample(t)
			path := filepath.Join(dir, StoreFile)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, tc.damage(b), 0o644); err != nil {
				t.Fatal(err)
			}
			_, _, err = OpenStore(dir)
			var ce *CorruptError
			if !errors.As(err, &ce) || ce.File != path || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want a CorruptError naming %s and saying %q", err, path, tc.want)
			}
		})
	}
}

// TestStoreRefusesHoles: a write whose entries would leave a hole in the
// log is refused whole, before anything of it is stored.
func TestStoreRefusesHoles(t *testing.T) {
	dir, _ := writeSample(t) // entries 1..10
	s, want := mustOpen(t, dir)
	for _, ws := range [][]*raftkv.Write{
		{{Entries: []*pb.Entry{entry(12, 1, "x")}}},
		{{Entries: []*pb.Entry{entry(11, 1, "x"), entry(13, 1, "y")}}},
		{{Entries: []*pb.Entry{entry(11, 1, "x")}}, {Entries: []*pb.Entry{entry(13, 1, "y")}}},
		{{Snapshot: snapshot(20, 2, "s")}, {Entries: []*pb.Entry{entry(22, 2, "y")}}},
	} {
		if err := s.Save(ws); err == nil || !strings.Contains(err.Error(), "hole") {
			t.Fatalf("save of %d writes with a hole: %v", len(ws), err)
		}
	}
	// A snapshot, then the entry after it, then a compaction of
	// everything: the next entry follows the snapshot.
	ok := []*raftkv.Write{{Snapshot: snapshot(20, 2, "s")}, {Entries: []*pb.Entry{entry(21, 2, "y")}},
		{LocalSnapshot: snapshot(21, 2, "s2"), Compact: 21}, {Entries: []*pb.Entry{entry(22, 2, "z")}}}
	if err := s.Save(ok); err != nil {
		t.Fatal(err)
	}
	s.Close()
	for _, w := range ok {
		want.Apply(w)
	}
	s, got := mustOpen(t, dir)
	defer s.Close()
	sameDurable(t, got, want)
}

func TestStoreRefusesLegacyFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, legacyStoreFile), []byte("bbolt"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := OpenStore(dir)
	var ce *CorruptError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), legacyStoreFile) {
		t.Fatalf("got %v, want a CorruptError naming %s", err, legacyStoreFile)
	}
}

func TestStoreLocked(t *testing.T) {
	dir := t.TempDir()
	s, _ := mustOpen(t, dir)
	defer s.Close()
	if _, _, err := OpenStore(dir); !errors.Is(err, ErrStoreLocked) {
		t.Fatalf("second open: %v, want ErrStoreLocked", err)
	}
}

// tornSample saves three batches, the last one spanning several pages,
// and returns the file, where the last batch starts, and the state
// without it.
func tornSample(t *testing.T) (dir string, b []byte, last int64, before *raftkv.Durable) {
	dir = t.TempDir()
	s, _ := mustOpen(t, dir)
	before = &raftkv.Durable{}
	for _, w := range []*raftkv.Write{
		{Sync: true, Entries: []*pb.Entry{entry(1, 1, "a"), entry(2, 1, "b")}, HardState: hardState(1, 1, 1)},
		{Sync: true, Entries: []*pb.Entry{entry(3, 1, "c")}, HardState: hardState(1, 1, 2)},
	} {
		if err := s.Save([]*raftkv.Write{w}); err != nil {
			t.Fatal(err)
		}
		before.Apply(w)
	}
	last = s.off
	big := &raftkv.Write{Sync: true, Entries: []*pb.Entry{entry(4, 1, strings.Repeat("x", 3*pageSize))}, HardState: hardState(1, 1, 4)}
	if err := s.Save([]*raftkv.Write{big}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	b, err := os.ReadFile(filepath.Join(dir, StoreFile))
	if err != nil {
		t.Fatal(err)
	}
	return dir, b, last, before
}

// TestStoreTornTail: a batch cut short at a page boundary (the node
// killed while writing it) is dropped, and the store goes on from the
// state before it; damage of any other shape in the last batch is not.
func TestStoreTornTail(t *testing.T) {
	_, b0, last, before := tornSample(t)
	for _, tc := range []struct {
		name     string
		from, to int64 // zeroed
		torn     bool
	}{
		{"payload cut at a page boundary", roundUp(last+headerSize+1, pageSize) + pageSize, int64(len(b0)), true},
		{"header written, payload not", roundUp(last+headerSize, pageSize), int64(len(b0)), true},
		{"a page zeroed inside the batch", roundUp(last+headerSize+1, pageSize), roundUp(last+headerSize+1, pageSize) + pageSize, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			b := append([]byte(nil), b0...)
			clear(b[tc.from:tc.to])
			path := filepath.Join(dir, StoreFile)
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			s, d, err := OpenStore(dir)
			if !tc.torn {
				var ce *CorruptError
				if !errors.As(err, &ce) || !strings.Contains(err.Error(), "checksum mismatch") {
					t.Fatalf("got %v, want a checksum mismatch", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("open with a torn last batch: %v", err)
			}
			if from, to, ok := s.Torn(); !ok || from != last || to <= from {
				t.Fatalf("Torn() = %d, %d, %v; want the batch from %d", from, to, ok, last)
			}
			sameDurable(t, d, before)
			// The torn bytes are gone: a short batch now, then a reopen.
			w := &raftkv.Write{Sync: true, Entries: []*pb.Entry{entry(4, 2, "d")}, HardState: hardState(2, 2, 4)}
			if err := s.Save([]*raftkv.Write{w}); err != nil {
				t.Fatal(err)
			}
			s.Close()
			want := before.Clone()
			want.Apply(w)
			s, d = mustOpen(t, dir)
			defer s.Close()
			sameDurable(t, d, want)
			if s.Boots() != 3 {
				t.Fatalf("boots = %d, want 3", s.Boots())
			}
		})
	}
}

// TestStoreTornHeader: a batch whose header straddles a page boundary,
// cut there.
func TestStoreTornHeader(t *testing.T) {
	dir := t.TempDir()
	s, _ := mustOpen(t, dir)
	want := &raftkv.Durable{}
	batchLen := func(w *raftkv.Write) int64 {
		var bw batchWriter
		bw.reset()
		bw.write(w)
		b, _ := bw.finish()
		return int64(len(b))
	}
	// Batches of filler until one fits exactly up to 5 bytes before a
	// page boundary.
	for i := uint64(1); ; i++ {
		if i > 100 {
			t.Fatal("no batch size reaches 5 bytes before a page boundary")
		}
		gap := roundUp(s.off+1, pageSize) - s.off
		w := &raftkv.Write{Entries: []*pb.Entry{entry(i, 1, strings.Repeat("y", 500))}}
		for n := 0; n < 500; n++ {
			if c := (&raftkv.Write{Entries: []*pb.Entry{entry(i, 1, strings.Repeat("y", n))}}); batchLen(c) == gap-5 {
				w = c
				break
			}
		}
		if err := s.Save([]*raftkv.Write{w}); err != nil {
			t.Fatal(err)
		}
		want.Apply(w)
		if s.off%pageSize == pageSize-5 {
			break
		}
	}
	at := s.off
	if err := s.Save([]*raftkv.Write{{Entries: []*pb.Entry{entry(want.LastIndex()+1, 1, "z")}}}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	path := filepath.Join(dir, StoreFile)
	b, _ := os.ReadFile(path)
	clear(b[at+5:])
	os.WriteFile(path, b, 0o644)
	s, d := mustOpen(t, dir)
	defer s.Close()
	sameDurable(t, d, want)
}

// TestStoreCheckpoint: the log is rewritten as one checkpoint when it has
// grown, and the state survives it and reopening.
func TestStoreCheckpoint(t *testing.T) {
	dir := t.TempDir()
	s, _ := mustOpen(t, dir)
	s.ckptMin, s.ckptAt = 8<<10, 8<<10
	want := &raftkv.Durable{}
	checkpoints := 0
	for i := uint64(1); i <= 300; i++ {
		w := &raftkv.Write{Sync: true, Entries: []*pb.Entry{entry(i, 1, strings.Repeat("v", 100))}, HardState: hardState(1, 1, i)}
		if i%50 == 0 {
			w.LocalSnapshot, w.Compact = snapshot(i, 1, fmt.Sprintf("s%d", i)), i-10
		}
		before := s.off
		if err := s.Save([]*raftkv.Write{w}); err != nil {
			t.Fatal(err)
		}
		if s.off < before {
			checkpoints++
		}
		want.Apply(w)
	}
	if checkpoints == 0 {
		t.Fatal("no checkpoint written")
	}
	s.Close()
	if _, err := os.Stat(filepath.Join(dir, StoreFile+".new")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("checkpoint file left behind: %v", err)
	}
	s, d := mustOpen(t, dir)
	defer s.Close()
	sameDurable(t, d, want)
	if s.Boots() != 2 {
		t.Fatalf("boots = %d, want 2", s.Boots())
	}
}

// FuzzStoreFile damages a valid store file at one place: opening it must
// never panic or hang, and must fail or yield the state after some prefix
// of the saved batches (a torn last batch is dropped), never any other.
func FuzzStoreFile(f *testing.F) {
	dir := f.TempDir()
	s, _, err := OpenStore(dir)
	if err != nil {
		f.Fatal(err)
	}
	states := []*raftkv.Durable{{}}
	var es []*pb.Entry
	for i := uint64(1); i <= 20; i++ {
		es = append(es, entry(i, 1, strings.Repeat("x", int(i)*10)))
	}
	ref := &raftkv.Durable{}
	for _, ws := range [][]*raftkv.Write{
		{{Sync: true, Entries: es[:12], HardState: hardState(1, 1, 12)}},
		{{Sync: true, Entries: es[12:], HardState: hardState(1, 1, 20)}, {LocalSnapshot: snapshot(15, 1, "snap"), Compact: 10}},
		{{Sync: true, Entries: []*pb.Entry{entry(21, 2, strings.Repeat("big", 2000))}, HardState: hardState(2, 2, 20)}},
	} {
		if err := s.Save(ws); err != nil {
			f.Fatal(err)
		}
		for _, w := range ws {
			ref.Apply(w)
		}
		states = append(states, ref.Clone())
	}
	s.Close()
	valid, err := os.ReadFile(filepath.Join(dir, StoreFile))
	if err != nil {
		f.Fatal(err)
	}
	valid = valid[:roundUp(lastNonZero(valid)+1, pageSize)+pageSize] // spare the fuzzer most of the zeros
	f.Add(uint32(0), byte(0xff))
	f.Add(uint32(4096+16), byte(1))
	f.Add(uint32(3*4096+20), byte(0x80))
	f.Add(uint32(len(valid)-1), byte(7))
	f.Fuzz(func(t *testing.T, off uint32, x byte) {
		b := append([]byte(nil), valid...)
		b[int(off)%len(b)] ^= x
		d := t.TempDir()
		if err := os.WriteFile(filepath.Join(d, StoreFile), b, 0o644); err != nil {
			t.Fatal(err)
		}
		s, got, err := OpenStore(d)
		if err != nil {
			var ce *CorruptError
			if !errors.As(err, &ce) {
				t.Fatalf("a damaged store gave %v, not a CorruptError", err)
			}
			return
		}
		defer s.Close()
		if x != 0 && !bytes.Equal(b, valid) {
			for _, st := range states {
				if durableEqual(got, st) {
					return
				}
			}
			t.Fatalf("a damaged store opened to a state that was never saved: %d entries (%s), hard state %v", len(got.Entries), span(got.Entries), got.HardState)
		}
	})
}

// FuzzParseStore: any bytes at all either fail the checks or give a log of
// consecutive entries.
func FuzzParseStore(f *testing.F) {
	dir, _ := writeSample(f)
	b, err := os.ReadFile(filepath.Join(dir, StoreFile))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b[:roundUp(lastNonZero(b)+1, 64)])
	f.Add([]byte{})
	f.Add([]byte(batchMagic))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := parseStore(b)
		if err != nil {
			return
		}
		for i := 1; i < len(r.d.Entries); i++ {
			if r.d.Entries[i].GetIndex() != r.d.Entries[i-1].GetIndex()+1 {
				t.Fatalf("accepted a log with a gap at %d", r.d.Entries[i].GetIndex())
			}
		}
		if r.end > int64(len(b)) || (r.torn != 0 && r.torn <= r.end) {
			t.Fatalf("end %d, torn %d in a file of %d bytes", r.end, r.torn, len(b))
		}
	})
}

func durableEqual(a, b *raftkv.Durable) bool {
	if !proto.Equal(a.HardState, b.HardState) && !(a.HardState == nil && proto.Equal(b.HardState, &pb.HardState{})) &&
		!(b.HardState == nil && proto.Equal(a.HardState, &pb.HardState{})) {
		return false
	}
	if a.Snapshot.GetMetadata().GetIndex() != b.Snapshot.GetMetadata().GetIndex() ||
		(a.Snapshot.GetMetadata().GetIndex() > 0 && !proto.Equal(a.Snapshot, b.Snapshot)) || len(a.Entries) != len(b.Entries) {
		return false
	}
	for i := range a.Entries {
		if !proto.Equal(a.Entries[i], b.Entries[i]) {
			return false
		}
	}
	return true
}

// BenchmarkStoreSave measures one synced batch of 10 small entries: the
// cost of making a Ready durable (one write and one fdatasync).
func BenchmarkStoreSave(b *testing.B) {
	s, _, err := OpenStore(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	idx := uint64(0)
	for i := 0; i < b.N; i++ {
		var es []*pb.Entry
		for j := 0; j < 10; j++ {
			idx++
			es = append(es, entry(idx, 1, "put k=v (req 1.1) padding padding"))
		}
		if err := s.Save([]*raftkv.Write{{Sync: true, Entries: es, HardState: hardState(1, 1, idx)}}); err != nil {
			b.Fatal(err)
		}
		if idx%1000 == 0 { // keep the log short, as snapshots do
			s.Save([]*raftkv.Write{{LocalSnapshot: snapshot(idx, 1, "s"), Compact: idx - 100}})
		}
	}
}
