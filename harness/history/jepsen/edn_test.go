package jepsen

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/splitbrain/splitbrain/harness/history"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// jsonl renders events in our line format, for comparisons that show every
// field.
func jsonl(t *testing.T, events []history.Event) string {
	t.Helper()
	var b strings.Builder
	for _, e := range events {
		line, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	return b.String()
}

func read(t *testing.T, f Format, text string) []history.Event {
	t.Helper()
	events, err := Read(strings.NewReader(text), "h", f)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return events
}

func wantEvents(t *testing.T, got []history.Event, want string) {
	t.Helper()
	want = strings.TrimLeft(strings.ReplaceAll(want, "\t", ""), "\n")
	if g := jsonl(t, got); g != want {
		t.Errorf("events differ\ngot:\n%s\nwant:\n%s", g, want)
	}
}

// wantParseError asserts err is a *history.ParseError at file h, the line,
// with a message containing msg.
func wantParseError(t *testing.T, err error, line int, msg string) {
	t.Helper()
	var pe *history.ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *history.ParseError", err, err)
	}
	if pe.File != "h" || pe.Line != line || !strings.Contains(pe.Msg, msg) {
		t.Errorf("error %q, want h:%d: ...%s...", err, line, msg)
	}
}

func TestEDNVector(t *testing.T) {
	got := read(t, FormatEDN, `[{:process 7, :type :invoke, :f :cas, :value [2 3]}
 {:process 1, :type :invoke, :f :read, :value nil}
 {:process :nemesis, :type :info, :f :start, :value nil}
 {:process 1, :type :ok, :f :read, :value 2}
 {:process 7, :type :fail, :f :cas, :value [2 3], :error :cas-failed}
 {:process :nemesis, :type :info, :f :start, :value "Cut off {:n1 #{:n2 :n3}}"}
 {:process 2, :type :invoke, :f :write, :value "a b", :node "n1", :index 99}
 {:process 2, :type :info, :f :write, :value "a b", :error [:timeout "no reply"]}
 {:process 3, :type :invoke, :f :read, :value nil}
 {:process 3, :type :ok, :f :read, :value nil}]
`)
	wantEvents(t, got, `
	{"index":0,"time":1000000,"type":"invoke","process":7,"f":"cas","key":"0","value":["2","3"]}
	{"index":1,"time":2000000,"type":"invoke","process":1,"f":"read","key":"0","value":null}
	{"index":2,"time":3000000,"type":"info","process":"nemesis","f":":start","value":null}
	{"index":3,"time":4000000,"type":"ok","process":1,"f":"read","key":"0","value":"2"}
	{"index":4,"time":5000000,"type":"fail","process":7,"f":"cas","key":"0","value":["2","3"],"error":":cas-failed"}
	{"index":5,"time":6000000,"type":"info","process":"nemesis","f":":start","value":"Cut off {:n1 #{:n2 :n3}}"}
	{"index":6,"time":7000000,"type":"invoke","process":2,"f":"write","key":"0","value":"a b"}
	{"index":7,"time":8000000,"type":"info","process":2,"f":"write","key":"0","value":"a b","error":"[:timeout \"no reply\"]"}
	{"index":8,"time":9000000,"type":"invoke","process":3,"f":"read","key":"0","value":null}
	{"index":9,"time":10000000,"type":"info","process":3,"f":"read","key":"0","value":null,"error":"nil read: the value read is unknown (Jepsen's cas-register model accepts it in any state)"}
	`)
}

// Jepsen 0.3's history.edn: one #jepsen.history.Op record per line.
func TestEDNRecordsPerLine(t *testing.T) {
	got := read(t, FormatEDN, `#jepsen.history.Op{:index 0, :time 1500, :type :invoke, :process 0, :f :write, :value 4}
#jepsen.history.Op{:index 1, :time 2600, :type :invoke, :process :nemesis, :f :start-partition, :value :majority}
#jepsen.history.Op{:index 2, :time 2500, :type :ok, :process 0, :f :write, :value 4}
#jepsen.history.Op{:index 3, :time 9000, :type :info, :process :nemesis, :f :start-partition, :value [:isolated {"n1" #{"n2"}}]}
`)
	// Index 2's time goes backwards and is raised to the previous one.
	wantEvents(t, got, `
	{"index":0,"time":1500,"type":"invoke","process":0,"f":"write","key":"0","value":"4"}
	{"index":1,"time":2600,"type":"invoke","process":"nemesis","f":":start-partition","value":":majority"}
	{"index":2,"time":2600,"type":"ok","process":0,"f":"write","key":"0","value":"4"}
	{"index":3,"time":9000,"type":"info","process":"nemesis","f":":start-partition","value":"[:isolated {\"n1\" #{\"n2\"}}]"}
	`)
}

