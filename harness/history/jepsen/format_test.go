package jepsen

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/splitbrain/splitbrain/harness/history"
)

func TestDetect(t *testing.T) {
	for _, tc := range []struct {
		name, head string
		want       Format
	}{
		{"jsonl", `{"index":0,"time":1,"type":"invoke","process":0,"f":"read","key":"k","value":null}` + "\n", FormatJSONL},
		{"jsonl spaced", "\n  { \"index\": 0}", FormatJSONL},
		{"jsonl torn", `{"index":0,"ti`, FormatJSONL},
		{"edn map per line", "{:process 0, :type :invoke}\n", FormatEDN},
		{"edn vector", "[{:process 0}\n", FormatEDN},
		{"edn list", "({:process 0})", FormatEDN},
		{"edn record", "#jepsen.history.Op{:index 0}\n", FormatEDN},
		{"edn comment", "; history\n[]", FormatEDN},
		{"edn with BOM", "\uFEFF[]", FormatEDN},
		{"log4j", "INFO  jepsen.util - 0\t:invoke\t:read\tnil\n", FormatLog},
		{"log4j other logger first", "INFO  jepsen.core - Worker 0 starting\n", FormatLog},
		{"logback", "2018-02-19 13:15:11,443{GMT}\tINFO\t[jepsen test runner] jepsen.core: Running test\n", FormatLog},
		{"bare op line", "3\t:invoke\t:read\tnil\n", FormatLog},
		{"bare nemesis line after blank lines", "\n\r\n:nemesis\t:info\t:start\tnil", FormatLog},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Detect([]byte(tc.head))
			if err != nil || got != tc.want {
				t.Errorf("Detect = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
	for _, tc := range []struct {
		name, head string
		line       int
		msg        string
	}{
		{"empty", "", 1, "empty input"},
		{"blank", "\n \r\n", 1, "empty input"},
		{"carriage return", "\r", 1, "empty input"},
		{"prose", "\n\nhello world\n", 3, "cannot tell the history format from hello world"},
		{"csv", "index,time,type\n", 1, "cannot tell the history format"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Detect([]byte(tc.head))
			var pe *history.ParseError
			if !errors.As(err, &pe) || pe.File != "input" || pe.Line != tc.line || !strings.Contains(pe.Msg, tc.msg) {
				t.Errorf("Detect error %v, want input:%d: ...%s...", err, tc.line, tc.msg)
			}
		})
	}
}

// Read with FormatAuto reads all three formats to the same events, and a
// detection failure names the file.
func TestReadAuto(t *testing.T) {
	edn := "[{:process 0, :type :invoke, :f :write, :value 1}\n {:process 0, :type :ok, :f :write, :value 1}]\n"
	log := "INFO  jepsen.util - 0\t:invoke\t:write\t1\nINFO  jepsen.util - 0\t:ok\t:write\t1\n"
	fromEDN := read(t, FormatAuto, edn)
	fromLog := read(t, FormatAuto, log)
	if a, b := jsonl(t, fromEDN), jsonl(t, fromLog); a != b || len(fromEDN) != 2 {
		t.Fatalf("EDN and log differ:\n%s\n%s", a, b)
	}
	path := filepath.Join(t.TempDir(), "h.jsonl")
	if err := history.WriteFile(path, fromEDN); err != nil {
		t.Fatal(err)
	}
	fromJSONL, err := ReadFile(path, FormatAuto)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := jsonl(t, fromEDN), jsonl(t, fromJSONL); a != b {
		t.Fatalf("JSONL round trip differs:\n%s\n%s", a, b)
	}
	// Our own reader's errors come through as they are.
	_, err = Read(strings.NewReader(`{"index":5,"time":0,"type":"invoke","process":0,"f":"read","key":"k","value":null}`+"\n"), "h", FormatAuto)
	wantParseError(t, err, 1, "index 5 out of sequence (want 0)")

	_, err = Read(strings.NewReader("\nnot a history\n"), "h", FormatAuto)
	wantParseError(t, err, 2, "cannot tell the history format")

	for _, empty := range []string{"", "\n\n"} {
		if got := read(t, FormatAuto, empty); len(got) != 0 {
			t.Errorf("%q: %d events, want none", empty, len(got))
		}
	}
	if _, err := ReadFile(filepath.Join(t.TempDir(), "missing"), FormatAuto); err == nil {
		t.Error("ReadFile of a missing file succeeded")
	}
	if _, err := Read(strings.NewReader("[]"), "h", Format("xml")); err == nil || !strings.Contains(err.Error(), `unknown history format "xml"`) {
		t.Errorf("unknown format: %v", err)
	}
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]Format{"": FormatAuto, "auto": FormatAuto, "edn": FormatEDN, "jepsen-log": FormatLog, "jsonl": FormatJSONL} {
		if got, err := ParseFormat(in); err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseFormat("EDN"); err == nil {
		t.Error("ParseFormat(EDN) succeeded")
	}
}

// A JSON array of events is not EDN: it is reported as JSON, with the
// formats that are accepted, whether detected or read as EDN.
func TestJSONArrayIsNotEDN(t *testing.T) {
	const ev = `{"index":0,"time":0,"type":"invoke","process":0,"f":"read","key":"k","value":null}`
	for name, text := range map[string]string{
		"one line":       "[" + ev + "]\n",
		"pretty-printed": "[\n  {\n    \"index\": 0,\n    \"f\": \"read\"\n  }\n]\n",
		"after a blank":  "\n  [ " + ev + " ]",
	} {
		t.Run(name, func(t *testing.T) {
			line := 1
			if strings.HasPrefix(text, "\n") {
				line = 2
			}
			_, err := Read(strings.NewReader(text), "h", FormatAuto)
			wantParseError(t, err, line, "a JSON array: JSON histories are JSONL")
			if err != nil && (!strings.Contains(err.Error(), Accepted) || strings.Contains(err.Error(), "EDN syntax")) {
				t.Errorf("error %q: want the accepted formats and no EDN syntax error", err)
			}
			_, err = Read(strings.NewReader(text), "h", FormatEDN)
			objectLine := line // where the first object starts
			if name == "pretty-printed" {
				objectLine = 2
			}
			wantParseError(t, err, objectLine, "a JSON object, not an EDN op map")
		})
	}
	// EDN maps whose keys are keywords are EDN, even next to strings.
	if f, err := Detect([]byte(`[{:process 0, :f "read"}]`)); err != nil || f != FormatEDN {
		t.Errorf("Detect of an EDN vector = %q, %v", f, err)
	}
}

// An empty EDN collection is a history of no operations: zero events and
// no error, as for an empty file (what to make of a history with nothing
// to check is the caller's decision).
func TestEmptyEDNHistory(t *testing.T) {
	for _, text := range []string{"[]", "[ ]", "()", "[\n]\n", "; nothing\n[]\n", "\uFEFF[]", " , "} {
		for _, f := range []Format{FormatAuto, FormatEDN} {
			events, err := Read(strings.NewReader(text), "h", f)
			if err != nil || len(events) != 0 {
				t.Errorf("Read(%q, %q) = %d events, %v; want none and no error", text, f, len(events), err)
			}
		}
	}
}

// Errors about a file name it once ("path:line: message"), and never echo
// binary input raw.
func TestDetectFileErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, content, msg string
	}{
		{"empty", "", "empty input: no history to read"},
		{"binary", "\x00\x01\xff\xfe\x1b[31m\x07 garbage", `cannot tell the history format from "\x00\x01\xff\xfe\x1b[31m\a garbage"`},
		{"long binary", strings.Repeat("\x1b", 5000), `"` + strings.Repeat(`\x1b`, history.QuoteBytes) + `"...`},
		{"json array", `[{"index":0}]`, "a JSON array"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name)
			if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := DetectFile(path)
			var pe *history.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("DetectFile error %v (%T), want a *history.ParseError", err, err)
			}
			if got := err.Error(); !strings.HasPrefix(got, path+":1: ") || strings.Count(got, ":1: ") != 1 || strings.Contains(got, "input:1") {
				t.Errorf("error %q: want the path and line once", got)
			}
			if !strings.Contains(pe.Msg, tc.msg) {
				t.Errorf("error %q: want %q", pe.Msg, tc.msg)
			}
			if msg := uncleanMessage(pe.Msg); msg != "" {
				t.Errorf("error %q: %s", pe.Msg, msg)
			}
		})
	}
	if _, err := DetectFile(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("DetectFile of a missing file: %v", err)
	}
	if f, err := DetectFile(filepath.Join("testdata", "small.edn")); err != nil || f != FormatEDN {
		t.Errorf("DetectFile(small.edn) = %q, %v", f, err)
	}
}
