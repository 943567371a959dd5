package scenario

import (
	"sort"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// format renders a Lua value for log lines and error messages without
// memory addresses, so that what a script records is the same on every
// run: strings as they are, tables as {1, 2, k=v} (array part in order,
// then the other keys sorted), functions as "function".
func format(v lua.LValue) string {
	var b strings.Builder
	formatTo(&b, v, 0)
	return b.String()
}

// formatMeta is format that honours a __tostring metamethod.
func formatMeta(L *lua.LState, v lua.LValue) string {
	if _, ok := L.GetMetaField(v, "__tostring").(*lua.LFunction); ok {
		return format(L.ToStringMeta(v))
	}
	return format(v)
}

func formatTo(b *strings.Builder, v lua.LValue, depth int) {
	switch v := v.(type) {
	case lua.LString:
		if depth > 0 {
			b.WriteString(`"` + string(v) + `"`)
		} else {
			b.WriteString(string(v))
		}
	case lua.LNumber, lua.LBool:
		b.WriteString(v.String())
	case *lua.LNilType:
		b.WriteString("nil")
	case *lua.LTable:
		if depth >= 3 {
			b.WriteString("{…}")
			return
		}
		b.WriteByte('{')
		n := v.Len()
		for i := 1; i <= n; i++ {
			if i > 1 {
				b.WriteString(", ")
			}
			formatTo(b, v.RawGetInt(i), depth+1)
		}
		type kv struct {
			k string
			v lua.LValue
		}
		var rest []kv
		v.ForEach(func(k, val lua.LValue) {
			if num, ok := k.(lua.LNumber); ok && float64(num) == float64(int(num)) && int(num) >= 1 && int(num) <= n {
				return
			}
			var kb strings.Builder
			formatTo(&kb, k, depth+1)
			rest = append(rest, kv{strings.Trim(kb.String(), `"`), val})
		})
		sort.SliceStable(rest, func(i, j int) bool { return rest[i].k < rest[j].k })
		for i, e := range rest {
			if n > 0 || i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(e.k + "=")
			formatTo(b, e.v, depth+1)
		}
		b.WriteByte('}')
	default:
		b.WriteString(v.Type().String())
	}
}

// formatArgs joins the call's arguments as print does, with spaces.
func formatArgs(L *lua.LState) string {
	parts := make([]string, L.GetTop())
	for i := range parts {
		parts[i] = formatMeta(L, L.Get(i+1))
	}
	return strings.Join(parts, " ")
}
