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
	bolt "go.etcd.io/bbolt"
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

func mustOpen(t *testing.T, dir string) (*Store, *raftkv.Durable) {
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
func writeSample(t *testing.T) (dir string, marker []byte) {
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
	n := bytes.Count(b, marker)
	if n == 0 {
		t.Fatal("marker not found in the file")
	}
	for i := 0; ; {
		j := bytes.Index(b[i:], marker)
		if j < 0 {
			break
		}
		b[i+j+3] ^= 0x20 // "CORrUPT"
		i += j + len(marker)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err = OpenStore(dir)
	var ce *CorruptError
	if !errors.As(err, &ce) {
		t.Fatalf("open of a store with a flipped byte: got %v, want a CorruptError", err)
	}
	for _, want := range []string{path, "log entry 7", "checksum mismatch"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestStoreDetectsGap(t *testing.T) {
	dir, _ := writeSample(t)
	path := filepath.Join(dir, StoreFile)
	db, err := bolt.Open(path, 0o644, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketLog).Delete(binary.BigEndian.AppendUint64(nil, 4)) }); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, _, err = OpenStore(dir)
	if err == nil || !strings.Contains(err.Error(), "gap in the log: entry 5 follows 3") || !strings.Contains(err.Error(), path) {
		t.Fatalf("got %v, want a gap error naming %s", err, path)
	}
}

func TestStoreDetectsMisplacedRecord(t *testing.T) {
	dir, _ := writeSample(t)
	path := filepath.Join(dir, StoreFile)
	db, err := bolt.Open(path, 0o644, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A record copied under another key fails its checksum (the key is in it).
	if err := db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketLog)
		v := append([]byte(nil), b.Get(indexKey(3))...)
		return b.Put(indexKey(4), v)
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, _, err = OpenStore(dir)
	if err == nil || !strings.Contains(err.Error(), "log entry 4: checksum mismatch") {
		t.Fatalf("got %v, want a checksum error at entry 4", err)
	}
}

func TestStoreRefusesDamagedFile(t *testing.T) {
	for name, damage := range map[string]func([]byte) []byte{
		"both meta pages": func(b []byte) []byte {
			for _, off := range []int{0, 4096} { // bbolt's two meta pages
				b[off+40] ^= 0xff
			}
			return b
		},
		"not a database": func([]byte) []byte { return bytes.Repeat([]byte("splitbrain"), 2000) },
		"truncated":      func(b []byte) []byte { return b[:100] },
	} {
		t.Run(name, func(t *testing.T) {
			dir, _ := writeSample(t)
			path := filepath.Join(dir, StoreFile)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, damage(b), 0o644); err != nil {
				t.Fatal(err)
			}
			_, _, err = OpenStore(dir)
			var ce *CorruptError
			if !errors.As(err, &ce) || ce.File != path {
				t.Fatalf("got %v, want a CorruptError naming %s", err, path)
			}
		})
	}
}

func TestRecordSealOpen(t *testing.T) {
	rec := seal([]byte("k"), []byte("payload"))
	if p, err := openRecord([]byte("k"), rec); err != nil || string(p) != "payload" {
		t.Fatalf("open(seal) = %q, %v", p, err)
	}
	if _, err := openRecord([]byte("other"), rec); err == nil {
		t.Fatal("a record opened under another key")
	}
	if _, err := openRecord([]byte("k"), rec[:3]); err == nil {
		t.Fatal("a short record opened")
	}
}

func FuzzOpenRecord(f *testing.F) {
	f.Add([]byte("k"), seal([]byte("k"), []byte("v")))
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 1}, []byte{1, 2, 3})
	f.Add([]byte{}, []byte{})
	f.Fuzz(func(t *testing.T, key, rec []byte) {
		p, err := openRecord(key, rec)
		if err != nil {
			return
		}
		if !bytes.Equal(seal(key, p), rec) {
			t.Fatalf("opened a record that does not re-seal identically")
		}
	})
}

// FuzzStoreFile damages a valid store file at one place: opening it must
// never panic or hang, and must fail or yield consecutive entries.
func FuzzStoreFile(f *testing.F) {
	dir := f.TempDir()
	s, _, err := OpenStore(dir)
	if err != nil {
		f.Fatal(err)
	}
	var es []*pb.Entry
	for i := uint64(1); i <= 20; i++ {
		es = append(es, entry(i, 1, strings.Repeat("x", int(i)*10)))
	}
	if err := s.Save([]*raftkv.Write{{Sync: true, Entries: es, HardState: hardState(1, 1, 20)},
		{LocalSnapshot: snapshot(15, 1, "snap"), Compact: 10}}); err != nil {
		f.Fatal(err)
	}
	s.Close()
	valid, err := os.ReadFile(filepath.Join(dir, StoreFile))
	if err != nil {
		f.Fatal(err)
	}
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
			return
		}
		defer s.Close()
		for i := 1; i < len(got.Entries); i++ {
			if got.Entries[i].GetIndex() != got.Entries[i-1].GetIndex()+1 {
				t.Fatalf("accepted a log with a gap at %d", got.Entries[i].GetIndex())
			}
		}
	})
}

// BenchmarkStoreSave measures one synced batch of 10 small entries: the
// cost of making a Ready durable (bbolt commits with fsync).
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
