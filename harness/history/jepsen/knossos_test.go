package jepsen

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/splitbrain/splitbrain/harness/history"
	"github.com/splitbrain/splitbrain/model"
)

// KnossosDataEnv names a directory holding knossos' cas-register corpus:
// the good/ and bad/ directories of data/cas-register in a checkout of
// github.com/jepsen-io/knossos. Its histories are not copied into this
// repository (they are knossos' data, and the project commits no fetched
// data); TestKnossosCorpus runs on them when the variable is set, e.g.
//
//	git clone https://github.com/jepsen-io/knossos /tmp/knossos
//	SPLITBRAIN_KNOSSOS_DATA=/tmp/knossos/data/cas-register go test ./harness/history/jepsen -run Knossos -v
const KnossosDataEnv = "SPLITBRAIN_KNOSSOS_DATA"

// TestKnossosCorpus checks every history of knossos' cas-register corpus
// with the register starting at 0, as knossos' own test-examples does
// ((model/cas-register 0)), and expects knossos' verdict: good/*.edn
// linearizable, bad/*.edn not, and not for a nil read. Without
// KnossosDataEnv it skips; TestRegisterConventions runs the same check on
// our own small corpus in testdata/cas-register, which exercises the same
// conventions.
func TestKnossosCorpus(t *testing.T) {
	dir := os.Getenv(KnossosDataEnv)
	if dir == "" {
		t.Skipf("%s is not set: no knossos cas-register corpus to check (see KnossosDataEnv)", KnossosDataEnv)
	}
	checkCorpus(t, dir, "knossos cas-register corpus")
}

// TestRegisterConventions checks our hand-made histories of Jepsen's
// cas-register conventions (testdata/cas-register, laid out as knossos'
// corpus, each file saying in a comment what it shows): a nil read is a
// read of an unknown value, an :info op may take effect at any time after
// its invocation or never, a :fail op never happened, an :info read says
// nothing, an invocation never completed is an :info.
func TestRegisterConventions(t *testing.T) {
	good, bad := checkCorpus(t, filepath.Join("testdata", "cas-register"), "our cas-register conventions")
	if good < 8 || bad < 4 {
		t.Errorf("testdata/cas-register has %d good and %d bad histories, want at least 8 and 4", good, bad)
	}
}

// checkCorpus checks dir/good/*.edn (each must be linearizable) and
// dir/bad/*.edn (each must not be, for a reason other than a nil read)
// with the register starting at 0, and returns how many of each it found.
func checkCorpus(t *testing.T, dir, what string) (goods, bads int) {
	t.Helper()
	counts := map[bool][2]int{} // expected verdict -> {agreeing, total}
	for _, good := range []bool{true, false} {
		sub := "bad"
		if good {
			sub = "good"
		}
		files, err := filepath.Glob(filepath.Join(dir, sub, "*.edn"))
		if err != nil {
			t.Fatal(err)
		}
		if len(files) == 0 {
			t.Fatalf("no %s/*.edn under %s", sub, dir)
		}
		sort.Strings(files)
		agree := 0
		for _, f := range files {
			name := sub + "/" + filepath.Base(f)
			events, err := ReadFile(f, FormatAuto)
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			res, err := model.CheckLinearizable(events, model.Options{Initial: history.Str("0")})
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			want := model.Invalid
			if good {
				want = model.Valid
			}
			if res.Valid != want {
				t.Errorf("%s: verdict %v, want %v: %s", name, res.Valid, want, clipped(res.Explanation))
				continue
			}
			if !good {
				t.Logf("%s: %s: %s", name, res.Anomaly, res.Explanation)
				if strings.Contains(res.Explanation, "saw absent") {
					t.Errorf("%s is blamed on a nil read, which is a read of an unknown value: %s", name, res.Explanation)
					continue
				}
			}
			agree++
		}
		counts[good] = [2]int{agree, len(files)}
	}
	t.Logf("%s: %d of %d good histories linearizable, %d of %d bad ones not (with their real violation)",
		what, counts[true][0], counts[true][1], counts[false][0], counts[false][1])
	return counts[true][1], counts[false][1]
}

func clipped(s string) string {
	if r := []rune(s); len(r) > 200 {
		return string(r[:200]) + "..."
	}
	return s
}

