// Package history is the record of a test: every client operation (invoke
// and its completion) and every fault, one JSON object a line, in the order
// they happened.
//
// A Recorder appends events as the test runs and syncs the file at least
// once a second, so a run killed mid-way leaves a readable history. Read
// parses a history strictly: a torn final line (the mark of a killed
// writer) is tolerated and reported; anything else malformed is an error
// naming file and line.
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
