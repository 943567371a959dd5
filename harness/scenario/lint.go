package scenario

import (
	"errors"
	"fmt"
	"github.com/splitbrain/splitbrain/nemesis"
	"sort"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/ast"
)

// lint finds, before anything runs, the mistakes a script would otherwise
// make half-way through a test: calls of functions that exist nowhere (a
// typo such as partiton), and API calls whose arguments are all literals
// and wrong (partition("halfs"), sleep(-1)). It checks literal arguments
// with the same code the call runs, so the messages are the same. It
// never rejects a script that could run, with one exception: a use of a
// library the sandbox leaves out (os.execute, io.open: see sandboxed) is
// refused wherever it appears, even in a branch that might not run, since
// it can never work in a scenario. A name bound anywhere in the script (a
// local, a parameter, a loop variable, a global assignment) counts as
// defined, and scripts that reach globals dynamically (_G, rawset,
// setfenv, load) skip these checks.
func lint(name string, chunk []ast.Stmt) error {
	v := &linter{bound: map[string]bool{}}
	v.stmts(chunk)
	env := environment()
	dynamic := v.used["_G"] || v.used["rawset"] || v.used["setfenv"] || v.used["getfenv"] || v.used["load"] || v.used["loadstring"]
	type lintErr struct {
		line int
		msg  string
	}
	var errs []lintErr
	for _, c := range v.calls {
		if v.bound[c.name] {
			continue // the script's own function (or a shadowed API name)
		}
		if !env[c.name] {
			if !dynamic {
				errs = append(errs, lintErr{c.line, fmt.Sprintf("unknown function %q%s", c.name, suggest(c.name, env))})
			}
			continue
		}
		args, ok := literals(c.args)
		if !ok {
			continue
		}
		if err := checkCall(c.name, args); err != nil {
			errs = append(errs, lintErr{c.line, err.Error()})
		}
	}
	if !dynamic {
		for _, g := range v.indexed {
			if sandboxed[g.name] && !v.bound[g.name] && !env[g.name] {
				errs = append(errs, lintErr{g.line, fmt.Sprintf("%s is not available in a scenario (%s): the sandbox has no io, os, package, debug or coroutine library", g.name, g.what)})
			}
		}
	}
	if len(errs) == 0 {
		return nil
	}
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].line < errs[j].line })
	out := make([]error, len(errs))
	for i, e := range errs {
		out[i] = fmt.Errorf("%s:%d: %s", name, e.line, e.msg)
	}
	return errors.Join(out...)
}

// checkCall validates literal arguments of an API call as the call would.
func checkCall(fn string, args []lua.LValue) error {
	for i := range faultFuncs {
		if f := &faultFuncs[i]; f.name == fn {
			_, err := f.buildOp(args)
			return err
		}
	}
	for _, f := range apiFuncs {
		if f.name == fn && f.check != nil {
			return f.check(args)
		}
	}
	return nil
}

// environment is the set of globals a script starts with.
func environment() map[string]bool {
	L := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer L.Close()
	in := &interp{L: L}
	env := map[string]bool{}
	if in.sandbox() != nil {
		return env
	}
	in.install()
	L.Get(lua.GlobalsIndex).(*lua.LTable).ForEach(func(k, v lua.LValue) {
		if s, ok := k.(lua.LString); ok && v != lua.LNil {
			env[string(s)] = true
		}
	})
	return env
}

