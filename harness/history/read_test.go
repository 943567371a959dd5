package history

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

const goodHistory = `{"index":0,"time":10,"type":"invoke","process":0,"f":"write","key":"k","value":"1"}
{"index":1,"time":20,"type":"info","process":"nemesis","f":"partition","value":"halves"}
{"index":2,"time":30,"type":"ok","process":0,"f":"write","key":"k","value":"1","node":"n1"}
{"index":3,"time":40,"type":"invoke","process":1,"f":"cas","key":"k","value":["1","2"]}
{"index":4,"time":50,"type":"fail","process":1,"f":"cas","key":"k","value":["1","2"],"error":"cas: value did not match"}
{"index":5,"time":60,"type":"invoke","process":2,"f":"read","key":"k","value":null}
{"index":6,"time":70,"type":"ok","process":2,"f":"read","key":"k","value":"1"}
`

func TestReadRoundTrip(t *testing.T) {
	res, err := Read(strings.NewReader(goodHistory), "h.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Events) != 7 || res.Torn {
		t.Fatalf("got %d events, torn %v", len(res.Events), res.Torn)
	}
	if e := res.Events[3]; e.F != FCAS || *e.Prev != "1" || *e.Value != "2" {
		t.Fatalf("cas parsed as %+v", e)
	}
	if e := res.Events[1]; e.Process != Nemesis || *e.Value != "halves" {
		t.Fatalf("nemesis event parsed as %+v", e)
	}
	path := filepath.Join(t.TempDir(), "h.jsonl")
	if err := WriteFile(path, res.Events); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if string(b) != goodHistory {
		t.Fatalf("write(read(h)) != h:\n%s", b)
	}
}

func TestReadTornFinalLine(t *testing.T) {
	torn := goodHistory + `{"index":7,"time":80,"type":"inv`
	res, err := Read(strings.NewReader(torn), "h.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if !res.Torn || res.TornLine != 8 || len(res.Events) != 7 {
		t.Fatalf("torn %v line %d events %d", res.Torn, res.TornLine, len(res.Events))
	}
}

func TestReadErrors(t *testing.T) {
	lines := strings.Split(strings.TrimSuffix(goodHistory, "\n"), "\n")
	cases := []struct {
		name    string
		line    int
		replace string
		want    string
	}{
		{"bad json mid-file", 3, `{"index":2,`, "h.jsonl:3:"},
		{"unknown type", 2, `{"index":1,"time":20,"type":"start","process":"nemesis","f":"x"}`, "type must be"},
		{"index gap", 2, `{"index":9,"time":20,"type":"info","process":"nemesis","f":"heal"}`, "out of sequence"},
		{"time backwards", 2, `{"index":1,"time":1,"type":"info","process":"nemesis","f":"heal"}`, "backwards"},
		{"unknown field", 2, `{"index":1,"time":20,"type":"info","process":"nemesis","f":"heal","x":1}`, "unknown field"},
		{"missing field", 2, `{"index":1,"type":"info","process":"nemesis","f":"heal"}`, `missing field "time"`},
		{"bad f", 1, `{"index":0,"time":10,"type":"invoke","process":0,"f":"append","key":"k","value":"1"}`, "f must be"},
		{"completion without invoke", 6, `{"index":5,"time":60,"type":"ok","process":2,"f":"read","key":"k","value":null}`, "no open invoke"},
		{"bad cas value", 4, `{"index":3,"time":40,"type":"invoke","process":1,"f":"cas","key":"k","value":"1"}`, "cas value"},
		{"negative process", 1, `{"index":0,"time":10,"type":"invoke","process":-3,"f":"write","key":"k","value":"1"}`, "process"},
		{"empty line", 2, ``, "empty line"},
		{"delete with a value", 1, `{"index":0,"time":10,"type":"invoke","process":0,"f":"delete","key":"k","value":"1"}`, "delete value must be null"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ls := append([]string(nil), lines...)
			ls[c.line-1] = c.replace
			_, err := Read(strings.NewReader(strings.Join(ls, "\n")+"\n"), "h.jsonl")
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("got %v, want a *ParseError", err)
			}
			if pe.Line != c.line || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %q (line %d), want line %d containing %q", err, pe.Line, c.line, c.want)
			}
		})
	}
}

