package history

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// canonicalSeeds are lines in the form the Recorder writes, and near
// misses of it.
var canonicalSeeds = []string{
	`{"index":0,"time":1200,"type":"invoke","process":3,"f":"cas","key":"k2","value":["4","5"],"node":"n1"}`,
	`{"index":1,"time":3400,"type":"ok","process":3,"f":"cas","key":"k2","value":[null,"5"],"node":"n1"}`,
	`{"index":2,"time":5000,"type":"info","process":"nemesis","f":"partition","value":"halves [n1 n2] | [n3 n4 n5]"}`,
	`{"index":3,"time":5000,"type":"fail","process":0,"f":"read","key":"k","value":null,"node":"n2","error":"timed out"}`,
	`{"index":4,"time":5000,"type":"invoke","process":0,"f":"delete","key":"k","value":null}`,
	`{"index":5,"time":5000,"type":"invoke","process":0,"f":"write","key":"k\u003c","value":"a\"b\\c\u00e9"}`,
	`{"index":06,"time":5000,"type":"invoke","process":0,"f":"write","key":"k","value":"1"}`,
	`{"index":7,"time":5e3,"type":"invoke","process":0,"f":"write","key":"k","value":"1"}`,
	`{"index":8,"time":1,"type":"invoke","process":-1,"f":"write","key":"k","value":"1"}`,
	`{"index":9,"time":1,"type":"invoke","process":1,"f":"delete","key":"k","value":"1"}`,
	`{"index":9,"time":1,"type":"invoke","process":1,"f":"cas","key":"k","value":["1"]}`,
	`{"index":9,"time":1,"type":"invoke","process":1,"f":"put","key":"k","value":"1"}`,
	`{"index":9,"time":1,"type":"invoke","process":1,"f":"read","key":"","value":null}`,
	`{"index":9,"time":1,"type":"invoke","process":1,"f":"read","key":"k","value":null,"extra":1}`,
	`{"index":9,"time":1,"type":"begin","process":1,"f":"read","key":"k","value":null}`,
	"{\"index\":9,\"time\":1,\"type\":\"ok\",\"process\":1,\"f\":\"read\",\"key\":\"k\",\"value\":\"\xff\"}",
	`{"index":9,"time":1,"type":"ok","process":1,"f":"read","key":"k","value":"x"} `,
	`{"index":9,"time":1,"type":"ok","process":1,"f":"read","key":"k","value":"x"}}`,
}

// FuzzCanonicalAgrees: whenever the fast path accepts a line, it reads
// exactly what Event.UnmarshalJSON reads.
func FuzzCanonicalAgrees(f *testing.F) {
	for _, s := range canonicalSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		var fast Event
		if !parseCanonical([]byte(line), &fast, newInterner()) {
			return
		}
		var slow Event
		if err := json.Unmarshal([]byte(line), &slow); err != nil {
			t.Fatalf("fast path accepted %q, encoding/json refuses it: %v", line, err)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("%q: fast path read %+v, encoding/json %+v", line, fast, slow)
		}
	})
}

// TestCanonicalTakesRecorderLines: the lines the Recorder writes take the
// fast path (or the speed-up is lost without any test failing).
func TestCanonicalTakesRecorderLines(t *testing.T) {
	events := []Event{
		{Index: 0, Time: 1, Type: Invoke, Process: 3, F: FCAS, Key: "k1", Prev: Str("1"), Value: Str("2"), Node: "n1"},
		{Index: 1, Time: 2, Type: Info, Process: 3, F: FCAS, Key: "k1", Value: Str("2"), Node: "n1", Error: "timed out"},
		{Index: 2, Time: 3, Type: Info, Process: Nemesis, F: FaultPartition, Value: Str("halves [n1] | [n2 n3]")},
		{Index: 3, Time: 4, Type: Invoke, Process: 4, F: FDelete, Key: "k<&>"},
		{Index: 4, Time: 5, Type: OK, Process: 4, F: FRead, Key: "k", Value: Str(`quote " and \ and é`)},
	}
	for _, e := range events {
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		var got Event
		if !parseCanonical(b, &got, newInterner()) {
			t.Errorf("the fast path refused the recorder's line %s", b)
			continue
		}
		if !reflect.DeepEqual(got, e) {
			t.Errorf("%s: read %+v, want %+v", b, got, e)
		}
	}
}

// TestScannerLongLines reads lines longer than the scanner's buffer.
func TestScannerLongLines(t *testing.T) {
	long := strings.Repeat("v", 600<<10)
	var b bytes.Buffer
	for i := 0; i < 3; i++ {
		e := Event{Index: int64(i), Time: int64(i), Type: Invoke, Process: Process(i), F: FWrite, Key: "k", Value: Str(long)}
		line, _ := json.Marshal(e)
		b.Write(append(line, '\n'))
	}
	res, err := Read(&b, "long.jsonl")
	if err != nil || len(res.Events) != 3 || *res.Events[2].Value != long {
		t.Fatalf("read %d events, err %v", len(res.Events), err)
	}
}

func BenchmarkRead(b *testing.B) {
	var buf bytes.Buffer
	const n = 100000
	for i := 0; i < n; i++ {
		e := Event{Index: int64(i), Time: int64(i) * 1000, Type: Invoke, Process: Process(i % 50), F: FWrite,
			Key: "k" + string(rune('a'+(i/2)%26)), Value: Str("12345"), Node: "n3"}
		if i%2 == 1 {
			e.Type, e.Process = OK, Process((i-1)%50)
		}
		line, _ := json.Marshal(e)
		buf.Write(append(line, '\n'))
	}
	b.SetBytes(int64(buf.Len()))
	b.ResetTimer()
	for range b.N {
		s := NewScanner(bytes.NewReader(buf.Bytes()), "bench")
		for s.Scan() {
		}
		if s.Err() != nil {
			b.Fatal(s.Err())
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/event")
}

// FuzzAppendCanonical: the recorder's encoder writes the bytes
// json.Marshal writes.
func FuzzAppendCanonical(f *testing.F) {
	f.Add(int64(1), int64(2), "ok", 3, "cas", "k1", "1", true, "2", true, "n1", "")
	f.Add(int64(0), int64(0), "info", -1, "partition", "", "halves <a&b>", true, "", false, "", "err \"x\"")
	f.Add(int64(5), int64(9), "invoke", 2, "write", "k\u2028", "\xff\x00é", true, "", false, "n2", "\t")
	f.Fuzz(func(t *testing.T, index, time int64, typ string, process int, fn, key, value string, hasValue bool, prev string, hasPrev bool, node, errText string) {
		e := Event{Index: index, Time: time, Type: Type(typ), Process: Process(process), F: fn, Key: key, Node: node, Error: errText}
		if hasValue {
			e.Value = &value
		}
		if hasPrev {
			e.Prev = &prev
		}
		want, err := json.Marshal(e)
		if e.Process < Nemesis {
			if err == nil {
				t.Fatalf("json.Marshal accepted process %d", process)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if got := appendCanonical(nil, &e); !bytes.Equal(got, want) {
			t.Fatalf("appendCanonical wrote\n%s\njson.Marshal\n%s", got, want)
		}
	})
}
