package scenario

import (
	"fmt"
	"strings"
	"unsafe"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"
	"github.com/yuin/gopher-lua/pm"
)

// MemoryBudget is how much a script may hold: the strings, tables and
// functions it can reach, as the memory meter counts them (a string is
// its length plus 16 bytes; a table 64 bytes plus 40 a slot plus its
// contents; a function 64 bytes plus its upvalues). A script that needs
// more is stopped with an error naming the line, before Go's allocator
// gives out: gopher-lua has no allocator hook, so the meter is the
// script's own.
const MemoryBudget = 256 << 20

// memoryBudget is the budget scripts run with (tests lower it).
var memoryBudget int64 = MemoryBudget

// walkEvery is how many instructions may run between two walks of what
// the script holds. Growth without a metered allocation (t[#t+1] = i)
// adds at most a few bytes an instruction, so this bounds the overshoot
// to tens of megabytes.
const walkEvery = 1 << 22

// memory is a script's memory meter. It is deterministic: it counts what
// the script does (bytes its string operations produce, instructions it
// runs), never what Go's heap says, so the same script and seed are
// stopped at the same place on every run and every machine.
//
// Allocations that can be large in one step go through metered functions
// (see meterLibraries): '..' (rewritten into a call, see guardConcat),
// string.rep, string.format, string.gsub, table.concat, string.upper,
// lower and reverse, tostring, loadstring and load. Each charges the size
// of its result before building it. When the charges since the last
// measurement could take the script over the budget, or every walkEvery
// instructions, the meter walks what the script can reach (globals, the
// registry, the locals and temporaries of every frame, upvalues) and
// measures it. A script over the budget is stopped for good, as a
// runaway loop is: every further instruction fails, so pcall cannot
// swallow it.
type memory struct {
	in      *interp
	limit   int64
	live    int64 // what the last walk measured
	charged int64 // bytes produced since then
	instr   int   // instructions since then
}

// memoryError is a script over its memory budget.
type memoryError struct {
	where  string
	limit  int64
	wanted int64
}

func (e *memoryError) Error() string { return e.where + " " + e.body() }

func (e *memoryError) body() string {
	return fmt.Sprintf("the script would hold %s, more than its memory budget of %s: a table or a string growing without bound?",
		megabytes(e.wanted), megabytes(e.limit))
}

func megabytes(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/(1<<20)) }

func newMemory(in *interp, limit int64) *memory { return &memory{in: in, limit: limit} }

// charge accounts for n bytes about to be produced by a metered function
// (called from Go functions only: level 1 is the script's line). Over
// the budget it stops the script.
func (m *memory) charge(n int64) {
	if n < 0 {
		n = 0
	}
	if m.live+m.charged+n > m.limit {
		m.measure()
		if m.live+n > m.limit {
			m.fail(m.in.L.Where(1), m.live+n)
		}
	}
	m.charged += n
}

// tick is called every 1024 instructions by the budget.
func (m *memory) tick(n int) error {
	m.instr += n
	if m.instr < walkEvery {
		return nil
	}
	m.measure()
	if m.live > m.limit {
		return &memoryError{where: m.in.L.Where(0), limit: m.limit, wanted: m.live}
	}
	return nil
}

func (m *memory) fail(where string, wanted int64) {
	err := &memoryError{where: where, limit: m.limit, wanted: wanted}
	m.in.budget.tripped = err
	m.in.L.RaiseError("%s", err.body())
}

// measure walks what the script can reach and sets live.
func (m *memory) measure() {
	m.live, m.charged, m.instr = reachable(m.in.L), 0, 0
}