func TestEDNIndependentKeys(t *testing.T) {
	got := read(t, FormatEDN, `{:process 0, :type :invoke, :f :cas, :value [3 [2 4]], :time 10}
{:process 1, :type :invoke, :f :read, :value [3 nil], :time 11}
{:process 2, :type :invoke, :f :write, :value ["k" 9]}
{:process 0, :type :ok, :f :cas, :value [3 [2 4]], :time 30}
{:process 1, :type :ok, :f :read, :value [3 4], :time 40}
{:process 2, :type :info, :f :write, :value :timed-out, :time 50}
{:process 4, :type :invoke, :f :read, :value [:a nil], :time 60}
{:process 4, :type :fail, :f :read, :value [:a nil], :time 70}
`)
	// Line 3 has no :time: it keeps the previous one.
	wantEvents(t, got, `
	{"index":0,"time":10,"type":"invoke","process":0,"f":"cas","key":"3","value":["2","4"]}
	{"index":1,"time":11,"type":"invoke","process":1,"f":"read","key":"3","value":null}
	{"index":2,"time":11,"type":"invoke","process":2,"f":"write","key":"k","value":"9"}
	{"index":3,"time":30,"type":"ok","process":0,"f":"cas","key":"3","value":["2","4"]}
	{"index":4,"time":40,"type":"ok","process":1,"f":"read","key":"3","value":"4"}
	{"index":5,"time":50,"type":"info","process":2,"f":"write","key":"k","value":"9","error":":timed-out"}
	{"index":6,"time":60,"type":"invoke","process":4,"f":"read","key":"a","value":null}
	{"index":7,"time":70,"type":"fail","process":4,"f":"read","key":"a","value":null}
	`)
}

// Comments, commas, a list instead of a vector, big integers, an op over
// several lines, an empty history.
func TestEDNSyntaxVariants(t *testing.T) {
	got := read(t, FormatEDN, `; a history
( {:process 0,
   :type :invoke,
   :f :write,
   :value 12345678901234567890N}
  {:process 0 :type :ok :f :write :value 12345678901234567890N :extra #{1 2} :more #uuid "f81d4fae-7dec-11d0-a765-00a0c91e6bf6"}
)`)
	wantEvents(t, got, `
	{"index":0,"time":2000000,"type":"invoke","process":0,"f":"write","key":"0","value":"12345678901234567890"}
	{"index":1,"time":6000000,"type":"ok","process":0,"f":"write","key":"0","value":"12345678901234567890"}
	`)
	for _, empty := range []string{"[]", "  \n", "; nothing\n[ ]\n"} {
		if got := read(t, FormatEDN, empty); len(got) != 0 {
			t.Errorf("%q: %d events, want none", empty, len(got))
		}
	}
}

