package model

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/splitbrain/splitbrain/harness/history"
)

// The anomaly taxonomy: Linearizability.Anomaly is one of these. See the
// package documentation for what each means.
const (
	AnomalyStaleRead   = "stale-read"
	AnomalyLostWrite   = "lost-write"
	AnomalyPhantomRead = "phantom-read"
	AnomalyAbortedRead = "aborted-read"
	AnomalyFutureRead  = "future-read"
	AnomalyCAS         = "cas-anomaly"
	AnomalyOther       = "non-linearizable"
)

// explanation is what explainKey says about a failing key: the text, the
// anomaly kind, and the operation blamed (nil when none is).
type explanation struct {
	text, anomaly string
	blamed        *op
}

// explainer builds the explanation of one failing key.
type explainer struct {
	h         *kvHistory
	key       string
	all       []*op
	producers map[valueID][]*op // operations that wrote each value, any outcome
	windows   []history.Window
}

// explainKey explains why key is not linearizable. prefix is the longest
// partial linearization porcupine found (operation ids index
// h.checked[key]); it may be nil if the verbose check found none.
//
// The operation blamed is, first, one no order could ever linearize: an ok
// read (or ok cas) of a value never written, written only by failed
// operations, or first written after it returned. Failing that, it is the
// operation that blocks porcupine's longest prefix: of the operations not
// in it, the first to return that cannot take the next step.
func explainKey(h *kvHistory, key string, prefix []int, windows []history.Window) explanation {
	x := &explainer{h: h, key: key, all: h.all[key], producers: map[valueID][]*op{}, windows: windows}
	for _, o := range x.all {
		if v, ok := o.produces(); ok {
			x.producers[v] = append(x.producers[v], o)
		}
	}
	checked := h.checked[key]
	progress := ""
	state := h.initial
	var setter *op // the operation in the prefix that last changed the state
	inPrefix := make([]bool, len(checked))
	if prefix != nil {
		for _, id := range prefix {
			o := checked[id]
			_, next := step(state, o.in, o.out)
			if o.in.kind == opWrite || o.in.kind == opDelete || o.in.kind == opCAS && state == o.in.expect {
				setter = o
			}
			state = next
			inPrefix[id] = true
		}
		progress = fmt.Sprintf(" The longest linearizable prefix the checker found covers %d of the %d operations on this key.", len(prefix), len(checked))
	}
	if ex, ok := x.static(); ok {
		ex.text += progress
		return ex // blamed set by static
	}
	var blocker *op
	if prefix != nil {
		var rest []*op
		for id, o := range checked {
			if !inPrefix[id] && !o.unknown() {
				rest = append(rest, o)
			}
		}
		sort.Slice(rest, func(i, j int) bool { return rest[i].ret < rest[j].ret })
		for _, o := range rest {
			if ok, _ := step(state, o.in, o.out); !ok {
				blocker = o
				break
			}
		}
	}
	if blocker == nil {
		// No usable prefix (the explaining check ran out of time): look for
		// an operation the history itself proves stale.
		observers := append([]*op(nil), x.all...)
		sort.Slice(observers, func(i, j int) bool { return observers[i].ret < observers[j].ret })
		for _, o := range observers {
			if _, ok := o.observes(); !ok {
				continue
			}
			if ex := x.superseded(o); ex.text != "" {
				ex.text += x.faultsDuring(o) + progress
				ex.blamed = o
				return ex
			}
		}
		return explanation{anomaly: AnomalyOther, text: fmt.Sprintf(
			"Key %q is not linearizable: no order of its %d operations is consistent with their results, and the explaining check found no single operation to blame.%s",
			key, len(checked), progress)}
	}
	ex := x.superseded(blocker)
	if ex.text == "" {
		ex = x.generic(blocker, state, setter, len(prefix), len(checked))
		progress = ""
	}
	ex.text += x.faultsDuring(blocker) + progress
	ex.blamed = blocker
	return ex
}

