package node

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"

	"github.com/splitbrain/splitbrain/harness/raftkv"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// The store file is a write-ahead log: a sequence of batches, each
// written with one write and made durable with one fdatasync.
//
//	batch  = header payload
//	header = magic "SBWB" | payload length (uint32) | CRC-32C of the payload
//	         | CRC-32C of the header's first 12 bytes          (16 bytes, big-endian)
//	payload = record*
//	record  = type (1 byte) | length (uvarint) | bytes
//
// A record is one field of a raftkv.Write (a snapshot, one entry, a hard
// state, a local snapshot, a compaction) or a boot count; replaying the
// records in order with raftkv.Durable.Apply gives the durable state. The
// first batch of a file opens with the format record and holds the whole
// state (a checkpoint): when the file has grown enough, the store writes a
// new file holding one checkpoint and renames it over the old one.
//
// The file is grown in zero-filled steps ahead of the batches, so that
// appending a batch changes no file metadata and its fdatasync writes the
// batch's pages only; after the last batch the file holds zeros, and a
// zero header ends the log.
//
// A torn batch — the node killed in the middle of writing one, which
// leaves a prefix of it ending at a page boundary and zeros after — was
// never synced, so nothing that depends on it was acknowledged: it is
// dropped (and zeroed) when the store opens. Any other damage (a checksum
// that does not match, a header that does not parse, bytes after the end
// of the log) fails the store's checks.
const (
	batchMagic  = "SBWB"
	headerSize  = 16
	maxBatch    = 256 << 20 // bytes of payload; a raft batch of ours is far smaller
	maxFileSize = 1 << 30   // a store file larger than this is not one we wrote
	pageSize    = 4096      // torn writes end at a multiple of it (page cache granularity)
)

// Record types.
const (
	recFormat        byte = 1 + iota // the store format's name: the file's first record
	recBoot                          // uvarint: the store's boot count, written at every open
	recSnapshot                      // pb.Snapshot from the leader: replaces the snapshot and the log
	recEntry                         // pb.Entry, appended after discarding the log from its index
	recHardState                     // pb.HardState
	recLocalSnapshot                 // pb.Snapshot the node made of its own state
	recCompact                       // uvarint: entries up to it are discarded
)

// storeFormat is the payload of the format record.
const storeFormat = "splitbrain-node-wal/1"

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// batchWriter builds one batch in a reusable buffer.
type batchWriter struct {
	buf []byte
	err error
}

func (b *batchWriter) reset() {
	b.buf = append(b.buf[:0], make([]byte, headerSize)...)
	b.err = nil
}

func (b *batchWriter) bytes(typ byte, p []byte) {
	b.buf = append(b.buf, typ)
	b.buf = binary.AppendUvarint(b.buf, uint64(len(p)))
	b.buf = append(b.buf, p...)
}

func (b *batchWriter) uvarint(typ byte, v uint64) {
	var tmp [binary.MaxVarintLen64]byte
	b.bytes(typ, binary.AppendUvarint(tmp[:0], v))
}

// msg appends m as a record, marshalled straight into the buffer.
func (b *batchWriter) msg(typ byte, m proto.Message) {
	if b.err != nil {
		return
	}
	n := proto.Size(m)
	b.buf = append(b.buf, typ)
	b.buf = binary.AppendUvarint(b.buf, uint64(n))
	at := len(b.buf)
	out, err := proto.MarshalOptions{UseCachedSize: true}.MarshalAppend(b.buf, m)
	if err != nil {
		b.err = err
		return
	}
	if len(out)-at != n {
		b.err = fmt.Errorf("marshalled %d bytes of a %d-byte message", len(out)-at, n)
		return
	}
	b.buf = out
}

// write appends w's fields as records, in the order Durable.Apply takes
// them.
func (b *batchWriter) write(w *raftkv.Write) {
	if sn := w.Snapshot; sn.GetMetadata().GetIndex() > 0 {
		b.msg(recSnapshot, sn)
	}
	for _, e := range w.Entries {
		b.msg(recEntry, e)
	}
	if w.HardState != nil {
		b.msg(recHardState, w.HardState)
	}
	if sn := w.LocalSnapshot; sn.GetMetadata().GetIndex() > 0 {
		b.msg(recLocalSnapshot, sn)
	}
	if w.Compact > 0 {
		b.uvarint(recCompact, w.Compact)
	}
}