func suggest(s string, env map[string]bool) string {
	best, bestD := "", 3
	names := make([]string, 0, len(env))
	for n := range env {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if d := nemesis.EditDistance(s, n); d < bestD && d <= max(1, len(s)/3) {
			best, bestD = n, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// literals converts argument expressions that are all literals to Lua
// values; ok is false if any is not.
func literals(exprs []ast.Expr) ([]lua.LValue, bool) {
	out := make([]lua.LValue, len(exprs))
	for i, e := range exprs {
		v, ok := literal(e)
		if !ok {
			return nil, false
		}
		out[i] = v
	}
	return out, true
}

func literal(e ast.Expr) (lua.LValue, bool) {
	switch e := e.(type) {
	case *ast.StringExpr:
		return lua.LString(e.Value), true
	case *ast.NumberExpr:
		return parseNumber(e.Value)
	case *ast.UnaryMinusOpExpr:
		if n, ok := e.Expr.(*ast.NumberExpr); ok {
			v, ok := parseNumber(n.Value)
			if ok {
				return -v.(lua.LNumber), true
			}
		}
	case *ast.TrueExpr:
		return lua.LTrue, true
	case *ast.FalseExpr:
		return lua.LFalse, true
	case *ast.NilExpr:
		return lua.LNil, true
	case *ast.TableExpr:
		t := &lua.LTable{}
		for _, f := range e.Fields {
			v, ok := literal(f.Value)
			if !ok {
				return nil, false
			}
			switch k := f.Key.(type) {
			case nil:
				t.Append(v)
			case *ast.StringExpr:
				t.RawSetString(k.Value, v)
			default:
				return nil, false
			}
		}
		return t, true
	}
	return nil, false
}

func parseNumber(s string) (lua.LValue, bool) {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return lua.LNumber(f), true
	}
	if strings.HasPrefix(strings.ToLower(s), "0x") {
		if n, err := strconv.ParseUint(s[2:], 16, 64); err == nil {
			return lua.LNumber(n), true
		}
	}
	return nil, false
}

type call struct {
	name string
	line int
	args []ast.Expr
}

// sandboxed are the standard libraries the sandbox leaves out: a script
// that uses one is refused before the run, not half-way through it.
var sandboxed = map[string]bool{"io": true, "os": true, "package": true, "debug": true, "coroutine": true}

// index is a global indexed by name (os.execute, io["open"]).
type index struct {
	name string
	what string // the expression, for the message
	line int
}

// linter walks the syntax tree collecting bound names, used names and
// calls of plain names.
type linter struct {
	bound   map[string]bool
	used    map[string]bool
	calls   []call
	indexed []index
}

func (v *linter) bind(names ...string) {
	for _, n := range names {
		v.bound[n] = true
	}
}

func (v *linter) stmts(ss []ast.Stmt) {
	for _, s := range ss {
		v.stmt(s)
	}
}

func (v *linter) stmt(s ast.Stmt) {
	switch s := s.(type) {
	case *ast.AssignStmt:
		for _, e := range s.Lhs {
			if id, ok := e.(*ast.IdentExpr); ok {
				v.bind(id.Value)
			} else {
				v.expr(e)
			}
		}
		v.exprs(s.Rhs)
	case *ast.LocalAssignStmt:
		v.bind(s.Names...)
		v.exprs(s.Exprs)
	case *ast.FuncCallStmt:
		v.expr(s.Expr)
	case *ast.DoBlockStmt:
		v.stmts(s.Stmts)
	case *ast.WhileStmt:
		v.expr(s.Condition)
		v.stmts(s.Stmts)
	case *ast.RepeatStmt:
		v.stmts(s.Stmts)
		v.expr(s.Condition)
	case *ast.IfStmt:
		v.expr(s.Condition)
		v.stmts(s.Then)
		v.stmts(s.Else)
	case *ast.NumberForStmt:
		v.bind(s.Name)
		v.exprs([]ast.Expr{s.Init, s.Limit, s.Step})
		v.stmts(s.Stmts)
	case *ast.GenericForStmt:
		v.bind(s.Names...)
		v.exprs(s.Exprs)
		v.stmts(s.Stmts)
	case *ast.FuncDefStmt:
		if s.Name != nil {
			if id, ok := s.Name.Func.(*ast.IdentExpr); ok && s.Name.Receiver == nil {
				v.bind(id.Value)
			} else {
				v.expr(s.Name.Func)
				v.expr(s.Name.Receiver)
			}
		}
		v.expr(s.Func)
	case *ast.ReturnStmt:
		v.exprs(s.Exprs)
	}
}

func (v *linter) exprs(es []ast.Expr) {
	for _, e := range es {
		v.expr(e)
	}
}

func (v *linter) expr(e ast.Expr) {
	switch e := e.(type) {
	case nil:
	case *ast.IdentExpr:
		if v.used == nil {
			v.used = map[string]bool{}
		}
		v.used[e.Value] = true
	case *ast.AttrGetExpr:
		if id, ok := e.Object.(*ast.IdentExpr); ok {
			what := id.Value + "[…]"
			if k, ok := e.Key.(*ast.StringExpr); ok {
				what = id.Value + "." + k.Value
			}
			v.indexed = append(v.indexed, index{name: id.Value, what: what, line: e.Line()})
		}
		v.expr(e.Object)
		v.expr(e.Key)
	case *ast.TableExpr:
		for _, f := range e.Fields {
			v.expr(f.Key)
			v.expr(f.Value)
		}
	case *ast.FuncCallExpr:
		if id, ok := e.Func.(*ast.IdentExpr); ok {
			v.calls = append(v.calls, call{name: id.Value, line: e.Line(), args: e.Args})
		}
		v.expr(e.Func)
		v.expr(e.Receiver)
		v.exprs(e.Args)
	case *ast.LogicalOpExpr:
		v.expr(e.Lhs)
		v.expr(e.Rhs)
	case *ast.RelationalOpExpr:
		v.expr(e.Lhs)
		v.expr(e.Rhs)
	case *ast.StringConcatOpExpr:
		v.expr(e.Lhs)
		v.expr(e.Rhs)
	case *ast.ArithmeticOpExpr:
		v.expr(e.Lhs)
		v.expr(e.Rhs)
	case *ast.UnaryMinusOpExpr:
		v.expr(e.Expr)
	case *ast.UnaryNotOpExpr:
		v.expr(e.Expr)
	case *ast.UnaryLenOpExpr:
		v.expr(e.Expr)
	case *ast.FunctionExpr:
		if e.ParList != nil {
			v.bind(e.ParList.Names...)
		}
		v.stmts(e.Stmts)
	}
}
