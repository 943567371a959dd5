package harness

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/splitbrain/splitbrain/harness/history"
	"github.com/splitbrain/splitbrain/model"
)

// killStartEDN is a register history with Jepsen's combined nemesis
// killing and starting nodes (:kill, then :start): a history of ours would
// pair "kill" with "restart", and Jepsen's :start closes nothing of ours.
const killStartEDN = `{:index 0, :time 0, :type :invoke, :process 0, :f :write, :value 1}
{:index 1, :time 1000000, :type :ok, :process 0, :f :write, :value 1}
{:index 2, :time 2000000, :type :invoke, :process :nemesis, :f :kill, :value :primaries}
{:index 3, :time 3000000, :type :info, :process :nemesis, :f :kill, :value {"n1" :killed}}
{:index 4, :time 4000000, :type :invoke, :process :nemesis, :f :start, :value :all}
{:index 5, :time 5000000, :type :info, :process :nemesis, :f :start, :value {"n1" :started}}
{:index 6, :time 6000000, :type :invoke, :process 1, :f :read, :value nil}
{:index 7, :time 7000000, :type :ok, :process 1, :f :read, :value 1}
`

// A Jepsen history carries no fault information to judge liveness by: the
// check says so, counts liveness as valid, and the verdict is the
// linearizability verdict (on 1acf2a1 small.edn was UNKNOWN, "liveness
// unknown", and the :kill/:start history "never healed").
func TestCheckJepsenLivenessNotJudged(t *testing.T) {
	dir := t.TempDir()
	ks := filepath.Join(dir, "kill-start.edn")
	if err := os.WriteFile(ks, []byte(killStartEDN), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{filepath.Join("history", "jepsen", "testdata", "small.edn"), ks} {
		t.Run(filepath.Base(path), func(t *testing.T) {
			out, err := Check(context.Background(), path, CheckOptions{Results: dir})
			if err != nil {
				t.Fatal(err)
			}
			r := out.Results
			if r.Valid != model.Valid || !r.LivenessNotJudged || r.Liveness.Valid != model.Valid ||
				!strings.HasPrefix(r.Liveness.Detail, "not judged: a Jepsen history carries no fault information") {
				t.Fatalf("verdict %v, liveness %v (not judged %v): %s", r.Valid, r.Liveness.Valid, r.LivenessNotJudged, r.Liveness.Detail)
			}
			if s := Summary(r, nil, false); !strings.Contains(s, "liveness not judged") || strings.Contains(s, "never healed") {
				t.Errorf("summary:\n%s", s)
			}
			// Checking the stored directory again keeps the reason.
			again, err := Check(context.Background(), out.Dir, CheckOptions{Results: dir})
			if err != nil {
				t.Fatal(err)
			}
			if again.Results.Valid != model.Valid || !again.Results.LivenessNotJudged {
				t.Errorf("re-check of %s: verdict %v, liveness not judged %v", out.Dir, again.Results.Valid, again.Results.LivenessNotJudged)
			}
		})
	}
	// Our own histories are still judged.
	jsonl := filepath.Join(dir, "ours.jsonl")
	if err := history.WriteFile(jsonl, []history.Event{
		{Index: 0, Time: 0, Type: history.Invoke, Process: 0, F: history.FWrite, Key: "k", Value: history.Str("1")},
		{Index: 1, Time: 1, Type: history.OK, Process: 0, F: history.FWrite, Key: "k", Value: history.Str("1")},
	}); err != nil {
		t.Fatal(err)
	}
	out, err := Check(context.Background(), jsonl, CheckOptions{Results: dir})
	if err != nil {
		t.Fatal(err)
	}
	if out.Results.LivenessNotJudged || out.Results.Liveness.Valid != model.Unknown {
		t.Errorf("our JSONL: liveness %v (not judged %v), want it judged (unknown: the history ends at once)", out.Results.Liveness.Valid, out.Results.LivenessNotJudged)
	}
}

// --nil-read: the meaning of a nil read follows the format unless given,
// applies to Jepsen histories only, and lands in the repro line.
func TestCheckNilRead(t *testing.T) {
	dir := t.TempDir()
	edn := filepath.Join(dir, "nil-read.edn")
	if err := os.WriteFile(edn, []byte("[{:process 0 :type :invoke :f :read :value nil} {:process 0 :type :ok :f :read :value nil}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	zero := history.Str("0")
	for nilRead, want := range map[string]model.Validity{"": model.Valid, "auto": model.Valid, "unknown": model.Valid, "absent": model.Invalid} {
		out, err := Check(context.Background(), edn, CheckOptions{Results: dir, Initial: zero, NilRead: nilRead})
		if err != nil {
			t.Fatalf("--nil-read %q: %v", nilRead, err)
		}
		if out.Results.Valid != want {
			t.Errorf("--nil-read %q: verdict %v, want %v", nilRead, out.Results.Valid, want)
		}
		if wantFlag := nilRead == "absent" || nilRead == "unknown"; strings.Contains(out.Results.Repro, "--nil-read") != wantFlag || !strings.Contains(out.Results.Repro, "--initial 0") {
			t.Errorf("--nil-read %q: repro %q", nilRead, out.Results.Repro)
		}
	}
	if _, err := Check(context.Background(), edn, CheckOptions{Results: dir, NilRead: "maybe"}); !errors.Is(err, ErrUsage) {
		t.Errorf("--nil-read maybe: %v, want a usage error", err)
	}
	jsonl := filepath.Join(dir, "ours.jsonl")
	if err := history.WriteFile(jsonl, []history.Event{{Index: 0, Type: history.Invoke, Process: 0, F: history.FRead, Key: "k"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := Check(context.Background(), jsonl, CheckOptions{Results: dir, NilRead: "unknown"}); !errors.Is(err, ErrUsage) {
		t.Errorf("--nil-read unknown on JSONL: %v, want a usage error", err)
	}
}

// Errors about a history file name it once, and quote binary input.
func TestCheckErrorsNameTheFileOnce(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"empty":  "",
		"binary": "\x00\xff\x1b[2J\x07",
		"array":  `[{"index":0,"time":0,"type":"invoke","process":0,"f":"read","key":"k","value":null}]`,
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Check(context.Background(), path, CheckOptions{Results: dir})
		var pe *history.ParseError
		if !errors.As(err, &pe) {
			t.Fatalf("%s: %v, want a *history.ParseError", name, err)
		}
		if msg := err.Error(); !strings.HasPrefix(msg, path+":1: ") || strings.Contains(msg, "input:1") || strings.ContainsAny(msg, "\x00\x1b\x07\xff") {
			t.Errorf("%s: error %q: want the path once and no raw bytes", name, msg)
		}
	}
}
