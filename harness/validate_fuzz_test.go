package harness

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/splitbrain/splitbrain/nemesis"
)

// FuzzTestValidate: no test.json makes Defaults and Validate panic, every
// refusal is ErrUsage, and a Test that validates can draw its schedule.
func FuzzTestValidate(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"nodes":0,"time":"0s"}`, `{"liveness_bound":"-1s"}`, `{"time":"100000h"}`,
		`{"time":"2ns","liveness_bound":"1ns"}`, `{"workload":{"rate":1e308}}`, `{"workload":{"clients":-5,"keys":1e9}}`,
		`{"check_timeout":"-1ns"}`, `{"nemesis":["all"]}`, `{"nemesis":["partition:halves","meteor"]}`,
		`{"mode":"process","nodes":100}`, `{"name":"../x"}`, `{"bugs":["nope"]}`, `{"time":1}`,
		`{"workload":{"mix":{"read":-1}}}`, `{"workload":{"timeout_ns":-1}}`, `{"skip_invariants":["x"]}`,
		`{"system":"tutorial"}`, `{"system":"raftkv","replay":"go test"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var tt Test
		if json.Unmarshal(b, &tt) != nil {
			return
		}
		tt.Defaults()
		if err := tt.Validate(); err != nil {
			if !errors.Is(err, ErrUsage) {
				t.Fatalf("%s: %v is not ErrUsage", b, err)
			}
			return
		}
		heal := tt.FinalHeal()
		if heal <= 0 || heal > time.Duration(tt.Duration) {
			t.Fatalf("%s: final heal %v outside the %v test", b, heal, time.Duration(tt.Duration))
		}
		if tt.PlannedOps() > MaxOps {
			t.Fatalf("%s: validated with %v planned operations", b, tt.PlannedOps())
		}
		if time.Duration(tt.Duration) <= time.Hour {
			nemesis.Generate(tt.Seed, nemesis.GenOptions{Duration: time.Duration(tt.Duration), FinalHeal: heal, Kinds: tt.Nemesis, Nodes: tt.Nodes})
		}
	})
}
