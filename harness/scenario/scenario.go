package scenario

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"

	"github.com/splitbrain/splitbrain/harness"
	"github.com/splitbrain/splitbrain/harness/world"
	"github.com/splitbrain/splitbrain/nemesis"
)

func init() {
	harness.RunScenario = Run
	harness.CheckScenario = Check
}

// Output receives the lines of log() and print(), prefixed with the
// script's place and the test time. It is never part of the history.
var Output io.Writer = os.Stderr

// InstructionBudget is how many Lua instructions a script may run while
// the test clock stands still (between two world calls that take time).
// In the sim a loop that never sleeps would otherwise never let the test
// end; the budget turns it into a script error naming the line.
const InstructionBudget = 20_000_000

// pollEvery is the longest a blocking call (sleep, wait_for_leader) waits
// without checking whether the test is over.
const pollEvery = 100 * time.Millisecond

// seedSalt separates the script's PRNG from the world's, which is seeded
// from the same run seed.
const seedSalt = 0x5ce7a710_5c21b7ed

// Run runs the scenario script at path against w from the calling task
// (the nemesis task: in the sim a lockstep task), until the script ends or
// stop reports true. Faults are recorded in rec as a schedule's would be.
// A nil error means the script ended or was stopped because the test was
// over; otherwise the error is the script's, naming file and line. Run is
// harness.RunScenario.
func Run(w world.World, path string, seed uint64, rec nemesis.Recorder, ctl harness.ScenarioControls, stop func() bool) error {
	src, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return runSource(w, path, src, seed, rec, ctl, stop)
}

// Check compiles the script at path and checks what can be checked
// without running it: syntax, calls of functions that exist nowhere, and
// the arguments of fault calls written as literals. Errors name file and
// line. Check is harness.CheckScenario.
func Check(path string) error {
	src, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("scenario: %w", err)
	}
	_, err = compile(path, src)
	return err
}

