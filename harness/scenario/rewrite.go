package scenario

import (
	"github.com/yuin/gopher-lua/ast"
)

// concatName is the hidden local through which every '..' of a script
// goes (see guardConcat). '#' cannot appear in a Lua name, so no script
// can name, shadow or reassign it.
const concatName = "concat#"

// guardConcat rewrites a chunk so that its string concatenations can be
// counted against the memory budget: gopher-lua concatenates in one VM
// instruction that nothing can intercept, and s = s .. s doubles a string
// in four instructions. Every a .. b becomes concat#(a, b), a call of the
// Go function memory.concat, which refuses a result over the budget
// before it is built and otherwise behaves as the operator does
// (numbers, __concat, the same error message on the same line). The chunk
// becomes
//
//	local concat# = ...
//	return function(...) <the chunk> end
//
// so that running it with the Go function as its argument yields the
// script's main function, holding concat# as an upvalue: nothing the
// script can reach. Line numbers are kept: errors name the script's lines.
func guardConcat(chunk []ast.Stmt) []ast.Stmt {
	rw := &concatRewriter{}
	rw.stmts(chunk)
	last := 1
	if n := len(chunk); n > 0 {
		last = max(chunk[n-1].LastLine(), chunk[n-1].Line())
	}
	decl := &ast.LocalAssignStmt{Names: []string{concatName}, Exprs: []ast.Expr{&ast.Comma3Expr{}}}
	decl.SetLine(1)
	decl.SetLastLine(1)
	body := &ast.FunctionExpr{ParList: &ast.ParList{HasVargs: true}, Stmts: chunk}
	body.SetLine(1)
	body.SetLastLine(last)
	ret := &ast.ReturnStmt{Exprs: []ast.Expr{body}}
	ret.SetLine(last)
	ret.SetLastLine(last)
	return []ast.Stmt{decl, ret}
}

// concatRewriter replaces every StringConcatOpExpr in place.
type concatRewriter struct{}

func (rw *concatRewriter) stmts(ss []ast.Stmt) {
	for _, s := range ss {
		rw.stmt(s)
	}
}

func (rw *concatRewriter) stmt(s ast.Stmt) {
	switch s := s.(type) {
	case *ast.AssignStmt:
		rw.exprs(s.Lhs)
		rw.exprs(s.Rhs)
	case *ast.LocalAssignStmt:
		rw.exprs(s.Exprs)
	case *ast.FuncCallStmt:
		s.Expr = rw.expr(s.Expr)
	case *ast.DoBlockStmt:
		rw.stmts(s.Stmts)
	case *ast.WhileStmt:
		s.Condition = rw.expr(s.Condition)
		rw.stmts(s.Stmts)
	case *ast.RepeatStmt:
		rw.stmts(s.Stmts)
		s.Condition = rw.expr(s.Condition)
	case *ast.IfStmt:
		s.Condition = rw.expr(s.Condition)
		rw.stmts(s.Then)
		rw.stmts(s.Else)
	case *ast.NumberForStmt:
		s.Init, s.Limit, s.Step = rw.expr(s.Init), rw.expr(s.Limit), rw.expr(s.Step)
		rw.stmts(s.Stmts)
	case *ast.GenericForStmt:
		rw.exprs(s.Exprs)
		rw.stmts(s.Stmts)
	case *ast.FuncDefStmt:
		if s.Name != nil {
			s.Name.Func = rw.expr(s.Name.Func)
			s.Name.Receiver = rw.expr(s.Name.Receiver)
		}
		if f, ok := rw.expr(s.Func).(*ast.FunctionExpr); ok {
			s.Func = f
		}
	case *ast.ReturnStmt:
		rw.exprs(s.Exprs)
	}
}

func (rw *concatRewriter) exprs(es []ast.Expr) {
	for i := range es {
		es[i] = rw.expr(es[i])
	}
}

func (rw *concatRewriter) expr(e ast.Expr) ast.Expr {
	switch e := e.(type) {
	case nil:
		return nil
	case *ast.StringConcatOpExpr:
		fn := &ast.IdentExpr{Value: concatName}
		fn.SetLine(e.Line())
		fn.SetLastLine(e.LastLine())
		// AdjustRet: one value, and never a tail call (an error raised
		// by concat# names the line of the '..').
		call := &ast.FuncCallExpr{Func: fn, Args: []ast.Expr{rw.expr(e.Lhs), rw.expr(e.Rhs)}, AdjustRet: true}
		call.SetLine(e.Line())
		call.SetLastLine(e.LastLine())
		return call
	case *ast.AttrGetExpr:
		e.Object, e.Key = rw.expr(e.Object), rw.expr(e.Key)
	case *ast.TableExpr:
		for _, f := range e.Fields {
			f.Key, f.Value = rw.expr(f.Key), rw.expr(f.Value)
		}
	case *ast.FuncCallExpr:
		e.Func, e.Receiver = rw.expr(e.Func), rw.expr(e.Receiver)
		rw.exprs(e.Args)
	case *ast.LogicalOpExpr:
		e.Lhs, e.Rhs = rw.expr(e.Lhs), rw.expr(e.Rhs)
	case *ast.RelationalOpExpr:
		e.Lhs, e.Rhs = rw.expr(e.Lhs), rw.expr(e.Rhs)
	case *ast.ArithmeticOpExpr:
		e.Lhs, e.Rhs = rw.expr(e.Lhs), rw.expr(e.Rhs)
	case *ast.UnaryMinusOpExpr:
		e.Expr = rw.expr(e.Expr)
	case *ast.UnaryNotOpExpr:
		e.Expr = rw.expr(e.Expr)
	case *ast.UnaryLenOpExpr:
		e.Expr = rw.expr(e.Expr)
	case *ast.FunctionExpr:
		rw.stmts(e.Stmts)
	}
	return e
}
