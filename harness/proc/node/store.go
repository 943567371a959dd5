package node

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	"github.com/splitbrain/splitbrain/harness/raftkv"
	bolt "go.etcd.io/bbolt"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// StoreFile is the name of the node's database inside its data directory.
const StoreFile = "raft.db"

// storeFormat is written once into a new store and checked on every open.
const storeFormat = "splitbrain-node-store/1"

var (
	bucketLog   = []byte("log")   // 8-byte big-endian index -> record(Entry)
	bucketState = []byte("state") // named records
	keyFormat   = []byte("format")
	keyHard     = []byte("hardstate")
	keySnap     = []byte("snapshot")
	keyBoots    = []byte("boots")
)

// CorruptError says that a store cannot be trusted: a record whose
// checksum does not match, a gap in the log, a file bbolt cannot read. The
// node refuses to start on it rather than use it.
type CorruptError struct {
	File string // the database file
	What string // what is wrong, and where
}

func (e *CorruptError) Error() string { return fmt.Sprintf("%s: corrupt store: %s", e.File, e.What) }

// Store is a node's durable raft state in one bbolt file: the log by
// index, the hard state and the newest snapshot. Every value is a record
// carrying a CRC-32C of its key and payload. Save applies a batch of
// raftkv.Writes in one transaction; bbolt fsyncs on commit, so when Save
// returns the batch is durable. It is not safe for concurrent use.
type Store struct {
	db    *bolt.DB
	path  string
	first uint64 // first log index stored (0: log empty)
	last  uint64 // last log index stored
	snap  uint64 // index of the stored snapshot
	boots uint64
}

// OpenStore opens (creating if needed) the store in dir and returns what
// it holds. A store that fails any check is refused with a *CorruptError;
// nothing of it is used. Every open counts a boot (see Boots).
func OpenStore(dir string) (s *Store, d *raftkv.Durable, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, err
	}
	path := filepath.Join(dir, StoreFile)
	// A damaged file can make bbolt read outside its map or panic on a
	// nonsense page; both become a CorruptError here.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	var db *bolt.DB
	defer func() {
		if r := recover(); r != nil {
			if db != nil {
				db.Close()
			}
			s, d, err = nil, nil, &CorruptError{File: path, What: fmt.Sprintf("unreadable: %v", r)}
		}
	}()
	db, err = bolt.Open(path, 0o644, &bolt.Options{
		Timeout: 2 * time.Second, // another process holding the file lock
		// The freelist is synced (not rebuilt at open): bbolt rebuilds it
		// in a goroutine of its own, where a damaged page would crash the
		// process instead of failing the open.
		FreelistType: bolt.FreelistMapType,
	})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, nil, fmt.Errorf("%s: locked by another process: %w", path, err)
		}
		return nil, nil, &CorruptError{File: path, What: fmt.Sprintf("bbolt cannot open it: %v", err)}
	}
	s = &Store{db: db, path: path}
	if d, err = s.load(); err != nil {
		db.Close()
		return nil, nil, err
	}
	return s, d, nil
}

func (s *Store) corrupt(format string, args ...any) error {
	return &CorruptError{File: s.path, What: fmt.Sprintf(format, args...)}
}

