package jepsen

import (
	"bytes"
	"fmt"
	"testing"
)

// benchHistory is n ops of five processes on ten independent keys, as
// Jepsen 0.3's history.edn (records) or as a jepsen.util log.
func benchHistory(n int, log bool) []byte {
	var b bytes.Buffer
	for i := 0; i < n; i++ {
		p, k := i/2%5, i/10%10
		typ, f, v := ":invoke", ":write", fmt.Sprintf("[%d %d]", k, i/2)
		if i%2 == 1 {
			typ = ":ok"
		}
		if i/2%3 == 0 {
			f = ":cas"
			v = fmt.Sprintf("[%d [%d %d]]", k, i/2-1, i/2)
		}
		if log {
			fmt.Fprintf(&b, "INFO  jepsen.util - %d\t%s\t%s\t%s\n", p, typ, f, v)
		} else {
			fmt.Fprintf(&b, "#jepsen.history.Op{:index %d, :time %d, :type %s, :process %d, :f %s, :value %s}\n", i, i*1000, typ, p, f, v)
		}
	}
	return b.Bytes()
}

func benchRead(b *testing.B, f Format, in []byte) {
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		events, err := Read(bytes.NewReader(in), "bench", f)
		if err != nil || len(events) != 10000 {
			b.Fatalf("%d events, %v", len(events), err)
		}
	}
}

func BenchmarkReadEDN(b *testing.B) { benchRead(b, FormatEDN, benchHistory(10000, false)) }
func BenchmarkReadLog(b *testing.B) { benchRead(b, FormatLog, benchHistory(10000, true)) }