// static finds the first (by return) ok operation that observed a value no
// order of operations could give it.
func (x *explainer) static() (explanation, bool) {
	var first *op
	var why string
	for _, o := range x.all {
		v, ok := o.observes()
		if !ok || v == x.h.initial {
			continue
		}
		// Only a write invoked before o returned can have given o its
		// value; later writes of the same value (registers reuse values)
		// say nothing about it.
		reason := ""
		switch {
		case len(x.producersBut(v, o)) == 0:
			reason = AnomalyPhantomRead
		case len(x.sources(v, o)) > 0:
			// A write that did not fail could have given o its value.
		case len(x.invokedBefore(v, o)) > 0:
			reason = AnomalyAbortedRead // every write of v invoked in time failed
		default:
			reason = AnomalyFutureRead
		}
		if reason != "" && (first == nil || o.ret < first.ret) {
			first, why = o, reason
		}
	}
	if first == nil {
		return explanation{}, false
	}
	v, _ := first.observes()
	val := x.h.values.describe(v)
	var b strings.Builder
	fmt.Fprintf(&b, "Key %q: %s, but ", x.key, x.claim(first))
	switch why {
	case AnomalyPhantomRead:
		if v == absent {
			fmt.Fprintf(&b, "the register starts at %s and no operation ever deleted it.", x.h.values.describe(x.h.initial))
		} else {
			fmt.Fprintf(&b, "no operation ever wrote %s to this key and it is not the initial value (%s).", val, x.h.values.describe(x.h.initial))
		}
	case AnomalyAbortedRead:
		fails := x.invokedBefore(v, first)
		before := ""
		if len(fails) < len(x.producersBut(v, first)) {
			before = " before the " + kindWord(first) + " returned"
		}
		wrote := "wrote " + val
		if v == absent {
			wrote = "deleted the key" // only a delete makes it absent
		}
		if len(fails) == 1 {
			fmt.Fprintf(&b, "the only operation that %s%s, %s, failed: a failed operation must not take effect.", wrote, before, x.writer(fails[0]))
		} else {
			fmt.Fprintf(&b, "every one of the %d operations that %s%s failed (the last: %s): a failed operation must not take effect.", len(fails), wrote, before, x.writer(fails[len(fails)-1]))
		}
	case AnomalyFutureRead:
		p := x.producersBut(v, first)[0]
		what := "write of " + val
		if v == absent {
			what = "delete of the key"
		}
		fmt.Fprintf(&b, "the first %s, %s, began after the %s had returned.", what, x.writer(p), kindWord(first))
	}
	if first.in.kind == opCAS {
		b.WriteString(" The cas should have failed.")
	}
	b.WriteString(x.shouldHaveSeen(first))
	b.WriteString(x.faultsDuring(first))
	anomaly := why
	if first.in.kind == opCAS {
		anomaly = AnomalyCAS
	}
	return explanation{text: b.String(), anomaly: anomaly, blamed: first}, true
}

