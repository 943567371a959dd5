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
// linearizable, bad/*.edn not. Without KnossosDataEnv it skips; the same
// conventions are exercised on our own small histories by
// TestNilReadIsUnknownInEDN and its neighbours.
func TestKnossosCorpus(t *testing.T) {
	dir := os.Getenv(KnossosDataEnv)
	if dir == "" {
		t.Skipf("%s is not set: no knossos cas-register corpus to check (see KnossosDataEnv)", KnossosDataEnv)
	}
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
			t.Fatalf("no %s/*.edn under %s (want knossos' data/cas-register)", sub, dir)
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
				t.Errorf("%s: verdict %v, knossos expects %v: %s", name, res.Valid, want, firstLine(res.Explanation))
				continue
			}
			if !good {
				t.Logf("%s: %s: %s", name, res.Anomaly, res.Explanation)
				if strings.Contains(res.Explanation, "saw absent") {
					t.Errorf("%s is blamed on a nil read, which knossos counts as a read of an unknown value: %s", name, res.Explanation)
					continue
				}
			}
			agree++
		}
		counts[good] = [2]int{agree, len(files)}
	}
	t.Logf("knossos cas-register corpus: %d of %d good histories linearizable, %d of %d bad ones not (with their real violation)",
		counts[true][0], counts[true][1], counts[false][0], counts[false][1])
}

func firstLine(s string) string {
	if r := []rune(s); len(r) > 200 {
		return string(r[:200]) + "..."
	}
	return s
}