// reachable measures what a Lua state can reach (see MemoryBudget for the
// sizes). It walks with its own stack: nesting depth is the script's to
// choose.
func reachable(L *lua.LState) int64 {
	var total int64
	seen := map[any]bool{}
	var stack []lua.LValue
	add := func(v lua.LValue) {
		switch v := v.(type) {
		case lua.LString:
			if len(v) >= 64 {
				p := unsafe.StringData(string(v))
				if seen[p] {
					return
				}
				seen[p] = true
			}
			total += 16 + int64(len(v))
		case *lua.LTable, *lua.LFunction, *lua.LUserData, *lua.LState:
			if v == nil || seen[v] {
				return
			}
			seen[v] = true
			stack = append(stack, v)
		}
	}
	add(L.G.Global)
	add(L.G.Registry)
	for level := 0; level <= L.Options.CallStackSize; level++ {
		dbg, ok := L.GetStack(level)
		if !ok {
			break
		}
		if fn, err := L.GetInfo("f", dbg, lua.LNil); err == nil {
			add(fn)
		}
		for no := 1; ; no++ {
			name, v := L.GetLocal(dbg, no)
			if name == "" {
				break
			}
			add(v)
		}
	}
	for len(stack) > 0 {
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		switch v := v.(type) {
		case *lua.LTable:
			total += 64
			v.ForEach(func(k, val lua.LValue) {
				total += 40
				add(k)
				add(val)
			})
			add(v.Metatable)
		case *lua.LFunction:
			total += 64 + 16*int64(len(v.Upvalues))
			for _, uv := range v.Upvalues {
				add(uv.Value())
			}
			if v.Env != nil {
				add(v.Env)
			}
		case *lua.LUserData:
			total += 64
			add(v.Metatable)
			if v.Env != nil {
				add(v.Env)
			}
		}
	}
	return total
}

// meterLibraries replaces the library functions that can build large
// strings in one call with metered ones, and installs the hidden concat
// function for rewritten chunks. The string library's table is also the
// strings' method table, so ("x"):rep(n) is metered too.
func (in *interp) meterLibraries() {
	L, m := in.L, in.mem
	str, _ := L.GetGlobal("string").(*lua.LTable)
	tbl, _ := L.GetGlobal("table").(*lua.LTable)
	wrap := func(t *lua.LTable, name string, cost func(L *lua.LState) int64) {
		if t == nil {
			return
		}
		orig, ok := t.RawGetString(name).(*lua.LFunction)
		if !ok {
			return
		}
		t.RawSetString(name, L.NewFunction(func(L *lua.LState) int {
			m.charge(cost(L))
			return orig.GFunction(L)
		}))
	}
	wrap(str, "rep", func(L *lua.LState) int64 {
		s, n := L.CheckString(1), L.CheckInt(2)
		if n <= 0 || len(s) == 0 {
			return 0
		}
		if int64(n) > (m.limit+1)/int64(len(s))+1 {
			return m.limit + 1 // the product would overflow; it is over the budget anyway
		}
		return int64(n) * int64(len(s))
	})
	wrap(str, "format", func(L *lua.LState) int64 { return formatCost(L) })
	wrap(str, "upper", func(L *lua.LState) int64 { return int64(len(L.CheckString(1))) })
	wrap(str, "lower", func(L *lua.LState) int64 { return int64(len(L.CheckString(1))) })
	wrap(str, "reverse", func(L *lua.LState) int64 { return int64(len(L.CheckString(1))) })
	wrap(tbl, "concat", func(L *lua.LState) int64 { return tableConcatCost(L) })
	if str != nil {
		str.RawSetString("gsub", L.NewFunction(in.gsub))
	}
	for _, name := range []string{"loadstring", "load"} {
		if _, ok := L.GetGlobal(name).(*lua.LFunction); ok {
			L.SetGlobal(name, L.NewFunction(in.load(name)))
		}
	}
}

// concat is a .. b for rewritten chunks (see guardConcat): metered, and
// otherwise the operator's behaviour.
func (m *memory) concat(L *lua.LState) int {
	a, b := L.Get(1), L.Get(2)
	if lua.LVCanConvToString(a) && lua.LVCanConvToString(b) {
		sa, sb := lua.LVAsString(a), lua.LVAsString(b)
		m.charge(int64(len(sa)) + int64(len(sb)))
		L.Push(lua.LString(sa + sb))
		return 1
	}
	mt := L.GetMetaField(a, "__concat")
	if mt == lua.LNil {
		mt = L.GetMetaField(b, "__concat")
	}
	if fn, ok := mt.(*lua.LFunction); ok {
		L.Push(fn)
		L.Push(a)
		L.Push(b)
		L.Call(2, 1)
		return 1
	}
	L.RaiseError("cannot perform concat operation between %v and %v", a.Type().String(), b.Type().String())
	return 0
}

