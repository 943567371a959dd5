package scenario

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// smallBudget runs a test with a lower memory budget, so that scripts
// that exhaust it do not take the machine's memory with them.
func smallBudget(t *testing.T, n int64) {
	old := memoryBudget
	memoryBudget = n
	t.Cleanup(func() { memoryBudget = old })
}

// TestMemoryBudgetStopsRunawayScripts: scripts that allocate without
// bound are stopped with an error naming the line (not Go's fatal "out of
// memory"), at the same place on every run, and pcall cannot swallow it.
func TestMemoryBudgetStopsRunawayScripts(t *testing.T) {
	smallBudget(t, 32<<20)
	for _, c := range []struct{ name, src, line string }{
		{"table of big strings", `local t = {} while true do t[#t+1] = string.rep("x", 1e6) end`, "t.lua:1:"},
		{"doubling concatenation", "s = \"x\"\nwhile true do s = s .. s end", "t.lua:2:"},
		{"method call", "local t = {}\nfor i = 1, 1e9 do t[i] = (\"y\"):rep(1e5) .. i end", "t.lua:2:"},
		{"format widths", `local t = {} while true do t[#t+1] = string.format("%999999d", 1) end`, "t.lua:1:"},
		{"gsub blow-up", `local s = string.rep("x", 1e4) local t = {} while true do t[#t+1] = s:gsub(".", s) end`, "t.lua:1:"},
		{"table.concat", `local t = {} for i = 1, 1e4 do t[i] = "z" end local u = {} while true do u[#u+1] = table.concat(t, string.rep("-", 1e3)) end`, "t.lua:1:"},
		{"loaded code", `loadstring("s = 'x' while true do s = s .. s end")()`, "<string>:1:"},
		{"swallowed by pcall", "while true do pcall(function() local s = string.rep('x', 1e9) end) end\nkill('one')", "t.lua:1:"},
		{"small values", `local t = {} local i = 0 while true do i = i + 1 t[i] = {i} end`, "t.lua:1:"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := runScript(t, "t.lua", c.src, runOpts{})
			var me *memoryError
			if !errors.As(r.err, &me) || !strings.HasPrefix(r.err.Error(), c.line+" the script would hold ") {
				t.Fatalf("err %v, want a memory error at %s", r.err, c.line)
			}
			if r.has("kill") {
				t.Fatalf("the script ran on after it ran out of memory: %q", r.nemesis())
			}
			again := runScript(t, "t.lua", c.src, runOpts{})
			if again.err == nil || again.err.Error() != r.err.Error() {
				t.Fatalf("not deterministic: %v, then %v", r.err, again.err)
			}
		})
	}
}

// TestMemoryBudgetLeavesOrdinaryScriptsAlone: garbage does not count,
// only what the script holds, and strings shared many times count once.
func TestMemoryBudgetLeavesOrdinaryScriptsAlone(t *testing.T) {
	smallBudget(t, 32<<20)
	src := `
local big = string.rep("x", 1e6)
local t = {}
for i = 1, 1000 do t[i] = big end           -- one string, held 1000 times
for i = 1, 200 do local s = string.rep("y", 1e6) .. i end  -- 200 MB of garbage
local parts = {}
for i = 1, 100 do parts[#parts+1] = tostring(i) .. "," end
log(#table.concat(parts), #big)
`
	r := runScript(t, "t.lua", src, runOpts{}).mustOK(t)
	if got := fmt.Sprint(r.logged()); got != "[292 1000000]" {
		t.Fatalf("logged %s", got)
	}
}

// TestMeteredFunctionsBehaveAsTheOriginals: '..' and string.gsub are
// reimplemented (metered); they give what gopher-lua's own give, errors
// included.
func TestMeteredFunctionsBehaveAsTheOriginals(t *testing.T) {
	exprs := []string{
		`1 .. 2`, `1.5 .. "|" .. -0 .. "|" .. 1e100`, `"a" .. "b" .. "c" .. 7`,
		`setmetatable({}, {__concat = function(a, b) return "meta" end}) .. "x"`,
		`"x" .. setmetatable({}, {__concat = function(a, b) return type(a) .. type(b) end})`,
		`string.gsub("hello world", "o", "0")`, `string.gsub("hello", "", "-")`,
		`string.gsub("abc", "%w", "%0%0")`, `string.gsub("abc", "(a)(b)", "%2%1")`,
		`string.gsub("abc", "a", "%1")`, `string.gsub("x=1, y=2", "(%w+)=(%w+)", "%2=%1")`,
		`string.gsub("abc", "b", "%%")`, `string.gsub("abc", "b", "%x")`, `string.gsub("abc", "b", "z%")`,
		`string.gsub("abc", "()b", "%1")`, `string.gsub("a b c", "%w", "X", 2)`, `string.gsub("abc", "z", "X")`,
		`string.gsub("$name is $age", "%$(%w+)", {name = "Ann", age = 7})`,
		`string.gsub("$name $none", "%$(%w+)", {name = false})`,
		`string.gsub("abc", "%w", function(c) if c == "b" then return nil end return c:upper() .. 1 end)`,
		`string.gsub("abc", "()(%w)", function(p, c) return p end)`,
		`("hello"):gsub("l+", function(s) return #s end)`,
		`string.rep("ab", 3)`, `string.rep("ab", -1)`, `string.format("%5d|%-3s|%.2f", 42, "x", 1.5)`,
		`table.concat({1, 2, "c"}, ", ")`, `table.concat({1, 2, 3}, "-", 2, 3)`, `table.concat({}, "x")`,
		`string.upper("aB")`, `string.reverse("abc")`,
	}
	errExprs := []string{`{} .. "x"`, `"x" .. nil`, `string.gsub("abc", "(a)", "%3")`, `string.gsub("abc", "[a", "x")`,
		`string.gsub("abc", "a", true)`, `table.concat({1, {}, 3})`}
	eval := func(meter bool, expr string) (string, error) {
		L := lua.NewState()
		defer L.Close()
		src := "return " + expr
		if meter {
			in := &interp{L: L, name: "t.lua"}
			in.mem = newMemory(in, memoryBudget)
			in.budget = &budget{in: in}
			in.meterLibraries()
			fn, err := in.compileChunk("t.lua", src)
			if err != nil {
				return "", err
			}
			L.Push(fn)
		} else {
			fn, err := L.Load(strings.NewReader(src), "t.lua")
			if err != nil {
				return "", err
			}
			L.Push(fn)
		}
		if err := L.PCall(0, lua.MultRet, nil); err != nil {
			return "", err
		}
		var out []string
		for i := 1; i <= L.GetTop(); i++ {
			out = append(out, L.Get(i).Type().String()+":"+L.Get(i).String())
		}
		return strings.Join(out, " "), nil
	}
	for _, e := range exprs {
		want, werr := eval(false, e)
		got, gerr := eval(true, e)
		if werr != nil || gerr != nil || got != want {
			t.Errorf("%s: metered %q (%v), gopher-lua %q (%v)", e, got, gerr, want, werr)
		}
	}
	for _, e := range errExprs {
		_, werr := eval(false, e)
		_, gerr := eval(true, e)
		if werr == nil || gerr == nil || firstLine(gerr.Error()) != firstLine(werr.Error()) {
			t.Errorf("%s: metered error %v, gopher-lua %v", e, gerr, werr)
		}
	}
}

func firstLine(s string) string { l, _, _ := strings.Cut(s, "\n"); return l }