// finish fills in the header and returns the batch.
func (b *batchWriter) finish() ([]byte, error) {
	if b.err != nil {
		return nil, b.err
	}
	n := len(b.buf) - headerSize
	if n > maxBatch {
		return nil, fmt.Errorf("batch of %d bytes exceeds the limit of %d", n, maxBatch)
	}
	h := b.buf[:headerSize]
	copy(h, batchMagic)
	binary.BigEndian.PutUint32(h[4:], uint32(n))
	binary.BigEndian.PutUint32(h[8:], crc32.Checksum(b.buf[headerSize:], castagnoli))
	binary.BigEndian.PutUint32(h[12:], crc32.Checksum(h[:12], castagnoli))
	return b.buf, nil
}

// replay is the state read back from a store file.
type replay struct {
	d     *raftkv.Durable
	boots uint64
	first int64 // where the first batch (a checkpoint) ends
	end   int64 // where the log ends: the next batch goes here
	// torn, if > end, says a torn batch lies in [end, torn): the node was
	// killed while writing it. It must be zeroed before anything is
	// appended.
	torn int64
}

// parseStore reads a whole store file. A file that fails any check gives
// an error saying what is wrong and where (its caller makes it a
// *CorruptError). Every loop advances through b, so damage can neither
// hang it nor make it allocate more than b's size.
func parseStore(b []byte) (*replay, error) {
	r := &replay{d: &raftkv.Durable{}}
	off := int64(0)
	for {
		if int64(len(b))-off < headerSize {
			if !allZero(b[off:]) {
				return nil, fmt.Errorf("offset %d: the file ends inside a batch header", off)
			}
			break
		}
		h := b[off : off+headerSize]
		if off > 0 && allZero(h) {
			break // the end of the log
		}
		if err := checkHeader(h); err != nil {
			if tornBatch(b, off, off+headerSize) {
				r.torn = roundUp(lastNonZero(b)+1, pageSize)
				break
			}
			return nil, fmt.Errorf("batch header at offset %d: %v", off, err)
		}
		n := int64(binary.BigEndian.Uint32(h[4:]))
		end := off + headerSize + n
		if end > int64(len(b)) {
			return nil, fmt.Errorf("batch at offset %d (%d bytes) runs past the end of the file (%d bytes): truncated", off, n, len(b))
		}
		p := b[off+headerSize : end]
		if want, got := binary.BigEndian.Uint32(h[8:]), crc32.Checksum(p, castagnoli); want != got {
			if tornBatch(b, off, end) {
				r.torn = roundUp(lastNonZero(b)+1, pageSize)
				break
			}
			return nil, fmt.Errorf("batch at offset %d (%d bytes): checksum mismatch (stored %08x, computed %08x)", off, n, want, got)
		}
		if err := r.records(p, off == 0); err != nil {
			return nil, fmt.Errorf("batch at offset %d: %v", off, err)
		}
		if off == 0 {
			r.first = end
		}
		off = end
	}
	r.end = off
	if r.first == 0 {
		return nil, fmt.Errorf("not a store of this node: the file does not start with its format record")
	}
	if r.torn == 0 {
		if z := lastNonZero(b); z >= off {
			return nil, fmt.Errorf("offset %d: data after the end of the log (at offset %d)", z, off)
		}
	}
	d := r.d
	last := max(d.LastIndex(), d.Snapshot.GetMetadata().GetIndex())
	if hs := d.HardState; hs != nil && hs.GetCommit() > last {
		return nil, fmt.Errorf("the hard state commits index %d but the store ends at %d", hs.GetCommit(), last)
	}
	return r, nil
}

// tornBatch reports whether the damaged batch in [start, end) is what a
// write cut short by the node's death leaves: a prefix of it, ending at a
// page boundary, and zeros from there to the end of the file. The first
// batch is written whole before the file is renamed into place, so it is
// never torn.
func tornBatch(b []byte, start, end int64) bool {
	if start == 0 {
		return false
	}
	cut := roundUp(lastNonZero(b)+1, pageSize)
	return cut > start && cut < end
}

func checkHeader(h []byte) error {
	if string(h[:4]) != batchMagic {
		return fmt.Errorf("no batch magic (%q)", h[:4])
	}
	if want, got := binary.BigEndian.Uint32(h[12:]), crc32.Checksum(h[:12], castagnoli); want != got {
		return fmt.Errorf("header checksum mismatch (stored %08x, computed %08x)", want, got)
	}
	if n := binary.BigEndian.Uint32(h[4:]); n > maxBatch {
		return fmt.Errorf("payload of %d bytes exceeds the limit of %d", n, maxBatch)
	}
	return nil
}

