package model

import (
	"bytes"
	"fmt"
)

// Validity is a checker's verdict: true, false, or unknown when the checker
// ran out of time (or, for liveness, the history ended too early to tell),
// as in Jepsen.
//
// The zero value is Unknown, so a verdict nobody computed never claims the
// history is valid.
type Validity int

// The three verdicts.
const (
	Unknown Validity = iota // the checker could not decide
	Valid                   // the history satisfies the property
	Invalid                 // the history violates the property
)

// String returns "true", "false" or "unknown", the words of the JSON form.
func (v Validity) String() string {
	switch v {
	case Valid:
		return "true"
	case Invalid:
		return "false"
	case Unknown:
		return "unknown"
	}
	return fmt.Sprintf("Validity(%d)", int(v))
}

// And combines two verdicts as Jepsen's compose checker does: false wins
// over unknown, which wins over true.
func (v Validity) And(w Validity) Validity {
	switch {
	case v == Invalid || w == Invalid:
		return Invalid
	case v == Unknown || w == Unknown:
		return Unknown
	}
	return Valid
}

// MarshalJSON writes true, false or the string "unknown".
func (v Validity) MarshalJSON() ([]byte, error) {
	switch v {
	case Valid:
		return []byte("true"), nil
	case Invalid:
		return []byte("false"), nil
	case Unknown:
		return []byte(`"unknown"`), nil
	}
	return nil, fmt.Errorf("model: invalid Validity %d", int(v))
}

// UnmarshalJSON accepts exactly true, false or "unknown" (surrounding
// whitespace allowed).
func (v *Validity) UnmarshalJSON(b []byte) error {
	switch string(bytes.TrimSpace(b)) {
	case "true":
		*v = Valid
	case "false":
		*v = Invalid
	case `"unknown"`:
		*v = Unknown
	default:
		return fmt.Errorf("valid must be true, false or \"unknown\", got %.40q", b)
	}
	return nil
}
