package model

import (
	"encoding/json"
	"testing"
)

func TestValidityJSON(t *testing.T) {
	var zero Validity
	if zero != Unknown {
		t.Fatal("the zero Validity must be Unknown")
	}
	for _, tc := range []struct {
		v    Validity
		json string
	}{{Valid, "true"}, {Invalid, "false"}, {Unknown, `"unknown"`}} {
		out, err := json.Marshal(tc.v)
		if err != nil || string(out) != tc.json {
			t.Errorf("Marshal(%v) = %s, %v; want %s", tc.v, out, err, tc.json)
		}
		var back Validity = 42
		if err := json.Unmarshal([]byte(tc.json), &back); err != nil || back != tc.v {
			t.Errorf("Unmarshal(%s) = %v, %v", tc.json, back, err)
		}
		if tc.v.String() != map[Validity]string{Valid: "true", Invalid: "false", Unknown: "unknown"}[tc.v] {
			t.Errorf("String(%d) = %s", int(tc.v), tc.v)
		}
	}
	for _, bad := range []string{`"true"`, `1`, `null`, `"Unknown"`, `"valid"`} {
		var v Validity
		if err := json.Unmarshal([]byte(bad), &v); err == nil {
			t.Errorf("Unmarshal(%s) accepted", bad)
		}
	}
	if _, err := json.Marshal(Validity(7)); err == nil {
		t.Error("Marshal of an out-of-range Validity succeeded")
	}
}

func TestValidityAnd(t *testing.T) {
	all := []Validity{Valid, Invalid, Unknown}
	for _, a := range all {
		for _, b := range all {
			want := Valid
			switch {
			case a == Invalid || b == Invalid:
				want = Invalid
			case a == Unknown || b == Unknown:
				want = Unknown
			}
			if got := a.And(b); got != want {
				t.Errorf("%v.And(%v) = %v, want %v", a, b, got, want)
			}
		}
	}
}

func FuzzValidityJSON(f *testing.F) {
	for _, s := range []string{"true", "false", `"unknown"`, ` true `, `"x"`, `null`, `{}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var v Validity
		if err := v.UnmarshalJSON(b); err != nil {
			return
		}
		out, err := v.MarshalJSON()
		if err != nil {
			t.Fatalf("accepted %q but cannot write %v back: %v", b, v, err)
		}
		var again Validity
		if err := again.UnmarshalJSON(out); err != nil || again != v {
			t.Fatalf("round trip of %q: %s → %v, %v", b, out, again, err)
		}
	})
}
