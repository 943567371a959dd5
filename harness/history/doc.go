// Package history is the record of a test: every client operation (invoke
// and its completion) and every fault, one JSON object a line, in the order
// they happened.
//
// A Recorder appends events as the test runs and syncs the file at least
// once a second, so a run killed mid-way leaves a readable history. With a
// file it keeps no events in memory: a run's memory does not grow with its
// history, and the checker reads the file back. Read parses a history
// strictly: a torn final line (the mark of a killed writer) is tolerated
// and reported; anything else malformed is an error naming file and line.
// A Scanner does the same one event at a time, in memory that holds only
// the open operations.
//
// Lines in the canonical form — the one the Recorder and WriteFile write,
// the bytes json.Marshal writes — are read by a fast path that gives
// exactly what Event.UnmarshalJSON gives (FuzzCanonicalAgrees) in a tenth
// of the time; any other line goes through Event.UnmarshalJSON, the
// definition of a valid line.
//
// The line format:
//
//	{"index":0,"time":1200,"type":"invoke","process":3,"f":"cas","key":"k2","value":["4","5"]}
//	{"index":1,"time":3400,"type":"ok","process":3,"f":"cas","key":"k2","value":["4","5"],"node":"n1"}
//	{"index":2,"time":5000,"type":"info","process":"nemesis","f":"partition","value":"halves [n1 n2] [n3 n4 n5]"}
//
// time is nanoseconds since the start of the test (virtual time in the sim).
// A client's f is read, write, cas (value [expected, new]) or delete (value
// null: the key becomes absent).
package history