func TestEDNErrors(t *testing.T) {
	ok0 := "{:process 0, :type :invoke, :f :read, :value nil}\n"
	for _, tc := range []struct {
		name, in string
		line     int
		msg      string
	}{
		{"bad type", ok0 + "{:process 0, :type :ok, :f :read, :value 1}\n{:process 1, :type :done, :f :read, :value nil}\n", 3, ":type must be :invoke, :ok, :fail or :info, got keyword :done"},
		{"string process", ok0 + `{:process "p1", :type :invoke, :f :read, :value nil}`, 2, `:process must be a non-negative integer or :nemesis, got "p1"`},
		{"negative process", `{:process -1, :type :invoke, :f :read, :value nil}`, 1, ":process must be a non-negative integer"},
		{"other keyword process", `{:process :client, :type :invoke, :f :read, :value nil}`, 1, "got :client"},
		{"txn f", ok0 + `{:process 1, :type :invoke, :f :txn, :value [[:r 1 nil]]}`, 2, "unsupported f :txn for a client operation"},
		{"invoke while open", ok0 + "\n{:process 0, :type :invoke, :f :write, :value 1}\n", 3, "process 0 invokes :write while its :read from line 1 is still open"},
		{"completion without invoke", `{:process 4, :type :ok, :f :write, :value 1}`, 1, "process 4 completes :write with no open invocation"},
		{"completion f mismatch", ok0 + `{:process 0, :type :ok, :f :write, :value 1}`, 2, "process 0 completes :write but its open invocation (line 1) is :read"},
		{"write value mismatch", "{:process 0, :type :invoke, :f :write, :value 1}\n{:process 0, :type :ok, :f :write, :value 2}\n", 2, `completion writes "2" but its invocation (line 1) writes "1"`},
		{"cas not a pair", `{:process 0, :type :invoke, :f :cas, :value [1 2 3]}`, 1, "cas value must be [expected new], got [1 2 3]"},
		{"cas nil", `{:process 0, :type :invoke, :f :cas, :value nil}`, 1, "cas value must be [expected new], got nil"},
		{"cas mismatch", "{:process 0, :type :invoke, :f :cas, :value [1 2]}\n{:process 0, :type :fail, :f :cas, :value [1 3]}", 2, "completion is cas [\"1\" \"3\"] but its invocation (line 1) is cas [\"1\" \"2\"]"},
		{"float value", `{:process 0, :type :invoke, :f :write, :value 1.5}`, 1, "write value must be nil, an integer or a string, got float 1.5"},
		{"keyword read value", ok0 + `{:process 0, :type :ok, :f :read, :value :foo}`, 2, "an :ok :read carries the keyword :foo instead of a value"},
		{"map value", `{:process 0, :type :invoke, :f :write, :value {:a 1}}`, 1, "write value must be nil, an integer or a string, got a map"},
		{"mixed keyed then plain", "{:process 0, :type :invoke, :f :write, :value [1 2]}\n{:process 1, :type :invoke, :f :write, :value 2}", 2, "not an independent-key tuple [k v] but the history's first operation (line 1) is"},
		{"mixed plain then keyed", ok0 + `{:process 1, :type :invoke, :f :write, :value [1 2]}`, 2, "value is an independent-key tuple [k v] but the history's first operation (line 1) is on a single register"},
		{"key mismatch", "{:process 0, :type :invoke, :f :read, :value [1 nil]}\n{:process 0, :type :ok, :f :read, :value [2 5]}", 2, `completion is for key "2" but its invocation (line 1) is for key "1"`},
		{"bad key", `{:process 0, :type :invoke, :f :write, :value [1.5 2]}`, 1, "independent key must be an integer, string or keyword, got float 1.5"},
		{"empty key", `{:process 0, :type :invoke, :f :write, :value ["" 2]}`, 1, "independent key must not be the empty string"},
		{"missing process", ok0 + `{:type :invoke, :f :read, :value nil}`, 2, "op has no :process"},
		{"missing type", `{:process 0, :f :read}`, 1, "op has no :type"},
		{"missing f", `{:process 0, :type :invoke}`, 1, "op has no :f"},
		{"string f", `{:process 0, :type :invoke, :f 3}`, 1, ":f must be a keyword, got 3"},
		{"negative time", `{:process 0, :type :invoke, :f :read, :time -5}`, 1, ":time must be a non-negative integer (ns), got -5"},
		{"not a map", ok0 + "42\n", 2, "an op must be a map such as {:process 0, :type :invoke, :f :read, :value nil}, got 42"},
		{"a set", "#{1 2}", 1, "an op must be a map"},
		{"number keys", `{1 2}`, 1, "op has no :process"},
		{"unclosed map", ok0 + "{:process 1, :type :invoke,\n :f :read\n", 2, "EDN value starting here is not closed before the end of the input"},
		{"unclosed vector", "[" + ok0 + ok0, 1, "the history opened here with '[' is not closed with ']' at the end of the input"},
		{"syntax error", ok0 + "{:process 1, :type :invoke, :f :read,\n :value 1/2}\n", 3, "EDN syntax: invalid character '/'"},
		{"stray closer", ok0 + "}\n", 2, "EDN syntax: unexpected closing bracket"},
		{"odd map", ok0 + "{:process 1 :type}\n", 2, "EDN syntax: unexpected closing bracket or map without a value"},
		{"multi-line op error names its first line", ok0 + "\n\n{:process 1,\n :type :invoke,\n :f :delete}\n", 4, "unsupported f :delete"},
		{"line after a re-read op", ok0 + "{:process :nemesis, :type :info, :f :x,\n :value {7N 1}}\n{:process 1, :type :done}\n", 4, "got keyword :done"},
		{"syntax error in a re-read op", ok0 + "{:process :nemesis, :type :info, :f :x, :value {7N 1} :bad 1/2}\n", 2, "EDN syntax"},
		{"integer overflow", `{:process 0, :type :invoke, :f :write, :value 99999999999999999999}`, 1, "EDN syntax: integer out of range (Clojure writes big integers with an N suffix)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Read(strings.NewReader(tc.in), "h", FormatEDN)
			wantParseError(t, err, tc.line, tc.msg)
		})
	}
}

