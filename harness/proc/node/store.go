package node

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/splitbrain/splitbrain/harness/raftkv"
)

// StoreFile is the name of the node's write-ahead log inside its data
// directory (its format: wal.go).
const StoreFile = "raft.wal"

// legacyStoreFile is the bbolt file of earlier versions of the node.
const legacyStoreFile = "raft.db"

// Growth and checkpoint sizes of the store file.
const (
	minGrow       = 64 << 10 // zero-filled bytes added ahead of the log, at least…
	maxGrow       = 1 << 20  // …and at most (the step doubles with the file)
	minCheckpoint = 4 << 20  // the log is rewritten as one checkpoint past this size…
	checkpointX   = 4        // …or past this many times the last checkpoint, if larger
)

// ErrStoreLocked is returned by OpenStore when another process holds the
// data directory.
var ErrStoreLocked = errors.New("store locked by another process")

// CorruptError says that a store cannot be trusted: a checksum that does
// not match, a gap in the log, a file that is not a store of this node.
// The node refuses to start on it rather than use it.
type CorruptError struct {
	File string // the store file
	What string // what is wrong, and where
}

func (e *CorruptError) Error() string { return fmt.Sprintf("%s: corrupt store: %s", e.File, e.What) }

// Store is a node's durable raft state: a write-ahead log in one file
// (wal.go) holding the log, the hard state and the newest snapshot. Write
// appends a batch of raftkv.Writes with one write and Sync makes it
// durable with one fdatasync (Save does both), so many proposals share one
// sync.
// Every batch carries a CRC-32C. It is not safe for concurrent use.
type Store struct {
	dir, path string
	lock      *os.File // the data directory, flock'ed while the store is open
	f         *os.File
	d         *raftkv.Durable // what the file holds
	boots     uint64
	off       int64 // where the next batch goes
	size      int64 // of the file: zeros from off to size
	ckptAt    int64 // off beyond which Save writes a checkpoint
	ckptMin   int64 // minCheckpoint, but tests set it lower
	bw        batchWriter
	broken    error
	unsynced  bool     // batches written since the last sync
	torn      [2]int64 // offsets of a torn batch dropped at open
}

// OpenStore opens (creating if needed) the store in dir and returns what
// it holds. A store that fails any check is refused with a *CorruptError;
// nothing of it is used. A batch torn by the node's death while writing
// it is dropped: it was never synced, so nothing depending on it was
// acknowledged. Every open counts a boot (see Boots).
func OpenStore(dir string) (*Store, *raftkv.Durable, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, err
	}
	lock, err := os.Open(dir)
	if err != nil {
		return nil, nil, err
	}
	if err := lockDir(lock); err != nil {
		lock.Close()
		return nil, nil, fmt.Errorf("%s: %w", dir, err)
	}
	s := &Store{dir: dir, path: filepath.Join(dir, StoreFile), lock: lock, ckptMin: minCheckpoint}
	if err := s.open(); err != nil {
		s.Close()
		return nil, nil, err
	}
	return s, s.d.Clone(), nil
}

// lockDir takes an exclusive lock on the data directory, waiting up to 2s
// for a process that is going away (a node just killed) to release it.
func lockDir(f *os.File) error {
	deadline := time.Now().Add(2 * time.Second)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			return err
		}
		if time.Now().After(deadline) {
			return ErrStoreLocked
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (s *Store) corrupt(format string, args ...any) error {
	return &CorruptError{File: s.path, What: fmt.Sprintf(format, args...)}
}

func (s *Store) open() error {
	// A checkpoint that did not reach its rename is not part of the store.
	if err := os.Remove(s.path + ".new"); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	f, err := os.OpenFile(s.path, os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		if _, err := os.Stat(filepath.Join(s.dir, legacyStoreFile)); err == nil {
			return s.corrupt("missing; the directory holds %s, a store of an earlier version of the node (bbolt) that this one does not read", legacyStoreFile)
		}
		s.d, s.boots = &raftkv.Durable{}, 1
		return s.checkpoint()
	}
	if err != nil {
		return err
	}
	s.f = f
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return s.corrupt("not a regular file (%s)", st.Mode().Type())
	}
	if st.Size() > maxFileSize {
		return s.corrupt("%d bytes, larger than any store this node writes (%d)", st.Size(), maxFileSize)
	}
	b := make([]byte, st.Size())
	if _, err := f.ReadAt(b, 0); err != nil {
		return fmt.Errorf("%s: read: %w", s.path, err)
	}
	r, err := parseStore(b)
	if err != nil {
		return s.corrupt("%v", err)
	}
	s.d, s.boots, s.off, s.size = r.d, r.boots, r.end, int64(len(b))
	s.ckptAt = max(s.ckptMin, checkpointX*r.first)
	if r.torn > r.end {
		if err := s.zero(r.end, r.torn); err != nil {
			return err
		}
		s.torn = [2]int64{r.end, r.torn}
	}
	s.boots++
	s.bw.reset()
	s.bw.uvarint(recBoot, s.boots)
	return s.appendBatch()
}