// formatCost bounds what string.format can produce: the format, the
// arguments (numbers at most 32 bytes), and every width or precision
// written in the format (Go refuses those over a million).
func formatCost(L *lua.LState) int64 {
	f := L.CheckString(1)
	cost := int64(len(f))
	for i := 2; i <= L.GetTop(); i++ {
		if s, ok := L.Get(i).(lua.LString); ok {
			cost += int64(len(s))
		} else {
			cost += 32
		}
	}
	for i := 0; i < len(f); {
		j := i
		for j < len(f) && f[j] >= '0' && f[j] <= '9' {
			j++
		}
		if j > i {
			n := int64(0)
			for _, c := range f[i:min(j, i+7)] {
				n = n*10 + int64(c-'0')
			}
			cost += min(n, 1_000_000)
			i = j
		} else {
			i++
		}
	}
	return cost
}

// tableConcatCost is the exact length of table.concat's result (or 0
// when the call will fail on its arguments).
func tableConcatCost(L *lua.LState) int64 {
	t, ok := L.Get(1).(*lua.LTable)
	if !ok {
		return 0
	}
	sep := L.OptString(2, "")
	n := t.Len()
	i, j := L.OptInt(3, 1), L.OptInt(4, n)
	i, j = max(i, 1), min(j, n)
	var cost int64
	for k := i; k <= j; k++ {
		cost += int64(len(lua.LVAsString(t.RawGetInt(k))))
	}
	if j > i {
		cost += int64(j-i) * int64(len(sep))
	}
	return cost
}

// gsub is string.gsub with the same semantics as gopher-lua's (whose
// replacement loop copies the whole string once a match, quadratic in
// time and garbage), built in one pass and metered piece by piece.
func (in *interp) gsub(L *lua.LState) int {
	str := L.CheckString(1)
	pat := L.CheckString(2)
	L.CheckTypes(3, lua.LTString, lua.LTTable, lua.LTFunction)
	repl := L.CheckAny(3)
	limit := L.OptInt(4, -1)
	mds, err := pm.Find(pat, []byte(str), 0, limit)
	if err != nil {
		L.RaiseError("%s", err.Error())
	}
	if len(mds) == 0 {
		L.SetTop(1)
		L.Push(lua.LNumber(0))
		return 2
	}
	in.mem.charge(int64(len(str)))
	var b strings.Builder
	prev := 0
	for _, md := range mds {
		start, end := md.Capture(0), md.Capture(1)
		var piece string
		keep := false
		switch r := repl.(type) {
		case lua.LString:
			piece = expandRepl(L, md, str, string(r))
		case *lua.LTable:
			idx := 0
			if md.CaptureLength() > 2 {
				idx = 2
			}
			var v lua.LValue
			if md.IsPosCapture(idx) {
				v = L.GetTable(r, lua.LNumber(md.Capture(idx)))
			} else {
				v = L.GetField(r, str[md.Capture(idx):md.Capture(idx+1)])
			}
			if keep = lua.LVIsFalse(v); !keep {
				piece = lua.LVAsString(v)
			}
		case *lua.LFunction:
			L.Push(r)
			nargs := 0
			if md.CaptureLength() > 2 {
				for i := 2; i < md.CaptureLength(); i += 2 {
					if md.IsPosCapture(i) {
						L.Push(lua.LNumber(md.Capture(i)))
					} else {
						L.Push(lua.LString(gsubCapture(L, md, str, i)))
					}
					nargs++
				}
			} else {
				L.Push(lua.LString(gsubCapture(L, md, str, 0)))
				nargs++
			}
			L.Call(nargs, 1)
			v := L.Get(-1)
			L.Pop(1)
			if keep = lua.LVIsFalse(v); !keep {
				piece = lua.LVAsString(v)
			}
		}
		if keep {
			continue
		}
		in.mem.charge(int64(len(piece)))
		b.WriteString(str[prev:start])
		b.WriteString(piece)
		prev = end
	}
	b.WriteString(str[prev:])
	L.Push(lua.LString(b.String()))
	L.Push(lua.LNumber(len(mds)))
	return 2
}

