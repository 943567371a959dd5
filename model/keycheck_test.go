package model

import (
	"encoding/json"
	"testing"

	"pgregory.net/rapid"

	"github.com/splitbrain/splitbrain/harness/history"
)

// TestKeyCheckerOrderFree: a KeyChecker gives the same result, byte for
// byte, whatever the order its keys are handed over in and however many
// workers check them — on linearizable and corrupted histories alike.
func TestKeyCheckerOrderFree(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cfg := drawConfig(t)
		cfg.keys = rapid.IntRange(1, 6).Draw(t, "keys")
		cfg.activeKeys = cfg.keys
		events := simulate(rapidChooser{t}, cfg)
		for i := range events {
			if e := &events[i]; e.Type == history.OK && e.F == history.FRead && rapid.IntRange(0, 9).Draw(t, "corrupt") == 0 {
				e.Value = history.Str(rapid.SampledFrom([]string{"0", "1", "2", "x"}).Draw(t, "value"))
			}
		}
		want, err := CheckLinearizable(events, Options{Initial: cfg.initial})
		if err != nil {
			t.Fatal(err)
		}
		byKey, keys, nemesis := splitByKey(events)
		keys = rapid.Permutation(keys).Draw(t, "order")
		c, err := NewKeyChecker(Options{Initial: cfg.initial}, rapid.IntRange(1, 3).Draw(t, "workers"))
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			c.Add(k, byKey[k])
		}
		end := int64(0)
		if len(events) > 0 {
			end = events[len(events)-1].Index + 1
		}
		got, err := c.Finish(nemesis, end)
		if err != nil {
			t.Fatal(err)
		}
		a, _ := json.Marshal(want)
		b, _ := json.Marshal(got)
		if string(a) != string(b) {
			t.Fatalf("fed key by key:\n%s\nfrom memory:\n%s", b, a)
		}
	})
}

// TestKeyCheckerKeepsFirstFailingKeys: past MaxKeptFailingKeys failing
// keys, the checker counts them all and explains the first by name.
func TestKeyCheckerKeepsFirstFailingKeys(t *testing.T) {
	b := newBuilder()
	n := MaxKeptFailingKeys + 5
	for i := n - 1; i >= 0; i-- {
		k := "k" + string(rune('A'+i/26)) + string(rune('a'+i%26))
		b.write(0, k, "1").read(1, k, v("2"))
	}
	res := check(t, b.events, Options{})
	if res.Valid != Invalid || res.FailingKeys != n || res.FirstFailingKey != "kAa" {
		t.Fatalf("valid %v, %d failing keys, first %q; want invalid, %d, kAa", res.Valid, res.FailingKeys, res.FirstFailingKey, n)
	}
}