// TestEDNGolden converts a small real-shaped history.edn (Jepsen 0.3
// records with independent keys, a nemesis, timeouts and a failed cas) and
// compares every event with testdata/small.golden.jsonl. Run with -update
// to rewrite the golden file, then review the diff.
func TestEDNGolden(t *testing.T) {
	events, err := ReadFile(filepath.Join("testdata", "small.edn"), FormatAuto)
	if err != nil {
		t.Fatal(err)
	}
	got := jsonl(t, events)
	golden := filepath.Join("testdata", "small.golden.jsonl")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("conversion of testdata/small.edn differs from %s\ngot:\n%s\nwant:\n%s", golden, got, want)
	}
	// The golden file is itself a valid history of ours.
	res, err := history.ReadFile(golden)
	if err != nil {
		t.Fatalf("golden file is not a valid history: %v", err)
	}
	if len(res.Events) != len(events) {
		t.Errorf("golden file has %d events, conversion %d", len(res.Events), len(events))
	}
}

// Maps keyed by collections print as EDN. A key the library cannot hash (a
// big integer, a tagged collection) in an ignored key or a nemesis value
// does not stop the import: that op is read again field by field, the value
// kept as its text, and reading goes on.
func TestEDNCollectionKeys(t *testing.T) {
	got := read(t, FormatEDN, `[{:process 0, :type :invoke, :f :write, :value 1}
 {:process 0, :type :info, :f :write, :value 1, :exception {:data {7N "cut"}}, :error "indeterminate"}
 {:process :nemesis, :type :info, :f :partition, :value {#g [:n1 :n2] :cut,  :n3 :ok}}
 {:process :nemesis, :type :info, :f :partition, :value {[:n1 :n2] :cut, {:n3 1} :ok}}
 {:process :nemesis, :type :info, :f :partition, :value {"n3" #{"n1"}, "n1" #{"n3" "n2"}}, :error {:b 2, :a [1 \x]}}
 {:process 1, :type :invoke, :f :read, :value nil}]
`)
	wantEvents(t, got, `
	{"index":0,"time":1000000,"type":"invoke","process":0,"f":"write","key":"0","value":"1"}
	{"index":1,"time":2000000,"type":"info","process":0,"f":"write","key":"0","value":"1","error":"indeterminate"}
	{"index":2,"time":3000000,"type":"info","process":"nemesis","f":":partition","value":"{#g [:n1 :n2] :cut,  :n3 :ok}"}
	{"index":3,"time":4000000,"type":"info","process":"nemesis","f":":partition","value":"{[:n1 :n2] :cut, {:n3 1} :ok}"}
	{"index":4,"time":5000000,"type":"info","process":"nemesis","f":":partition","value":"{\"n1\" #{\"n2\" \"n3\"}, \"n3\" #{\"n1\"}}","error":"{:a [1 \\x], :b 2}"}
	{"index":5,"time":6000000,"type":"invoke","process":1,"f":"read","key":"0","value":null}
	`)
	// Such a client value is still not a register value.
	_, err := Read(strings.NewReader("{:process 0, :type :invoke, :f :read, :value nil}\n{:process 0, :type :ok, :f :read, :value {7N 2}}\n"), "h", FormatEDN)
	wantParseError(t, err, 2, "read value must be nil, an integer or a string, got {7N 2}")
}

func TestPrintEDN(t *testing.T) {
	v, err := newValueReader().one(`{:z [1 2.0 3.5 "s\"q" \a \newline nil true], "k" #{:b :a}, 7 1.5M, [1] 2N, :t #uuid "f81d4fae-7dec-11d0-a765-00a0c91e6bf6", :sym foo/bar}`)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"k" #{:a :b}, 7 1.5, :sym foo/bar, :t #uuid "f81d4fae-7dec-11d0-a765-00a0c91e6bf6", :z [1 2.0 3.5 "s\"q" \a \newline nil true], [1] 2N}`
	for i := 0; i < 5; i++ { // map order must not leak
		if got := printEDN(v); got != want {
			t.Fatalf("printEDN = %s\nwant      %s", got, want)
		}
	}
}
