package serve

import (
	"fmt"
	"html/template"
	"strconv"
	"strings"
	"time"

	"github.com/splitbrain/splitbrain/harness/gitstamp"
)

var funcs = template.FuncMap{
	"runURL":  RunURL,
	"fileURL": FileURL,
	"join":    strings.Join,
	"upper":   strings.ToUpper,
	"add":     func(a, b int) int { return a + b },
	"fmtTime": fmtTime,
	"size":    humanSize,
	"num":     groupDigits,
	"trunc":   truncate,
	"gitClass": func(s gitstamp.Stamp) string {
		return "git-" + s.Color()
	},
	"gitShort": func(s gitstamp.Stamp) string {
		if s.Short != "" {
			return s.Short
		}
		return s.Commit[:min(7, len(s.Commit))]
	},
	"logHref": logHref,
}

// fmtTime shows a time in UTC to the millisecond, as run directories are
// named; "—" when unknown.
func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05.000Z")
}

// humanSize is a byte count in B, KiB, MiB or GiB.
func humanSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 2; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMG"[exp])
}

// groupDigits writes n with thousands separated by commas.
func groupDigits(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// truncate cuts s to n runes, ending in "…" when cut.
func truncate(n int, s string) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
