package node

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// The peer protocol. A node dials every peer and sends on the connections
// it dialed; it receives on the connections it accepted and never writes
// on them. So every byte of raft traffic from A to B travels to B's peer
// port, and a packet filter on (source A, destination B, destination port
// B's peer port) cuts A→B and nothing else.
//
// A connection is a stream of frames: a 4-byte big-endian length, then
// that many bytes. The first frame is the hello; every later frame is one
// protobuf-encoded raftpb.Message.

// maxFrame bounds a frame (a snapshot of the reference KV store is far
// smaller; a bigger length means a broken stream).
const maxFrame = 256 << 20

// helloMagic opens the hello frame and names the protocol version.
const helloMagic = "sbraft1"

// writeFrame appends one frame to w (unflushed).
func writeFrame(w *bufio.Writer, p []byte) error {
	var h [4]byte
	binary.BigEndian.PutUint32(h[:], uint32(len(p)))
	if _, err := w.Write(h[:]); err != nil {
		return err
	}
	_, err := w.Write(p)
	return err
}

// readFrame reads one frame, reusing buf when it is large enough.
func readFrame(r *bufio.Reader, buf []byte) ([]byte, error) {
	var h [4]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(h[:])
	if n > maxFrame {
		return nil, fmt.Errorf("frame of %d bytes exceeds the limit of %d", n, maxFrame)
	}
	if uint32(cap(buf)) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return buf, nil
}

// hello is the first frame of a connection: who dials whom, and where the
// dialer itself listens (so that the receiver can learn its address).
type hello struct {
	From, To uint64
	Addr     string
}

func (h hello) marshal() []byte {
	b := []byte(helloMagic)
	b = binary.AppendUvarint(b, h.From)
	b = binary.AppendUvarint(b, h.To)
	b = binary.AppendUvarint(b, uint64(len(h.Addr)))
	return append(b, h.Addr...)
}

func parseHello(p []byte) (hello, error) {
	var h hello
	if len(p) < len(helloMagic) || string(p[:len(helloMagic)]) != helloMagic {
		return h, fmt.Errorf("not a splitbrain peer connection (hello does not start with %q)", helloMagic)
	}
	d := p[len(helloMagic):]
	next := func(what string) (uint64, error) {
		v, n := binary.Uvarint(d)
		if n <= 0 || n != len(binary.AppendUvarint(nil, v)) { // canonical encodings only
			return 0, fmt.Errorf("hello: bad %s", what)
		}
		d = d[n:]
		return v, nil
	}
	var err error
	if h.From, err = next("sender id"); err != nil {
		return h, err
	}
	if h.To, err = next("receiver id"); err != nil {
		return h, err
	}
	n, err := next("address length")
	if err != nil {
		return h, err
	}
	if n != uint64(len(d)) {
		return h, fmt.Errorf("hello: address length %d but %d bytes follow", n, len(d))
	}
	if h.From == 0 || h.To == 0 {
		return h, errors.New("hello: node id 0")
	}
	h.Addr = string(d)
	return h, nil
}