// superseded explains an operation that observed v although a completed
// operation shows v had already been replaced before it began. It returns
// an empty explanation when no such evidence exists.
//
// Only operations that could have caused what they are cited for are
// cited: b's value came from a write of it invoked before b returned (its
// sources), and the newer value nv must have been written after every one
// of those had completed: by an ok write that completed before b began
// (wWrite), or, when an ok operation observed nv before b began (wRead),
// by whichever of nv's own sources gave it that value, every one of which
// began after.
func (x *explainer) superseded(b *op) explanation {
	v, _ := b.observes()
	vDone := x.completedBy(v, b) // every source of b's value had completed by then
	var wWrite, wRead, wReadSource *op
	for _, o := range x.all {
		if o == b || o.status != history.OK || o.ret >= b.call {
			continue
		}
		if nv, ok := o.produces(); ok && nv != v && o.call > vDone {
			if wWrite == nil || o.ret > wWrite.ret {
				wWrite = o
			}
		}
		if ov, ok := o.observes(); ok && ov != v && (wRead == nil || o.ret > wRead.ret) {
			if p := x.onlySourcesAfter(ov, o, vDone); p != nil {
				wRead, wReadSource = o, p
			}
		}
	}
	val := x.h.values.describe(v)
	var sb strings.Builder
	var nv valueID
	switch {
	case wWrite != nil:
		nv, _ = wWrite.produces()
		nval := x.h.values.describe(nv)
		if b.in.kind == opRead && x.observerOfWrite(nv, b, wWrite) == nil {
			never := "no operation ever observed " + nval
			if x.firstObserverOf(nv, b) != nil {
				never = "no operation that could have seen this write observed " + nval
			}
			fmt.Fprintf(&sb, "Key %q: %s was acknowledged at %s (invoked at %s) and then lost: %s, and %s saw the older value %s, %s, although it should have seen %s or a later value.",
				x.key, x.writerShort(wWrite), secs(wWrite.comp.Time), secs(wWrite.inv.Time), never,
				x.subject(b), val, x.origin(v, b), nval)
			sb.WriteString(x.faultsDuringOp("The "+kindWord(wWrite), wWrite))
			return explanation{text: sb.String(), anomaly: AnomalyLostWrite}
		}
		fmt.Fprintf(&sb, "Key %q: %s, but %s had already completed at %s (invoked at %s), %s",
			x.key, x.claim(b), x.writerShort(wWrite), secs(wWrite.comp.Time), secs(wWrite.inv.Time), x.after(v, b))
	case wRead != nil:
		nv, _ = wRead.observes()
		p := wReadSource
		order := "began " + x.after(v, b)
		if vDone < 0 {
			order = "replaced the initial value " + val
		}
		fmt.Fprintf(&sb, "Key %q: %s, but %s had already %s %s at %s, and %s %s",
			x.key, x.claim(b), x.who(wRead), observedVerb(wRead), x.h.values.describe(nv), secs(wRead.comp.Time),
			x.writer(p), order)
	default:
		return explanation{}
	}
	if b.in.kind == opCAS {
		fmt.Fprintf(&sb, ", so %s was no longer the value and the cas should have failed.", val)
		return explanation{text: sb.String(), anomaly: AnomalyCAS}
	}
	fmt.Fprintf(&sb, "; the read should have seen %s or a later value.", x.h.values.describe(nv))
	if wWrite != nil {
		if seen := x.observerOfWrite(nv, b, wWrite); seen != nil {
			fmt.Fprintf(&sb, " The %s was not lost: %s %s %s at %s, so this read was stale.",
				kindWord(wWrite), x.who(seen), observedVerb(seen), x.h.values.describe(nv), secs(seen.comp.Time))
		}
	}
	return explanation{text: sb.String(), anomaly: AnomalyStaleRead}
}

// generic explains a blocked operation from the checker's longest prefix
// when the history holds no single operation that proves it wrong.
func (x *explainer) generic(b *op, state valueID, setter *op, placed, total int) explanation {
	from := "its initial value"
	if setter != nil {
		from = setBy(setter) + " " + x.writer(setter)
	}
	v, _ := b.observes()
	what := "give the read " + x.h.values.describe(v)
	anomaly := AnomalyOther
	if b.in.kind == opCAS {
		what = "make the cas's expected value " + x.h.values.describe(v) + " current"
		anomaly = AnomalyCAS
	}
	return explanation{anomaly: anomaly, text: fmt.Sprintf(
		"Key %q: %s, but no order of the operations allows it. The longest order the checker found (%d of the %d operations) leaves the register at %s, %s, and from there no remaining operation can %s.",
		x.key, x.claim(b), placed, total, x.h.values.describe(state), from, what)}
}

// producersBut returns the operations other than o that wrote v, any
// outcome, in invocation order.
func (x *explainer) producersBut(v valueID, o *op) []*op {
	var out []*op
	for _, p := range x.producers[v] {
		if p != o {
			out = append(out, p)
		}
	}
	return out
}

// invokedBefore are the operations other than o that wrote v, any
// outcome, and were invoked before o returned, in invocation order.
func (x *explainer) invokedBefore(v valueID, o *op) []*op {
	var out []*op
	for _, p := range x.producers[v] {
		if p != o && p.call < o.ret {
			out = append(out, p)
		}
	}
	return out
}

