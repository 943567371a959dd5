package model

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/splitbrain/splitbrain/harness/history"
)

var anomalies = map[string]bool{AnomalyStaleRead: true, AnomalyLostWrite: true, AnomalyPhantomRead: true,
	AnomalyAbortedRead: true, AnomalyFutureRead: true, AnomalyCAS: true, AnomalyOther: true}

// eventsFromBytes decodes fuzz input into a history, three bytes an event:
// process and type, operation and key, value. Some decodings are not well
// formed (completions without invocations and the like), on purpose.
func eventsFromBytes(b []byte) []history.Event {
	var events []history.Event
	var now int64
	for i := 0; i+2 < len(b) && len(events) < 60; i += 3 {
		p, op, val := b[i], b[i+1], b[i+2]
		now += int64(val%3) * 1e8
		e := history.Event{Index: int64(len(events)), Time: now, Process: history.Process(p % 4)}
		if p%4 == 3 && p&0x80 != 0 {
			e.Process, e.Type = history.Nemesis, history.Info
			e.F = []string{history.FaultPartition, history.FaultHeal, history.FaultKill, history.FaultRestart, history.FaultNote}[op%5]
			e.Value = history.Str("n" + strconv.Itoa(int(val%3)))
			events = append(events, e)
			continue
		}
		e.Type = []history.Type{history.Invoke, history.OK, history.Fail, history.Info}[(p>>2)%4]
		e.F = []string{history.FRead, history.FWrite, history.FCAS}[op%3]
		e.Key = "k" + strconv.Itoa(int(op>>2)%2)
		if val&0x80 == 0 {
			e.Value = history.Str(strconv.Itoa(int(val % 4)))
		}
		if e.F == history.FCAS {
			e.Prev = history.Str(strconv.Itoa(int(val>>4) % 4))
		}
		e.Node = "n" + strconv.Itoa(int(p>>4)%3)
		events = append(events, e)
	}
	return events
}

// FuzzCheck feeds arbitrary histories to the checker: it must never
// panic, must reject malformed histories with an error, and must return
// well-formed verdicts otherwise.
func FuzzCheck(f *testing.F) {
	f.Add([]byte{0, 1, 1, 4, 1, 1, 1, 0, 0, 5, 0, 1})
	f.Add([]byte{0, 2, 0x12, 4, 2, 0x12, 0x83, 0, 0, 1, 0, 0, 5, 0, 3})
	f.Add([]byte{0, 1, 2, 1, 0, 0, 12, 1, 0, 5, 0, 2, 0x83, 1, 0, 0, 1, 1, 4, 1, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		events := eventsFromBytes(b)
		for _, initial := range []*string{nil, history.Str("0")} {
			res, err := CheckLinearizable(events, Options{Initial: initial})
			if err != nil {
				if !strings.HasPrefix(err.Error(), "model: history index ") {
					t.Fatalf("error does not name the index: %v", err)
				}
				return
			}
			overall := Valid
			for i, kr := range res.Keys {
				if i > 0 && res.Keys[i-1].Key >= kr.Key {
					t.Fatalf("keys not sorted: %+v", res.Keys)
				}
				overall = overall.And(kr.Valid)
			}
			if overall != res.Valid {
				t.Fatalf("verdict %v but keys %+v", res.Valid, res.Keys)
			}
			if res.Valid == Invalid && (res.Explanation == "" || !anomalies[res.Anomaly]) {
				t.Fatalf("invalid without an explanation or with anomaly %q", res.Anomaly)
			}
			if res.Valid != Invalid && (res.Explanation != "" || res.Anomaly != "") {
				t.Fatalf("%v with a failure report: %s", res.Valid, res.Explanation)
			}
			if _, err := json.Marshal(res); err != nil {
				t.Fatal(err)
			}
			if full := unprunedVerdictT(t, events, initial); full != res.Valid {
				t.Fatalf("verdict %v, but %v when nothing is pruned", res.Valid, full)
			}
		}
		CheckLiveness(events, 0)
		ComputeStats(events)
	})
}