// TestNilReadByFormat: what an :ok read of nil means depends on the source,
// and can be set: unknown in EDN (knossos' cas-register model, which
// Jepsen's checker uses), absent in jepsen.util logs (porcupine's etcd
// model, whose verdicts TestPorcupineEtcdLogs expects) and always absent in
// our JSONL.
func TestNilReadByFormat(t *testing.T) {
	const (
		ednText   = "[{:process 0 :type :invoke :f :write :value 1} {:process 0 :type :ok :f :write :value 1}\n {:process 1 :type :invoke :f :read :value nil} {:process 1 :type :ok :f :read :value nil}]"
		keyedText = "[{:process 0 :type :invoke :f :write :value [4 1]} {:process 0 :type :ok :f :write :value [4 1]}\n {:process 1 :type :invoke :f :read :value [4 nil]} {:process 1 :type :ok :f :read :value [4 nil]}]"
		logText   = "0\t:invoke\t:write\t1\n0\t:ok\t:write\t1\n1\t:invoke\t:read\tnil\n1\t:ok\t:read\tnil\n"
	)
	for _, c := range []struct {
		name, text string
		o          Options
		unknown    bool // the nil read becomes an :info read
	}{
		{"edn", ednText, Options{Format: FormatEDN}, true},
		{"edn detected", ednText, Options{}, true},
		{"edn independent", keyedText, Options{}, true},
		{"edn, nil read absent", ednText, Options{NilRead: NilReadAbsent}, false},
		{"log", logText, Options{}, false},
		{"log, nil read unknown", logText, Options{Format: FormatLog, NilRead: NilReadUnknown}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			events, err := ReadWith(strings.NewReader(c.text), "h", c.o)
			if err != nil {
				t.Fatal(err)
			}
			if len(events) != 4 {
				t.Fatalf("%d events, want 4", len(events))
			}
			last := events[3]
			wantType, wantErr := history.OK, ""
			if c.unknown {
				wantType, wantErr = history.Info, NilReadNote
			}
			if last.Type != wantType || last.Error != wantErr || last.Value != nil {
				t.Errorf("nil read became %s %v error %q, want %s nil error %q", last.Type, last.Value, last.Error, wantType, wantErr)
			}
			// The verdict with the register starting at 0: a nil read of
			// unknown value is legal, a read of "absent" is not.
			res, err := model.CheckLinearizable(events, model.Options{Initial: history.Str("0")})
			if err != nil {
				t.Fatal(err)
			}
			want := model.Invalid
			if c.unknown {
				want = model.Valid
			}
			if res.Valid != want {
				t.Errorf("verdict %v, want %v (%s)", res.Valid, want, res.Explanation)
			}
		})
	}
	// Reads that are not :ok reads of nil keep their type.
	events := read(t, FormatEDN, `[{:process 0 :type :invoke :f :read :value nil} {:process 0 :type :fail :f :read :value nil}
 {:process 1 :type :invoke :f :read :value nil} {:process 1 :type :info :f :read :value nil :error :timeout}
 {:process 2 :type :invoke :f :read :value nil} {:process 2 :type :ok :f :read :value 0}]`)
	for i, want := range map[int]string{1: "fail", 3: "info", 5: "ok"} {
		if e := events[i]; string(e.Type) != want || strings.Contains(e.Error, "nil read") {
			t.Errorf("event %d: %s error %q, want %s without the nil-read note", i, e.Type, e.Error, want)
		}
	}
	// Our JSONL has no unknown reads: nil is absent there.
	_, err := ReadWith(strings.NewReader(`{"index":0,"time":0,"type":"invoke","process":0,"f":"read","key":"k","value":null}`+"\n"), "h", Options{NilRead: NilReadUnknown})
	if err == nil || !strings.Contains(err.Error(), "absent in our JSONL") {
		t.Errorf("JSONL with NilReadUnknown: error %v, want one saying nil is absent in JSONL", err)
	}
}

func TestParseNilRead(t *testing.T) {
	for in, want := range map[string]NilRead{"": NilReadAuto, "auto": NilReadAuto, "unknown": NilReadUnknown, "absent": NilReadAbsent} {
		if got, err := ParseNilRead(in); err != nil || got != want {
			t.Errorf("ParseNilRead(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseNilRead("nil"); err == nil || !strings.Contains(err.Error(), "want auto, unknown or absent") {
		t.Errorf("ParseNilRead(nil): %v", err)
	}
}
