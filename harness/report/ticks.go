package report

import (
	"math"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
)

// niceTicks marks a linear axis with about target labelled ticks at
// 1, 2, 2.5 or 5 × 10^k steps, and four or five minor ticks between them.
// gonum's default gives as few as three labels, too few to read times off
// a long run.
type niceTicks struct{ Target int }

func (t niceTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(hi > lo) || math.IsInf(lo, 0) || math.IsInf(hi, 0) {
		return plot.DefaultTicks{}.Ticks(lo, hi)
	}
	raw := (hi - lo) / float64(max(t.Target, 2))
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step, minors := 10*mag, 5
	for _, m := range []struct {
		f float64
		n int
	}{{1, 5}, {2, 4}, {2.5, 5}, {5, 5}} {
		if m.f*mag >= raw {
			step, minors = m.f*mag, m.n
			break
		}
	}
	prec := max(0, -int(math.Floor(math.Log10(step)+1e-9)))
	if step/math.Pow(10, math.Floor(math.Log10(step)+1e-9)) == 2.5 {
		prec++
	}
	var ticks []plot.Tick
	first := math.Ceil(lo/step-1e-9) * step
	for i := 0; ; i++ {
		v := first + float64(i)*step
		if v > hi+step*1e-9 {
			break
		}
		if math.Abs(v) < step*1e-9 {
			v = 0
		}
		ticks = append(ticks, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', prec, 64)})
	}
	minor := step / float64(minors)
	for v := math.Ceil(lo/minor-1e-9) * minor; v <= hi+minor*1e-9; v += minor {
		if r := math.Mod(math.Abs(v)+minor/2, step); r > minor {
			ticks = append(ticks, plot.Tick{Value: v})
		}
	}
	return ticks
}

// logTicks marks a log axis at 1..9 × 10^k. It labels the powers of ten,
// and 2 and 5 times them too when fewer than three powers fall in range,
// and every mark when even that gives fewer than three: gonum's LogTicks
// leaves a narrow range (all ops near 2 ms) without a single label.
type logTicks struct{}

func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(lo > 0) || !(hi > lo) || math.IsInf(hi, 0) {
		return nil
	}
	type mark struct {
		v     float64
		label string
		m     int
	}
	var marks []mark
	for k := int(math.Floor(math.Log10(lo))); k <= int(math.Ceil(math.Log10(hi))); k++ {
		for m := 1; m <= 9; m++ {
			label := decimal(m, k)
			v, _ := strconv.ParseFloat(label, 64)
			if v >= lo && v <= hi {
				marks = append(marks, mark{v, label, m})
			}
		}
	}
	labelled := func(keep func(m int) bool) int {
		n := 0
		for _, mk := range marks {
			if keep(mk.m) {
				n++
			}
		}
		return n
	}
	keep := func(m int) bool { return m == 1 }
	if labelled(keep) < 3 {
		keep = func(m int) bool { return m == 1 || m == 2 || m == 5 }
		if labelled(keep) < 3 {
			keep = func(int) bool { return true }
		}
	}
	ticks := make([]plot.Tick, 0, len(marks))
	for _, mk := range marks {
		t := plot.Tick{Value: mk.v}
		if keep(mk.m) {
			t.Label = mk.label
		}
		ticks = append(ticks, t)
	}
	return ticks
}

// decimal writes m × 10^k exactly: decimal(3, -2) = "0.03".
func decimal(m, k int) string {
	d := strconv.Itoa(m)
	if k >= 0 {
		return d + strings.Repeat("0", k)
	}
	return "0." + strings.Repeat("0", -k-1) + d
}