// sources are the operations that could have given o the value v it
// observed: the writes (and cas) of v other than o that did not fail and
// were invoked before o returned, in invocation order. A history that
// writes the same value many times has writes of v after o, which cannot
// have.
func (x *explainer) sources(v valueID, o *op) []*op {
	var out []*op
	for _, p := range x.invokedBefore(v, o) {
		if p.status != history.Fail {
			out = append(out, p)
		}
	}
	return out
}

// lastSource is the source of o's value v that returned last (an
// operation of unknown outcome returns at the end of the history), or nil
// if there is none (v can only be the initial value).
func (x *explainer) lastSource(v valueID, o *op) *op {
	var last *op
	for _, p := range x.sources(v, o) {
		if last == nil || p.ret > last.ret {
			last = p
		}
	}
	return last
}

// completedBy is the index by which every source of o's value v had
// returned (the end of the history if one never did); -1 if there is none
// and v is only the initial value.
func (x *explainer) completedBy(v valueID, o *op) int64 {
	if last := x.lastSource(v, o); last != nil {
		return last.ret
	}
	return -1
}

// onlySourcesAfter returns the first source of the value ov that o
// observed if every one of them was invoked after index t, so that
// whichever gave o its value began after t; else nil. The initial value
// precedes everything, so an observation of it is never evidence.
func (x *explainer) onlySourcesAfter(ov valueID, o *op, t int64) *op {
	if ov == x.h.initial {
		return nil
	}
	srcs := x.sources(ov, o)
	if len(srcs) == 0 {
		return nil
	}
	for _, p := range srcs {
		if p.call <= t {
			return nil
		}
	}
	return srcs[0]
}

// firstObserverOf is the first ok operation (by return) other than o to
// observe v.
func (x *explainer) firstObserverOf(v valueID, o *op) *op {
	return x.firstObserver(v, o, func(*op) bool { return true })
}

// observerOfWrite is the first ok operation (by return) other than o that
// observed the value v and could have seen it from the write w: it
// returned after w was invoked, and no other write of v that did not fail
// began after w had completed and completed before it began (it would
// have seen that write's value, or a later one).
func (x *explainer) observerOfWrite(v valueID, o, w *op) *op {
	return x.firstObserver(v, o, func(p *op) bool {
		if p.ret <= w.call {
			return false
		}
		for _, again := range x.producers[v] {
			if again != w && again.status != history.Fail && again.call > w.ret && again.ret < p.call {
				return false
			}
		}
		return true
	})
}

func (x *explainer) firstObserver(v valueID, o *op, could func(*op) bool) *op {
	var first *op
	for _, p := range x.all {
		if ov, ok := p.observes(); ok && ov == v && p != o && (first == nil || p.ret < first.ret) && could(p) {
			first = p
		}
	}
	return first
}

// shouldHaveSeen names the last write completed before o began.
func (x *explainer) shouldHaveSeen(o *op) string {
	var last *op
	for _, p := range x.all {
		if _, ok := p.produces(); ok && p.status == history.OK && p.ret < o.call && (last == nil || p.ret > last.ret) {
			last = p
		}
	}
	if last == nil {
		return fmt.Sprintf(" No write had completed before the %s began, so it should have seen the initial value, %s, or the value of a write concurrent with it.",
			kindWord(o), x.h.values.describe(x.h.initial))
	}
	v, _ := last.produces()
	what := "write"
	if last.in.kind == opDelete {
		what = "write or delete" // the last change of the key was a delete
	}
	return fmt.Sprintf(" It should have seen %s, from %s, the last %s completed before it began, or the value of a write concurrent with it.",
		x.h.values.describe(v), x.writer(last), what)
}

// origin says where the value v that o observed came from: "the initial
// value", or the source of it that completed last.
func (x *explainer) origin(v valueID, o *op) string {
	last := x.lastSource(v, o)
	if last == nil {
		return "the initial value"
	}
	return setBy(last) + " " + x.writer(last)
}

// setBy is how an operation gave the key its value: "written by", or
// "left by" for a delete, which writes nothing.
func setBy(o *op) string {
	if o.in.kind == opDelete {
		return "left by"
	}
	return "written by"
}

