package scenario

import (
	"math"

	lua "github.com/yuin/gopher-lua"
)

// installRandom adds the random table and points math.random at it. Every
// draw comes from the script's own PRNG, seeded from the run seed: the
// same seed makes the same choices in the sim and in process mode, and no
// draw depends on how the world's own PRNG was used before it.
func (in *interp) installRandom() {
	L := in.L
	t := L.NewTable()
	L.SetFuncs(t, map[string]lua.LGFunction{
		"int":     func(*lua.LState) int { return in.randInt("random.int", 1, 2) },
		"float":   in.randFloat,
		"chance":  in.randChance,
		"choice":  in.randChoice,
		"shuffle": in.randShuffle,
	})
	L.SetGlobal("random", t)
	if m, ok := L.GetGlobal("math").(*lua.LTable); ok {
		m.RawSetString("random", L.NewFunction(in.mathRandom))
		m.RawSetString("randomseed", L.NewFunction(func(L *lua.LState) int {
			L.RaiseError("math.randomseed: scenarios draw from the run's seed (change it with --seed)")
			return 0
		}))
	}
}

// intArg reads argument n as a whole number.
func (in *interp) intArg(fn string, n int) int64 {
	v := in.L.Get(n)
	num, ok := v.(lua.LNumber)
	if !ok || float64(num) != math.Trunc(float64(num)) || math.Abs(float64(num)) > 1<<53 {
		in.argError(fn, "argument %d: want a whole number, got %s", n, typeOf(v))
	}
	return int64(num)
}

// randInt pushes a whole number in [lo, hi] from arguments a and b.
func (in *interp) randInt(fn string, a, b int) int {
	if in.L.GetTop() != b {
		in.argError(fn, "takes %d arguments (lo, hi), got %d", b-a+1, in.L.GetTop())
	}
	lo, hi := in.intArg(fn, a), in.intArg(fn, b)
	if lo > hi {
		in.argError(fn, "empty range [%d, %d]", lo, hi)
	}
	in.L.Push(lua.LNumber(lo + in.rng.Int64N(hi-lo+1)))
	return 1
}

// random.float(): a number in [0, 1).
func (in *interp) randFloat(L *lua.LState) int {
	if L.GetTop() != 0 {
		in.argError("random.float", "takes no arguments, got %d", L.GetTop())
	}
	L.Push(lua.LNumber(in.rng.Float64()))
	return 1
}

// random.chance(p): true with probability p.
func (in *interp) randChance(L *lua.LState) int {
	p, ok := L.Get(1).(lua.LNumber)
	if L.GetTop() != 1 || !ok || !(p >= 0 && p <= 1) {
		in.argError("random.chance", "want one probability between 0 and 1, got %s", typeOf(L.Get(1)))
	}
	L.Push(lua.LBool(in.rng.Float64() < float64(p)))
	return 1
}

func (in *interp) listArg(fn string) *lua.LTable {
	t, ok := in.L.Get(1).(*lua.LTable)
	if in.L.GetTop() != 1 || !ok {
		in.argError(fn, "want one list, got %s", typeOf(in.L.Get(1)))
	}
	return t
}

// random.choice(list): one element, uniformly.
func (in *interp) randChoice(L *lua.LState) int {
	t := in.listArg("random.choice")
	n := t.Len()
	if n == 0 {
		in.argError("random.choice", "the list is empty")
	}
	L.Push(t.RawGetInt(1 + in.rng.IntN(n)))
	return 1
}

// random.shuffle(list): a new list with the same elements in random order.
func (in *interp) randShuffle(L *lua.LState) int {
	t := in.listArg("random.shuffle")
	n := t.Len()
	out := L.CreateTable(n, 0)
	for i := 1; i <= n; i++ {
		out.Append(t.RawGetInt(i))
	}
	in.rng.Shuffle(n, func(i, j int) {
		a, b := out.RawGetInt(i+1), out.RawGetInt(j+1)
		out.RawSetInt(i+1, b)
		out.RawSetInt(j+1, a)
	})
	L.Push(out)
	return 1
}

// math.random with Lua's meaning — () a float in [0, 1), (m) a whole
// number in [1, m], (m, n) one in [m, n] — from the run's seed.
func (in *interp) mathRandom(L *lua.LState) int {
	switch L.GetTop() {
	case 0:
		L.Push(lua.LNumber(in.rng.Float64()))
		return 1
	case 1:
		m := in.intArg("math.random", 1)
		if m < 1 {
			in.argError("math.random", "empty range [1, %d]", m)
		}
		L.Push(lua.LNumber(1 + in.rng.Int64N(m)))
		return 1
	case 2:
		return in.randInt("math.random", 1, 2)
	}
	in.argError("math.random", "takes at most 2 arguments, got %d", L.GetTop())
	return 0
}
