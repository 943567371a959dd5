package model

import (
	"github.com/anishathalye/porcupine"
	"pgregory.net/rapid"

	"github.com/splitbrain/splitbrain/harness/history"
)

// unprunedVerdict checks a history with every operation of unknown outcome
// kept, as the plain reading of the rules says.
func unprunedVerdict(t *rapid.T, events []history.Event, initial *string) Validity {
	return unprunedVerdictT(t, events, initial)
}

func unprunedVerdictT(t interface{ Fatal(...any) }, events []history.Event, initial *string) Validity {
	h, err := newKVHistory(events, initial)
	if err != nil {
		t.Fatal(err)
	}
	var ops []porcupine.Operation
	for _, k := range h.keys {
		for _, o := range h.all[k] {
			if o.status == history.Fail || o.unknown() && o.in.kind == opRead {
				continue
			}
			ops = append(ops, porcupine.Operation{ClientId: int(o.inv.Process), Input: &o.in, Call: o.call, Output: &o.out, Return: o.ret})
		}
	}
	if porcupine.CheckOperations(kvModel(h.values, h.initial), ops) {
		return Valid
	}
	return Invalid
}
