package jepsen

import (
	"errors"
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