// after says that a write came after every source of the value v that o
// observed: "after the write of "1" by ... had completed", or "replacing
// the initial value "0"".
func (x *explainer) after(v valueID, o *op) string {
	last := x.lastSource(v, o)
	if last == nil {
		return "replacing the initial value " + x.h.values.describe(v)
	}
	return "after " + x.writer(last) + " had completed"
}

func kindWord(o *op) string {
	switch o.in.kind {
	case opRead:
		return "read"
	case opWrite:
		return "write"
	case opDelete:
		return "delete"
	}
	return "cas"
}

// observedVerb is how an observing operation saw its value.
func observedVerb(o *op) string {
	if o.in.kind == opCAS {
		return "found (by a successful cas)"
	}
	return "returned"
}

// who is "a read by process 3 on node n2".
func (x *explainer) who(o *op) string {
	what := kindWord(o)
	if o.in.kind == opCAS {
		what = "cas from " + x.h.values.describe(o.in.expect) + " to " + x.h.values.describe(o.in.value)
	}
	return "a " + what + " by process " + o.inv.Process.String() + onNode(o)
}

// subject is who with the operation's timing: "a read by process 3 on node
// n2 (invoked at 1.000s, returned at 1.200s)".
func (x *explainer) subject(o *op) string {
	return fmt.Sprintf("%s (invoked at %s, returned at %s)", x.who(o), secs(o.inv.Time), secs(o.comp.Time))
}

// claim is what an observing operation says: the subject, and "saw "4"" or
// "succeeded".
func (x *explainer) claim(o *op) string {
	if o.in.kind == opCAS {
		return x.subject(o) + " succeeded"
	}
	return x.subject(o) + " saw " + x.h.values.describe(o.out.value)
}

// writerShort is "the write of "5" by process 1 on node n1".
func (x *explainer) writerShort(o *op) string {
	if o.in.kind == opDelete {
		return fmt.Sprintf("the delete by process %s%s", o.inv.Process, onNode(o))
	}
	if o.in.kind == opCAS {
		return fmt.Sprintf("the cas from %s to %s by process %s%s", x.h.values.describe(o.in.expect),
			x.h.values.describe(o.in.value), o.inv.Process, onNode(o))
	}
	return fmt.Sprintf("the write of %s by process %s%s", x.h.values.describe(o.in.value), o.inv.Process, onNode(o))
}

// writer adds the timing and outcome: "the write of "5" by process 1 on
// node n1 (invoked at 1.000s, completed at 1.100s)".
func (x *explainer) writer(o *op) string {
	s := x.writerShort(o) + " (invoked at " + secs(o.inv.Time)
	switch {
	case o.status == history.OK:
		s += ", completed at " + secs(o.comp.Time)
	case o.comp != nil && o.comp.Type == history.Fail:
		s += ", failed at " + secs(o.comp.Time)
	case o.comp != nil:
		s += ", outcome unknown at " + secs(o.comp.Time)
	default:
		s += ", never completed"
	}
	if o.comp != nil && o.comp.Error != "" {
		s += ": " + strconv.Quote(o.comp.Error)
	}
	return s + ")"
}

func onNode(o *op) string {
	if n := o.node(); n != "" {
		return " on node " + n
	}
	return ""
}

// faultsDuring names the fault windows open while o ran.
func (x *explainer) faultsDuring(o *op) string {
	return x.faultsDuringOp("The "+kindWord(o), o)
}

func (x *explainer) faultsDuringOp(subject string, o *op) string {
	end := o.ret
	if o.unknown() {
		end = x.h.end
	}
	var during []string
	for _, w := range x.windows {
		if notFaults[w.F] || w.StartIndex > end || w.EndIndex >= 0 && w.EndIndex < o.call {
			continue
		}
		span := "at " + secs(w.Start)
		switch {
		case w.EndIndex < 0:
			span = "from " + secs(w.Start) + ", still in effect when the history ended"
		case w.EndIndex != w.StartIndex:
			span = "from " + secs(w.Start) + " to " + secs(w.End)
		}
		during = append(during, w.Label+" ("+span+")")
	}
	if len(during) == 0 {
		return " " + subject + " ran while no fault was in effect."
	}
	return " " + subject + " ran during " + strings.Join(during, "; ") + "."
}
