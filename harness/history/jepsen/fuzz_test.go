package jepsen

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

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