// zero overwrites the torn batch in [from, to) with zeros, last page
// first, and syncs: should the node die again on the way, what is left is
// still a prefix of the torn batch ending at a page boundary, which the
// next open drops again.
func (s *Store) zero(from, to int64) error {
	z := make([]byte, pageSize)
	head := roundUp(from, pageSize)
	for p := to - pageSize; p >= head; p -= pageSize {
		if _, err := s.f.WriteAt(z, p); err != nil {
			return fmt.Errorf("%s: zero the torn batch: %w", s.path, err)
		}
	}
	if n := min(head, to) - from; n > 0 {
		if _, err := s.f.WriteAt(z[:n], from); err != nil {
			return fmt.Errorf("%s: zero the torn batch: %w", s.path, err)
		}
	}
	return s.sync()
}

func (s *Store) sync() error {
	if err := syscall.Fdatasync(int(s.f.Fd())); err != nil {
		return fmt.Errorf("%s: fdatasync: %w", s.path, err)
	}
	return nil
}

// appendBatch writes the batch in s.bw at the end of the log and syncs.
func (s *Store) appendBatch() error {
	if err := s.writeBatch(); err != nil {
		return err
	}
	return s.sync()
}

// writeBatch writes the batch in s.bw at the end of the log, unsynced.
func (s *Store) writeBatch() error {
	b, err := s.bw.finish()
	if err != nil {
		return fmt.Errorf("%s: %w", s.path, err)
	}
	end := s.off + int64(len(b))
	if end > s.size {
		// Zeros ahead of the log: then appending changes no metadata.
		size := roundUp(end, pageSize) + min(max(s.size, minGrow), maxGrow)
		if _, err := s.f.WriteAt(make([]byte, size-s.size), s.size); err != nil {
			return fmt.Errorf("%s: grow: %w", s.path, err)
		}
		s.size = size
	}
	if _, err := s.f.WriteAt(b, s.off); err != nil {
		return fmt.Errorf("%s: write: %w", s.path, err)
	}
	s.off = end
	return nil
}

// checkpoint writes the whole state as the first batch of a new file and
// renames it over the old one.
func (s *Store) checkpoint() error {
	var bw batchWriter
	bw.reset()
	bw.bytes(recFormat, []byte(storeFormat))
	bw.uvarint(recBoot, s.boots)
	bw.write(&raftkv.Write{Snapshot: s.d.Snapshot, Entries: s.d.Entries, HardState: s.d.HardState})
	b, err := bw.finish()
	if err != nil {
		return fmt.Errorf("%s: checkpoint: %w", s.path, err)
	}
	size := roundUp(int64(len(b)), pageSize) + minGrow
	tmp := s.path + ".new"
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	buf := make([]byte, size)
	copy(buf, b)
	if _, err := f.WriteAt(buf, 0); err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = os.Rename(tmp, s.path)
	}
	if err == nil {
		err = s.lock.Sync() // the directory: the rename is durable
	}
	if err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("%s: checkpoint: %w", s.path, err)
	}
	if s.f != nil {
		s.f.Close()
	}
	s.f, s.off, s.size = f, int64(len(b)), size
	s.ckptAt = max(s.ckptMin, checkpointX*s.off)
	return nil
}