// compile parses and lints a script and compiles it to a function proto.
func compile(name string, src []byte) (*lua.FunctionProto, error) {
	chunk, err := parse.Parse(strings.NewReader(string(src)), name)
	if err != nil {
		return nil, syntaxError(name, src, err)
	}
	if err := lint(name, chunk); err != nil {
		return nil, err
	}
	proto, err := lua.Compile(guardConcat(chunk), name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return proto, nil
}

// syntaxError rewrites a parse error as "file:line: syntax error near 'x'".
func syntaxError(name string, src []byte, err error) error {
	var pe *parse.Error
	if !errors.As(err, &pe) {
		return fmt.Errorf("%s: %v", name, strings.TrimSpace(err.Error()))
	}
	msg := strings.TrimSpace(pe.Message)
	if pe.Pos.Line == parse.EOF {
		line := strings.Count(string(src), "\n")
		if len(src) > 0 && src[len(src)-1] != '\n' {
			line++
		}
		return fmt.Errorf("%s:%d: %s at the end of the file (an 'end' or a closing bracket missing?)", name, max(line, 1), msg)
	}
	// The lexer reports an unterminated string after the newline that
	// ends it: name the line the token is on.
	line, tok := pe.Pos.Line, strings.TrimSpace(pe.Token)
	lines := strings.Split(string(src), "\n")
	if first, _, _ := strings.Cut(tok, "\n"); first != "" && line >= 2 && line-1 <= len(lines) &&
		(line > len(lines) || !strings.Contains(lines[line-1], first)) && strings.Contains(lines[line-2], first) {
		line--
	}
	return fmt.Errorf("%s:%d: %s near '%s'", name, line, msg, tok)
}

// interp is one script's run: the Lua state and what its Go functions
// act on. Only the calling task touches it.
type interp struct {
	w      world.World
	L      *lua.LState
	name   string
	rec    nemesis.Recorder
	ctl    harness.ScenarioControls
	stop   func() bool
	rng    *rand.Rand
	budget *budget
	mem    *memory
}

// errStopped unwinds a script when the test is over.
var errStopped = errors.New("the test is over")

func runSource(w world.World, name string, src []byte, seed uint64, rec nemesis.Recorder, ctl harness.ScenarioControls, stop func() bool) error {
	proto, err := compile(name, src)
	if err != nil {
		return err
	}
	if stop == nil {
		stop = func() bool { return false }
	}
	L := lua.NewState(lua.Options{SkipOpenLibs: true, CallStackSize: 200, RegistrySize: 1024 * 20, RegistryMaxSize: 1024 * 1024})
	defer L.Close()
	in := &interp{w: w, L: L, name: name, rec: rec, ctl: ctl, stop: stop,
		rng: rand.New(rand.NewPCG(seed, seed^seedSalt))}
	if err := in.sandbox(); err != nil {
		return err
	}
	in.install()
	in.mem = newMemory(in, memoryBudget)
	in.meterLibraries()
	in.budget = newBudget(in, InstructionBudget)
	main, err := in.mainFunction(proto)
	if err != nil {
		return err
	}
	L.SetContext(in.budget)
	if stop() {
		return nil
	}
	L.Push(main)
	err = L.PCall(0, 0, nil)
	switch {
	case errors.Is(in.budget.tripped, errStopped):
		return nil
	case in.budget.tripped != nil:
		return in.budget.tripped
	case err != nil:
		return in.scriptError(err)
	}
	return nil
}

// scriptError turns a Lua error into one line: the message (which names
// file and line), without the Go side's stack.
func (in *interp) scriptError(err error) error {
	var ae *lua.ApiError
	if errors.As(err, &ae) {
		msg := format(ae.Object)
		if _, isString := ae.Object.(lua.LString); !isString {
			msg = "error object: " + msg
		}
		return errors.New(msg)
	}
	return err
}

// sandbox opens the safe libraries only: base (without file loading,
// modules, printing to stdout or garbage-collector introspection), table,
// string and math with math.random drawing from the run's seed.
func (in *interp) sandbox() error {
	L := in.L
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{{lua.BaseLibName, lua.OpenBase}, {lua.TabLibName, lua.OpenTable}, {lua.StringLibName, lua.OpenString}, {lua.MathLibName, lua.OpenMath}} {
		if err := L.CallByParam(lua.P{Fn: L.NewFunction(lib.open), NRet: 0, Protect: true}, lua.LString(lib.name)); err != nil {
			return fmt.Errorf("scenario: opening the Lua %s library: %w", lib.name, err)
		}
	}
	for _, name := range []string{"dofile", "loadfile", "require", "module", "collectgarbage", "_printregs", "newproxy", "print"} {
		L.SetGlobal(name, lua.LNil)
	}
	// tostring of a table or function would print a memory address:
	// nothing a script outputs may depend on one.
	L.SetGlobal("tostring", L.NewFunction(func(L *lua.LState) int {
		s := formatMeta(L, L.CheckAny(1))
		if in.mem != nil {
			in.mem.charge(int64(len(s)))
		}
		L.Push(lua.LString(s))
		return 1
	}))
	return nil
}

// where is the script's place of the current call, "file:line:".
func (in *interp) where() string { return in.L.Where(1) }

// argError raises "file:line: fn: message".
func (in *interp) argError(fn, format string, args ...any) {
	in.L.RaiseError("%s: %s", fn, fmt.Sprintf(format, args...))
}

// checkStop unwinds the script if the test is over.
func (in *interp) checkStop() {
	if in.budget.tripped == nil && in.stop() {
		in.budget.tripped = errStopped
	}
	if in.budget.tripped != nil {
		in.L.RaiseError("%s", in.budget.tripped.Error())
	}
}

// sleepFor sleeps d of test time in steps, checking for the end of the
// test between them; it unwinds the script if the test ends first.
func (in *interp) sleepFor(d time.Duration) {
	end := in.w.Now() + d
	for {
		in.checkStop()
		now := in.w.Now()
		if now >= end {
			return
		}
		in.w.Sleep(min(end-now, pollEvery))
	}
}