// records replays one batch's records into r.
func (r *replay) records(p []byte, first bool) error {
	for i := 0; len(p) > 0; i++ {
		typ := p[0]
		n, k := binary.Uvarint(p[1:])
		if k <= 0 || n > uint64(len(p)-1-k) {
			return fmt.Errorf("record %d: bad length", i)
		}
		v := p[1+k : 1+k+int(n)]
		p = p[1+k+int(n):]
		if (typ == recFormat) != (first && i == 0) {
			if typ == recFormat {
				return fmt.Errorf("record %d: a format record after the start of the file", i)
			}
			return fmt.Errorf("not a store of this node: the file does not start with its format record")
		}
		if err := r.record(typ, v); err != nil {
			return fmt.Errorf("record %d: %v", i, err)
		}
	}
	return nil
}

func (r *replay) record(typ byte, v []byte) error {
	d := r.d
	switch typ {
	case recFormat:
		if string(v) != storeFormat {
			return fmt.Errorf("format %q, want %q", v, storeFormat)
		}
	case recBoot, recCompact:
		x, k := binary.Uvarint(v)
		if k != len(v) {
			return fmt.Errorf("malformed number")
		}
		if typ == recBoot {
			if x <= r.boots {
				return fmt.Errorf("boot count %d after %d", x, r.boots)
			}
			r.boots = x
			return nil
		}
		if snap := d.Snapshot.GetMetadata().GetIndex(); x > snap {
			return fmt.Errorf("compaction to index %d, beyond the snapshot at %d", x, snap)
		}
		d.Apply(&raftkv.Write{Compact: x})
	case recSnapshot, recLocalSnapshot:
		sn := &pb.Snapshot{}
		if err := proto.Unmarshal(v, sn); err != nil {
			return fmt.Errorf("snapshot not decodable: %v", err)
		}
		if sn.GetMetadata().GetIndex() == 0 {
			return fmt.Errorf("snapshot at index 0")
		}
		if typ == recSnapshot {
			d.Apply(&raftkv.Write{Snapshot: sn})
		} else {
			d.Apply(&raftkv.Write{LocalSnapshot: sn})
		}
	case recEntry:
		e := &pb.Entry{}
		if err := proto.Unmarshal(v, e); err != nil {
			return fmt.Errorf("log entry not decodable: %v", err)
		}
		i := e.GetIndex()
		snap := d.Snapshot.GetMetadata().GetIndex()
		switch {
		case len(d.Entries) > 0 && i > d.LastIndex()+1:
			return fmt.Errorf("gap in the log: entry %d follows %d", i, d.LastIndex())
		case len(d.Entries) == 0 && snap > 0 && i > snap+1:
			return fmt.Errorf("gap between the snapshot at index %d and entry %d", snap, i)
		case len(d.Entries) == 0 && snap == 0 && i != 1:
			return fmt.Errorf("the log starts at index %d with no snapshot before it", i)
		}
		appendEntries(d, []*pb.Entry{e})
	case recHardState:
		hs := &pb.HardState{}
		if err := proto.Unmarshal(v, hs); err != nil {
			return fmt.Errorf("hard state not decodable: %v", err)
		}
		d.Apply(&raftkv.Write{HardState: hs})
	default:
		return fmt.Errorf("unknown record type %d", typ)
	}
	return nil
}

// appendEntries appends es to d's log as Durable.Apply does (discarding
// the entries from es[0]'s index on), in constant time: both d's log and
// es are consecutive.
func appendEntries(d *raftkv.Durable, es []*pb.Entry) {
	if len(es) == 0 {
		return
	}
	n := len(d.Entries)
	if n > 0 {
		first, from := d.Entries[0].GetIndex(), es[0].GetIndex()
		switch {
		case from <= first:
			n = 0
		case from-first < uint64(n):
			n = int(from - first)
		}
	}
	d.Entries = append(d.Entries[:n], es...)
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// lastNonZero is the offset of b's last non-zero byte, or -1.
func lastNonZero(b []byte) int64 {
	i := len(b) - 1
	for i >= 0 && b[i] == 0 {
		i--
	}
	return int64(i)
}

func roundUp(n, to int64) int64 { return (n + to - 1) / to * to }