// Save appends ws, in order, as one batch with the semantics of
// raftkv.Durable.Apply, and makes it durable (fdatasync) before it
// returns: Write, then Sync. On error the store must not be used
// further: the node stops.
func (s *Store) Save(ws []*raftkv.Write) error {
	if err := s.Write(ws); err != nil {
		return err
	}
	return s.Sync()
}

// Write appends ws, in order, as one batch with the semantics of
// raftkv.Durable.Apply, without waiting for it to be durable: it is if
// Sync returns nil (a crash before may keep it whole, or torn, which the
// next open drops; or lose it). The node writes a batch, sends what does
// not depend on it, then syncs.
func (s *Store) Write(ws []*raftkv.Write) error {
	if s.broken != nil {
		return s.broken
	}
	if len(ws) == 0 {
		return nil
	}
	if err := checkWrites(s.d, ws); err != nil {
		// A log with a hole could not be read back: refuse it whole, as
		// raftkv.Durable.Apply does.
		return fmt.Errorf("%s: save: %w", s.path, err)
	}
	s.bw.reset()
	for _, w := range ws {
		s.bw.write(w)
	}
	if err := s.writeBatch(); err != nil {
		s.broken = fmt.Errorf("save: %w", err)
		return s.broken
	}
	for _, w := range ws {
		if w.Snapshot.GetMetadata().GetIndex() > 0 {
			s.d.Apply(&raftkv.Write{Snapshot: w.Snapshot})
		}
		appendEntries(s.d, w.Entries)
		s.d.Apply(&raftkv.Write{HardState: w.HardState, LocalSnapshot: w.LocalSnapshot, Compact: w.Compact})
	}
	s.unsynced = true
	return nil
}

// Sync makes every batch written durable (one fdatasync), and rewrites
// the log as a checkpoint when it has grown enough.
func (s *Store) Sync() error {
	if s.broken != nil {
		return s.broken
	}
	if !s.unsynced {
		return nil
	}
	if err := s.sync(); err != nil {
		s.broken = fmt.Errorf("save: %w", err)
		return s.broken
	}
	s.unsynced = false
	if s.off > s.ckptAt {
		if err := s.checkpoint(); err != nil {
			s.broken = err
			return err
		}
	}
	return nil
}

// checkWrites reports an error if applying ws to d would leave a hole in
// the log: entries that do not follow one another, or that start beyond
// the last durable index plus one.
func checkWrites(d *raftkv.Durable, ws []*raftkv.Write) error {
	last, snap := d.LastIndex(), d.Snapshot.GetMetadata().GetIndex()
	for _, w := range ws {
		if i := w.Snapshot.GetMetadata().GetIndex(); i > 0 {
			last, snap = i, i
		}
		for j, e := range w.Entries {
			if i := e.GetIndex(); j == 0 && i > last+1 || j > 0 && i != w.Entries[j-1].GetIndex()+1 {
				return fmt.Errorf("write %d: entry %d after index %d would leave a hole in the log", w.Seq, i, last)
			}
			last = e.GetIndex()
		}
		if i := w.LocalSnapshot.GetMetadata().GetIndex(); i > snap {
			snap = i
		}
		if w.Compact >= last {
			last = max(last, snap) // the log is gone: the snapshot ends it
		}
	}
	return nil
}

// Boots is how many times this store was opened, this time included. The
// node uses it to make request IDs that no earlier run of it used.
func (s *Store) Boots() uint64 { return s.boots }

// Torn reports the span of the file that held a torn batch the open
// dropped (the node was killed while writing it), if any.
func (s *Store) Torn() (from, to int64, ok bool) { return s.torn[0], s.torn[1], s.torn[1] > 0 }

// Path is the store file.
func (s *Store) Path() string { return s.path }

// Close closes the file and releases the data directory.
func (s *Store) Close() error {
	var err error
	if s.f != nil {
		err = s.f.Close()
		s.f = nil
	}
	if s.lock != nil {
		s.lock.Close()
		s.lock = nil
	}
	return err
}