// expandRepl expands a gsub replacement string for one match as
// gopher-lua does: %0–%9 are captures (%1 is the whole match when there
// are none), %% is %, and any other %x is kept as it is.
func expandRepl(L *lua.LState, md *pm.MatchData, str, repl string) string {
	var b strings.Builder
	for i := 0; i < len(repl); i++ {
		c := repl[i]
		if c != '%' || i == len(repl)-1 {
			b.WriteByte(c)
			continue
		}
		i++
		switch d := repl[i]; {
		case d == '%':
			b.WriteByte('%')
		case d >= '0' && d <= '9':
			b.WriteString(gsubCapture(L, md, str, 2*int(d-'0')))
		default:
			b.WriteByte('%')
			b.WriteByte(d)
		}
	}
	return b.String()
}

// gsubCapture is capture idx of a match as gopher-lua's gsub gives it.
func gsubCapture(L *lua.LState, md *pm.MatchData, str string, idx int) string {
	if idx > 2 && idx >= md.CaptureLength() {
		L.RaiseError("invalid capture index")
	}
	if idx >= md.CaptureLength() && idx == 2 {
		idx = 0
	}
	if md.IsPosCapture(idx) {
		return fmt.Sprint(md.Capture(idx))
	}
	return str[md.Capture(idx):md.Capture(idx+1)]
}

// load returns loadstring or load for the sandbox: the loaded chunk is
// rewritten as the script is (guardConcat), so that it is metered too.
func (in *interp) load(name string) lua.LGFunction {
	return func(L *lua.LState) int {
		var src, chunk string
		if name == "loadstring" {
			src, chunk = L.CheckString(1), L.OptString(2, "<string>")
		} else {
			fn := L.CheckFunction(1)
			chunk = L.OptString(2, "?")
			var parts []string
			for {
				L.Push(fn)
				L.Call(0, 1)
				v := L.Get(-1)
				L.Pop(1)
				if v == lua.LNil {
					break
				}
				s, ok := v.(lua.LString)
				if !ok {
					if _, isNum := v.(lua.LNumber); !isNum {
						L.Push(lua.LNil)
						L.Push(lua.LString("reader function must return a string"))
						return 2
					}
					s = lua.LString(lua.LVAsString(v))
				}
				if len(s) == 0 {
					break
				}
				in.mem.charge(int64(len(s)))
				parts = append(parts, string(s))
			}
			src = strings.Join(parts, "")
		}
		in.mem.charge(int64(len(src)))
		fn, err := in.compileChunk(chunk, src)
		if err != nil {
			L.Push(lua.LNil)
			L.Push(lua.LString(err.Error()))
			return 2
		}
		L.Push(fn)
		return 1
	}
}

// compileChunk compiles loaded source (without the linter: loaded code
// is the script's data) with concatenation metered, and returns its main
// function.
func (in *interp) compileChunk(name, src string) (*lua.LFunction, error) {
	stmts, err := parse.Parse(strings.NewReader(src), name)
	if err != nil {
		return nil, err
	}
	proto, err := lua.Compile(guardConcat(stmts), name)
	if err != nil {
		return nil, err
	}
	return in.mainFunction(proto)
}

// mainFunction runs a guarded chunk's outer function, handing it concat#,
// and returns the chunk's real main function.
func (in *interp) mainFunction(proto *lua.FunctionProto) (*lua.LFunction, error) {
	L := in.L
	if err := L.CallByParam(lua.P{Fn: L.NewFunctionFromProto(proto), NRet: 1, Protect: true}, L.NewFunction(in.mem.concat)); err != nil {
		return nil, err
	}
	fn, ok := L.Get(-1).(*lua.LFunction)
	L.Pop(1)
	if !ok {
		return nil, fmt.Errorf("scenario: a guarded chunk did not yield its main function")
	}
	return fn, nil
}