func TestReadDelete(t *testing.T) {
	const h = `{"index":0,"time":10,"type":"invoke","process":0,"f":"delete","key":"k","value":null}
{"index":1,"time":20,"type":"ok","process":0,"f":"delete","key":"k","value":null,"node":"n2"}
{"index":2,"time":30,"type":"invoke","process":0,"f":"delete","key":"k","value":null}
{"index":3,"time":40,"type":"info","process":0,"f":"delete","key":"k","value":null,"error":"timeout"}
`
	res, err := Read(strings.NewReader(h), "h.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Events) != 4 || res.Events[1].F != FDelete || res.Events[1].Value != nil || res.Events[3].Type != Info {
		t.Fatalf("parsed as %+v", res.Events)
	}
	path := filepath.Join(t.TempDir(), "h.jsonl")
	if err := WriteFile(path, res.Events); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != h {
		t.Fatalf("write(read(h)) != h:\n%s", b)
	}
}

func TestRecorderSyncsAndCloses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.jsonl")
	var now int64
	r, err := NewRecorder(path, func() int64 { now += 5; return now })
	if err != nil {
		t.Fatal(err)
	}
	r.Record(Event{Type: Invoke, Process: 0, F: FWrite, Key: "k", Value: Str("1")})
	r.Record(Event{Type: OK, Process: 0, F: FWrite, Key: "k", Value: Str("1")})
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	res, err := ReadFile(path)
	if err != nil || len(res.Events) != 2 || res.Events[1].Index != 1 || res.Events[1].Time != 10 {
		t.Fatalf("read back %+v, %v", res, err)
	}
}

// uncleanMessage says what is wrong with an error message shown to users,
// or "" if nothing is: printable (no control characters or invalid UTF-8
// of the input), short, and without a "file:line: " of its own (Error adds
// one).
func uncleanMessage(msg string) string {
	if !utf8.ValidString(msg) {
		return "invalid UTF-8 in the message"
	}
	for i, r := range msg {
		if !strconv.IsPrint(r) {
			return fmt.Sprintf("unprintable %q at byte %d of the message", msg[i:min(i+4, len(msg))], i)
		}
	}
	switch {
	case len(msg) > 600:
		return fmt.Sprintf("message of %d bytes (want at most 600)", len(msg))
	case msg == "":
		return "empty message"
	case regexp.MustCompile(`^[^ ]*:[0-9]+: `).MatchString(msg), strings.Contains(msg, "f.jsonl:"):
		return "the message carries a location of its own"
	}
	return ""
}

func FuzzRead(f *testing.F) {
	f.Add(goodHistory)
	f.Add(`{"index":0,"time":0,"type":"invoke","process":"` + "\xff\x7f" + `","f":"read","key":"k","value":null}` + "\n")
	f.Add(`{"index":0,"time":0,"type":"invoke","process":0,"f":"cas","key":"k","value":"` + strings.Repeat("x", 700) + `"}` + "\n")
	f.Add(goodHistory + `{"index":7,"ti`)
	f.Add(`{"index":0,"time":0,"type":"invoke","process":0,"f":"cas","key":"k","value":[null,"2"]}` + "\n")
	f.Add(`{"index":0,"time":0,"type":"invoke","process":0,"f":"delete","key":"k","value":null}` + "\n")
	f.Fuzz(func(t *testing.T, s string) {
		res, err := Read(strings.NewReader(s), "f.jsonl")
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v (%T) is not a *ParseError", err, err)
			}
			if pe.Line < 1 {
				t.Fatalf("error without a line: %v", err)
			}
			if msg := uncleanMessage(pe.Msg); msg != "" {
				t.Fatalf("error %q: %s", err, msg)
			}
			return
		}
		// Whatever parses writes back and parses to the same events.
		path := filepath.Join(t.TempDir(), "h.jsonl")
		if err := WriteFile(path, res.Events); err != nil {
			t.Fatal(err)
		}
		again, err := ReadFile(path)
		if err != nil || len(again.Events) != len(res.Events) {
			t.Fatalf("round trip: %v (%d vs %d events)", err, len(again.Events), len(res.Events))
		}
	})
}