// load reads and verifies every record, and counts the boot.
func (s *Store) load() (*raftkv.Durable, error) {
	d := &raftkv.Durable{}
	err := s.db.Update(func(tx *bolt.Tx) error {
		// Every record is read and verified below, in this goroutine, where
		// a damaged page becomes a recoverable panic. (bbolt's own
		// tx.Check walks the pages in a goroutine of its own, where such a
		// fault would crash the process instead.)
		st, err := tx.CreateBucketIfNotExists(bucketState)
		if err != nil {
			return err
		}
		lg, err := tx.CreateBucketIfNotExists(bucketLog)
		if err != nil {
			return err
		}
		if v := st.Get(keyFormat); v == nil {
			if lg.Stats().KeyN > 0 || st.Get(keyHard) != nil || st.Get(keySnap) != nil {
				return s.corrupt("state has no format record but holds data")
			}
			if err := st.Put(keyFormat, seal(keyFormat, []byte(storeFormat))); err != nil {
				return err
			}
		} else if p, err := s.open(keyFormat, v, "format record"); err != nil {
			return err
		} else if string(p) != storeFormat {
			return s.corrupt("format %q, want %q", p, storeFormat)
		}
		if v := st.Get(keyBoots); v != nil {
			p, err := s.open(keyBoots, v, "boot counter")
			if err != nil {
				return err
			}
			if len(p) != 8 {
				return s.corrupt("boot counter is %d bytes, want 8", len(p))
			}
			s.boots = binary.BigEndian.Uint64(p)
		}
		s.boots++
		if err := st.Put(keyBoots, seal(keyBoots, binary.BigEndian.AppendUint64(nil, s.boots))); err != nil {
			return err
		}
		if v := st.Get(keyHard); v != nil {
			hs := &pb.HardState{}
			if err := s.unmarshal(keyHard, v, "hard state", hs); err != nil {
				return err
			}
			d.HardState = hs
		}
		if v := st.Get(keySnap); v != nil {
			sn := &pb.Snapshot{}
			if err := s.unmarshal(keySnap, v, "snapshot", sn); err != nil {
				return err
			}
			d.Snapshot = sn
			s.snap = sn.GetMetadata().GetIndex()
		}
		return lg.ForEach(func(k, v []byte) error {
			if len(k) != 8 {
				return s.corrupt("log key %x is not an 8-byte index", k)
			}
			idx := binary.BigEndian.Uint64(k)
			what := fmt.Sprintf("log entry %d", idx)
			e := &pb.Entry{}
			if err := s.unmarshal(k, v, what, e); err != nil {
				return err
			}
			if e.GetIndex() != idx {
				return s.corrupt("%s holds the entry of index %d", what, e.GetIndex())
			}
			if s.last != 0 && idx != s.last+1 {
				return s.corrupt("gap in the log: entry %d follows %d", idx, s.last)
			}
			if s.last == 0 {
				s.first = idx
			}
			s.last = idx
			d.Entries = append(d.Entries, e)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	switch {
	case s.first == 0:
	case s.snap > 0 && s.first > s.snap+1:
		return nil, s.corrupt("gap between the snapshot at index %d and the log starting at %d", s.snap, s.first)
	case s.snap == 0 && s.first != 1:
		return nil, s.corrupt("the log starts at index %d with no snapshot before it", s.first)
	}
	if hs := d.HardState; hs != nil && hs.GetCommit() > max(s.last, s.snap) {
		return nil, s.corrupt("hard state commits index %d but the store ends at %d", hs.GetCommit(), max(s.last, s.snap))
	}
	return d, nil
}

// seal makes the record for payload under key: a CRC-32C of key and
// payload, then the payload.
func seal(key, payload []byte) []byte {
	b := make([]byte, 4, 4+len(payload))
	binary.BigEndian.PutUint32(b, checksum(key, payload))
	return append(b, payload...)
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func checksum(key, payload []byte) uint32 {
	c := crc32.Update(0, castagnoli, key)
	return crc32.Update(c, castagnoli, payload)
}

// openRecord verifies a record and returns its payload.
func openRecord(key, rec []byte) ([]byte, error) {
	if len(rec) < 4 {
		return nil, fmt.Errorf("record is %d bytes, shorter than its checksum", len(rec))
	}
	want := binary.BigEndian.Uint32(rec)
	p := rec[4:]
	if got := checksum(key, p); got != want {
		return nil, fmt.Errorf("checksum mismatch (stored %08x, computed %08x)", want, got)
	}
	return p, nil
}

func (s *Store) open(key, rec []byte, what string) ([]byte, error) {
	p, err := openRecord(key, rec)
	if err != nil {
		return nil, s.corrupt("%s: %v", what, err)
	}
	return p, nil
}

func (s *Store) unmarshal(key, rec []byte, what string, m proto.Message) error {
	p, err := s.open(key, rec, what)
	if err != nil {
		return err
	}
	if err := proto.Unmarshal(p, m); err != nil {
		return s.corrupt("%s: checksum ok but not decodable: %v", what, err)
	}
	return nil
}

func indexKey(i uint64) []byte { return binary.BigEndian.AppendUint64(nil, i) }

// Save applies ws, in order, in one transaction with the semantics of
// raftkv.Durable.Apply, and commits it (bbolt fsyncs the file before
// Commit returns). On error nothing of ws is stored and the store must not
// be used further: the node stops.
func (s *Store) Save(ws []*raftkv.Write) error {
	first, last, snap := s.first, s.last, s.snap
	err := s.db.Update(func(tx *bolt.Tx) error {
		lg, st := tx.Bucket(bucketLog), tx.Bucket(bucketState)
		lg.FillPercent = 0.95 // keys only grow: pack pages
		for _, w := range ws {
			if err := s.apply(tx, &lg, st, w, &first, &last, &snap); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s: save: %w", s.path, err)
	}
	s.first, s.last, s.snap = first, last, snap
	return nil
}

func (s *Store) apply(tx *bolt.Tx, lg **bolt.Bucket, st *bolt.Bucket, w *raftkv.Write, first, last, snap *uint64) error {
	if sn := w.Snapshot; sn.GetMetadata().GetIndex() > 0 {
		// A snapshot from the leader replaces the snapshot and the log.
		if err := s.putMsg(st, keySnap, sn); err != nil {
			return err
		}
		if err := tx.DeleteBucket(bucketLog); err != nil {
			return err
		}
		b, err := tx.CreateBucket(bucketLog)
		if err != nil {
			return err
		}
		b.FillPercent = 0.95
		*lg = b
		*first, *last, *snap = 0, 0, sn.GetMetadata().GetIndex()
	}
	if len(w.Entries) > 0 {
		from := w.Entries[0].GetIndex()
		if *last != 0 && from <= *last {
			// Discard the persisted tail at index >= from.
			// Seek again after each delete: bbolt's Next skips keys
			// after a Delete.
			c := (*lg).Cursor()
			for k, _ := c.Seek(indexKey(from)); k != nil; k, _ = c.Seek(indexKey(from)) {
				if err := c.Delete(); err != nil {
					return err
				}
			}
			if from <= *first {
				*first, *last = 0, 0
			} else {
				*last = from - 1
			}
		}
		for _, e := range w.Entries {
			k := indexKey(e.GetIndex())
			if err := s.putMsg(*lg, k, e); err != nil {
				return err
			}
			if *first == 0 {
				*first = e.GetIndex()
			}
			*last = e.GetIndex()
		}
	}
	if w.HardState != nil {
		if err := s.putMsg(st, keyHard, w.HardState); err != nil {
			return err
		}
	}
	if sn := w.LocalSnapshot; sn.GetMetadata().GetIndex() > *snap {
		if err := s.putMsg(st, keySnap, sn); err != nil {
			return err
		}
		*snap = sn.GetMetadata().GetIndex()
	}
	if w.Compact > 0 && *first != 0 && *first <= w.Compact {
		c := (*lg).Cursor()
		for k, _ := c.First(); k != nil && binary.BigEndian.Uint64(k) <= w.Compact; k, _ = c.First() {
			if err := c.Delete(); err != nil {
				return err
			}
		}
		if w.Compact >= *last {
			*first, *last = 0, 0
		} else {
			*first = w.Compact + 1
		}
	}
	return nil
}

func (s *Store) putMsg(b *bolt.Bucket, key []byte, m proto.Message) error {
	p, err := proto.Marshal(m)
	if err != nil {
		return err
	}
	return b.Put(key, seal(key, p))
}

// Boots is how many times this store was opened, this time included. The
// node uses it to make request IDs that no earlier run of it used.
func (s *Store) Boots() uint64 { return s.boots }

// Path is the database file.
func (s *Store) Path() string { return s.path }

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }
