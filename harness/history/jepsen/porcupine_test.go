package jepsen

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/splitbrain/splitbrain/model"
)

// porcupineDir is where the go command keeps porcupine's module source,
// whose test_data/jepsen holds the etcd logs.
func porcupineDir(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/anishathalye/porcupine").Output()
	if err != nil {
		t.Fatalf("go list -m github.com/anishathalye/porcupine: %v", err)
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		t.Fatal("go list gave no directory for porcupine (module not downloaded? run go mod download)")
	}
	return dir
}

// porcupineVerdicts reads the verdict porcupine's own tests expect for each
// etcd log: each TestEtcdJepsenNNN calls checkJepsen(t, NNN, verdict).
func porcupineVerdicts(t *testing.T, dir string) map[int]bool {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(dir, "porcupine_test.go"))
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`func TestEtcdJepsen(\d+)\(t \*testing\.T\) \{\s*checkJepsen\(t, (\d+), (true|false)\)`)
	want := map[int]bool{}
	for _, m := range re.FindAllStringSubmatch(string(src), -1) {
		n, _ := strconv.Atoi(m[2])
		if name, _ := strconv.Atoi(m[1]); name != n {
			t.Fatalf("TestEtcdJepsen%s checks log %d", m[1], n)
		}
		want[n] = m[3] == "true"
	}
	return want
}

// TestPorcupineEtcdLogs converts every Jepsen etcd log in porcupine's test
// data and checks it with our register model, starting from nil as
// porcupine's etcd model does, expecting porcupine's verdict for each. A
// log's nil read is read as absent, as porcupine's model reads it; read as
// unknown (knossos' rule, the default for EDN) the verdicts are the same.
func TestPorcupineEtcdLogs(t *testing.T) {
	dir := porcupineDir(t)
	want := porcupineVerdicts(t, dir)
	if len(want) != 102 {
		t.Fatalf("porcupine's tests give verdicts for %d etcd logs, want 102", len(want))
	}
	files, err := filepath.Glob(filepath.Join(dir, "test_data", "jepsen", "etcd_*.log"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	if len(files) != 103 {
		t.Fatalf("found %d etcd logs, want 103 (etcd_000 … etcd_102)", len(files))
	}
	checked, valid := 0, 0
	for _, f := range files {
		n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "etcd_"), ".log"))
		if err != nil {
			t.Fatalf("%s: unexpected name", f)
		}
		events, err := ReadFile(f, FormatAuto)
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
			continue
		}
		unknownReads, err := ReadFileWith(f, Options{NilRead: NilReadUnknown})
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
			continue
		}
		exp, ok := want[n]
		if !ok {
			// etcd_095: "etcd cluster failed to start up in test 95"; the
			// log is empty and porcupine has no verdict for it.
			if len(events) != 0 {
				t.Errorf("%s has no verdict in porcupine's tests but %d events", filepath.Base(f), len(events))
			}
			continue
		}
		res, err := model.CheckLinearizable(events, model.Options{Initial: nil})
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
			continue
		}
		wantV := model.Invalid
		if exp {
			wantV = model.Valid
		}
		if res.Valid != wantV {
			t.Errorf("%s: verdict %v, porcupine expects %v", filepath.Base(f), res.Valid, wantV)
		}
		if res, err := model.CheckLinearizable(unknownReads, model.Options{Initial: nil}); err != nil || res.Valid != wantV {
			t.Errorf("%s with nil reads unknown: verdict %v (%v), porcupine expects %v", filepath.Base(f), res.Valid, err, wantV)
		}
		checked++
		if res.Valid == model.Valid {
			valid++
		}
	}
	if checked != 102 {
		t.Errorf("checked %d logs, want 102", checked)
	}
	t.Logf("%d etcd logs checked against porcupine's verdicts: %d valid, %d invalid", checked, valid, checked-valid)
}
