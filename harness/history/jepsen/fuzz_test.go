package jepsen

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/splitbrain/splitbrain/harness/history"
)

// checkFuzzResult asserts what every reader promises: either events that
// our own reader would accept, or a *history.ParseError naming a line of
// the input.
func checkFuzzResult(t *testing.T, in []byte, events []history.Event, err error) {
	t.Helper()
	if err != nil {
		var pe *history.ParseError
		if !errors.As(err, &pe) {
			t.Fatalf("error %v (%T) is not a *history.ParseError", err, err)
		}
		if lines := bytes.Count(in, []byte{'\n'}) + 1; pe.Line < 1 || pe.Line > lines || pe.File != "fuzz" {
			t.Fatalf("error %q: want file fuzz and a line in 1..%d", err, lines)
		}
		if msg := uncleanMessage(pe.Msg); msg != "" {
			t.Fatalf("error %q: %s", err, msg)
		}
		if events != nil {
			t.Fatalf("events returned with an error")
		}
		return
	}
	// A successful conversion is a well-formed history of ours.
	var buf bytes.Buffer
	for _, e := range events {
		b, err := e.MarshalJSON()
		if err != nil {
			t.Fatalf("event %+v does not marshal: %v", e, err)
		}
		buf.Write(b)
		buf.WriteByte('\n')
	}
	res, err := history.Read(&buf, "converted")
	if err != nil {
		t.Fatalf("converted history is not valid: %v", err)
	}
	if len(res.Events) != len(events) {
		t.Fatalf("converted history reads back as %d events, want %d", len(res.Events), len(events))
	}
}

// locationPrefix is a "file:line: " at the start of a message: a
// ParseError's message must not carry one, since Error adds its own.
var locationPrefix = regexp.MustCompile(`^[^ ]*:[0-9]+: `)

// inputLocation is the location Detect gives when it has no file name.
var inputLocation = regexp.MustCompile(`input:[0-9]+:`)

// uncleanMessage says what is wrong with an error message shown to users,
// or "" if nothing is: it must be printable (no control characters, no
// invalid UTF-8: binary input is never echoed raw), short, and carry no
// location of its own (a doubled "input:1: " prefix).
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
	case locationPrefix.MatchString(msg), strings.Contains(msg, "fuzz:"), inputLocation.MatchString(msg):
		return "the message carries a location of its own"
	}
	return ""
}

var ednSeeds = []string{
	"[{:process 7, :type :invoke, :f :cas, :value [2 3]}]",
	"{:process 0, :type :invoke, :f :read, :value nil}\n{:process 0, :type :ok, :f :read, :value 3}\n",
	"#jepsen.history.Op{:index 0, :time 10, :type :invoke, :process 0, :f :cas, :value [3 [2 4]]}\n#jepsen.history.Op{:index 1, :time 20, :type :fail, :process 0, :f :cas, :value [3 [2 4]], :error :x}\n",
	"{:process :nemesis, :type :info, :f :start, :value \"Cut off {:n1 #{:n2}}\"}",
	"({:process 1 :type :invoke :f :write :value 1N} {:process 1 :type :info :f :write :value :timed-out})",
	"[{:process 0 :type :invoke :f :read ; comment\n :value nil}]",
	"{:process 0, :type :invoke, :f :read, :value 1/2}",
	"[#{1} \"x\" \\a 1.5M #inst \"2020-01-01T00:00:00Z\" #_ {:a 1}]",
	"{:a {:b [1 (2 #{3})]}}",
	"",
	"[]",
	`[{"index":0,"time":0,"type":"invoke","process":0,"f":"read","key":"k","value":null}]`,
	`{"index":0, "f":"read"}`,
	"\x00\x01\xff\xfe binary \x1b[31m",
	"[{:process 0, :type :invoke, :f \"\x1b[2J\", :value nil}]",
	"#\x1b[31m{:a 1}",
}

var logSeeds = []string{
	"INFO  jepsen.util - 0\t:invoke\t:read\tnil\nINFO  jepsen.util - 0\t:ok\t:read\t3\n",
	"INFO  jepsen.util - 4   :invoke :cas    [1 2]\nINFO  jepsen.util - 4   :fail   :cas    [1 2]\n",
	"INFO  jepsen.util - 1\t:invoke\t:write\t1\nINFO  jepsen.util - 1\t:info\t:write\t:timed-out\n",
	"INFO  jepsen.util - :nemesis\t:info\t:start\tnil\n",
	"2022-11-11 15:14:13,026{GMT}\tINFO\t[jepsen worker 16] jepsen.util: 16\t:invoke\t:cas\t[8 [1 2]]\n",
	"0\t:invoke\t:write\t\"a\"\n0\t:info\t:write\t\"a\"\tindeterminate\n",
	"INFO  jepsen.core - Worker 0 starting\n",
	"INFO  jepsen.util - 0\t:invoke\t:read\n",
	"INFO  jepsen.util - 0 :invoke :write #{1\n",
	"0\t:invoke\t:\x1b[2J\tnil\n",
	"INFO  jepsen.util - :\xff\x00\t:invoke\t:read\tnil\n",
	"0\t:invoke\t:write\t\"\x07\x1b\"\n0\t:ok\t:write\t\"x\"\n",
}

// addFileSeeds adds the start of two of porcupine's etcd logs, if the
// module is downloaded (the fuzz targets do not need it).
func addFileSeeds(f *testing.F) {
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		return
	}
	matches, _ := filepath.Glob(filepath.Join(strings.TrimSpace(string(out)), "github.com", "anishathalye", "porcupine@*", "test_data", "jepsen", "etcd_10[01].log"))
	for _, m := range matches {
		if b, err := os.ReadFile(m); err == nil && len(b) > 4000 {
			f.Add(b[:4000])
		}
	}
}

func FuzzReadEDN(f *testing.F) {
	for _, s := range ednSeeds {
		f.Add([]byte(s))
	}
	if b, err := os.ReadFile(filepath.Join("testdata", "small.edn")); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		events, err := Read(bytes.NewReader(in), "fuzz", FormatEDN)
		checkFuzzResult(t, in, events, err)
	})
}

func FuzzReadLog(f *testing.F) {
	for _, s := range logSeeds {
		f.Add([]byte(s))
	}
	addFileSeeds(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		events, err := Read(bytes.NewReader(in), "fuzz", FormatLog)
		checkFuzzResult(t, in, events, err)
	})
}

// FuzzDetect: Detect never panics, errs only with a ParseError, and Read
// in auto mode on the same input keeps the reader's promises.
func FuzzDetect(f *testing.F) {
	for _, s := range append(append([]string{`{"index":0,"time":0,"type":"invoke","process":0,"f":"read","key":"k","value":null}`}, ednSeeds...), logSeeds...) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		format, err := Detect(in)
		if err != nil {
			var pe *history.ParseError
			if !errors.As(err, &pe) || pe.Line < 1 || pe.Line > bytes.Count(in, []byte{'\n'})+1 {
				t.Fatalf("Detect error %v (%T): want a *history.ParseError with a line ≥ 1", err, err)
			}
		} else if format != FormatEDN && format != FormatLog && format != FormatJSONL {
			t.Fatalf("Detect = %q", format)
		}
		events, err := Read(bytes.NewReader(in), "fuzz", FormatAuto)
		checkFuzzResult(t, in, events, err)
	})
}
