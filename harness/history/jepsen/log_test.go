package jepsen

import (
	"strings"
	"testing"
)

// A log4j-layout log as porcupine's test data has it, with other loggers,
// a timed-out read (:fail), timed-out writes and cas (:info with the
// keyword in place of the value), a failed cas and nemesis lines.
func TestLogLog4j(t *testing.T) {
	got := read(t, FormatLog, `INFO  jepsen.core - Worker 0 starting
INFO  jepsen.util - 0	:invoke	:read	nil
INFO  jepsen.util - 3	:invoke	:cas	[4 4]
INFO  jepsen.util - 1	:invoke	:write	1
INFO  jepsen.util - :nemesis	:info	:start	nil
INFO  jepsen.util - 0	:fail	:read	:timed-out
INFO  jepsen.util - 3	:fail	:cas	[4 4]
INFO  jepsen.util - 1	:info	:write	:timed-out
INFO  jepsen.util - :nemesis	:info	:start	"Cut off {:n5 #{:n2 :n1}, :n4 #{:n2 :n1}}"
INFO  jepsen.util - 6	:invoke	:read	nil
INFO  jepsen.util - 6	:ok	:read	4
INFO  jepsen.util - 2	:invoke	:cas	[1 2]
INFO  jepsen.util - 2	:info	:cas	:timed-out
INFO  jepsen.util - Waiting for 5 seconds
WARN  jepsen.util - 5 nodes ready
`)
	wantEvents(t, got, `
	{"index":0,"time":2000000,"type":"invoke","process":0,"f":"read","key":"0","value":null}
	{"index":1,"time":3000000,"type":"invoke","process":3,"f":"cas","key":"0","value":["4","4"]}
	{"index":2,"time":4000000,"type":"invoke","process":1,"f":"write","key":"0","value":"1"}
	{"index":3,"time":5000000,"type":"info","process":"nemesis","f":":start","value":null}
	{"index":4,"time":6000000,"type":"fail","process":0,"f":"read","key":"0","value":null,"error":":timed-out"}
	{"index":5,"time":7000000,"type":"fail","process":3,"f":"cas","key":"0","value":["4","4"]}
	{"index":6,"time":8000000,"type":"info","process":1,"f":"write","key":"0","value":"1","error":":timed-out"}
	{"index":7,"time":9000000,"type":"info","process":"nemesis","f":":start","value":"Cut off {:n5 #{:n2 :n1}, :n4 #{:n2 :n1}}"}
	{"index":8,"time":10000000,"type":"invoke","process":6,"f":"read","key":"0","value":null}
	{"index":9,"time":11000000,"type":"ok","process":6,"f":"read","key":"0","value":"4"}
	{"index":10,"time":12000000,"type":"invoke","process":2,"f":"cas","key":"0","value":["1","2"]}
	{"index":11,"time":13000000,"type":"info","process":2,"f":"cas","key":"0","value":["1","2"],"error":":timed-out"}
	`)
}

// etcd_100.log … etcd_102.log of porcupine's data have the tabs turned into
// runs of spaces.
func TestLogSpaceAligned(t *testing.T) {
	got := read(t, FormatLog, "INFO  jepsen.util - 4   :invoke :cas    [1 2]\r\n"+
		"INFO  jepsen.util - 4   :fail   :cas    [1 2]\r\n"+
		"INFO  jepsen.util - 10  :invoke :write  3\n"+
		"INFO  jepsen.util - 10  :fail   :write  3 [11 \"not a leader\"]\n")
	wantEvents(t, got, `
	{"index":0,"time":1000000,"type":"invoke","process":4,"f":"cas","key":"0","value":["1","2"]}
	{"index":1,"time":2000000,"type":"fail","process":4,"f":"cas","key":"0","value":["1","2"]}
	{"index":2,"time":3000000,"type":"invoke","process":10,"f":"write","key":"0","value":"3"}
	{"index":3,"time":4000000,"type":"fail","process":10,"f":"write","key":"0","value":"3","error":"[11 \"not a leader\"]"}
	`)
}

// Jepsen's jepsen.log (logback layout) with independent keys, an error
// column and a nemesis value that is not EDN (a printed Java object).
func TestLogLogback(t *testing.T) {
	got := read(t, FormatLog, `2022-11-11 15:14:12,998{GMT}	INFO	[jepsen test runner] jepsen.core: Running test
2022-11-11 15:14:13,020{GMT}	INFO	[jepsen worker 12] jepsen.util: 12	:invoke	:write	[9 3]
2022-11-11 15:14:13,022{GMT}	INFO	[jepsen worker 12] jepsen.util: 12	:ok	:write	[9 3]
2022-11-11 15:14:13,026{GMT}	INFO	[jepsen worker 16] jepsen.util: 16	:invoke	:cas	[8 [1 2]]
2022-11-11 15:14:13,028{GMT}	INFO	[jepsen worker 16] jepsen.util: 16	:fail	:cas	[8 [1 2]]	:precondition-failed
2022-11-11 15:14:13,100{GMT}	INFO	[jepsen worker nemesis] jepsen.util: :nemesis	:info	:kill	{"n1" #object[java.lang.Process 0x5d8a "pid 12"]}
java.lang.RuntimeException: a stack trace line
	at jepsen.foo(foo.clj:12)
2022-11-11 15:14:13,200{GMT}	INFO	[jepsen worker 16] jepsen.util: 16	:invoke	:read	[8 nil]
2022-11-11 15:14:13,201{GMT}	INFO	[jepsen worker 16] jepsen.util: 16	:ok	:read	[8 "x y"]
`)
	wantEvents(t, got, `
	{"index":0,"time":2000000,"type":"invoke","process":12,"f":"write","key":"9","value":"3"}
	{"index":1,"time":3000000,"type":"ok","process":12,"f":"write","key":"9","value":"3"}
	{"index":2,"time":4000000,"type":"invoke","process":16,"f":"cas","key":"8","value":["1","2"]}
	{"index":3,"time":5000000,"type":"fail","process":16,"f":"cas","key":"8","value":["1","2"],"error":":precondition-failed"}
	{"index":4,"time":6000000,"type":"info","process":"nemesis","f":":kill","value":"{\"n1\" #object[java.lang.Process 0x5d8a \"pid 12\"]}"}
	{"index":5,"time":9000000,"type":"invoke","process":16,"f":"read","key":"8","value":null}
	{"index":6,"time":10000000,"type":"ok","process":16,"f":"read","key":"8","value":"x y"}
	`)
}

// Jepsen's history.txt: bare op lines, the error after a tab.
func TestLogBareHistoryTxt(t *testing.T) {
	got := read(t, FormatLog, "\n0\t:invoke\t:write\t\"a\"\n0\t:info\t:write\t\"a\"\tindeterminate: read timeout\n:nemesis\t:info\t:stop\tnil\n")
	wantEvents(t, got, `
	{"index":0,"time":2000000,"type":"invoke","process":0,"f":"write","key":"0","value":"a"}
	{"index":1,"time":3000000,"type":"info","process":0,"f":"write","key":"0","value":"a","error":"indeterminate: read timeout"}
	{"index":2,"time":4000000,"type":"info","process":"nemesis","f":":stop","value":null}
	`)
}

func TestLogErrors(t *testing.T) {
	const p = "INFO  jepsen.util - "
	ok0 := p + "0\t:invoke\t:read\tnil\n"
	for _, tc := range []struct {
		name, in string
		line     int
		msg      string
	}{
		{"bad type", ok0 + "INFO  jepsen.core - hi\n" + p + "1\t:invok\t:read\tnil\n", 3, "type must be :invoke, :ok, :fail or :info, got :invok"},
		{"missing value", ok0 + p + "0\t:ok\t:read\n", 2, "missing value after :read (Jepsen writes nil for none)"},
		{"missing f", p + "0\t:ok\n", 1, "missing f after the type"},
		{"f not keyword", p + "0\t:ok\tread\tnil\n", 1, "f must be a keyword such as :read, got read"},
		{"keyword process", p + ":client\t:invoke\t:read\tnil\n", 1, "process must be a number or :nemesis, got :client"},
		{"huge process", p + "99999999999999999999\t:invoke\t:read\tnil\n", 1, "process 99999999999999999999 is out of range"},
		{"invoke while open", ok0 + ok0, 2, "process 0 invokes :read while its :read from line 1 is still open"},
		{"txn", p + "0\t:invoke\t:txn\t[[:r 1 nil]]\n", 1, "unsupported f :txn for a client operation"},
		{"bad EDN value tab", p + "0\t:invoke\t:write\t[1 2\n", 1, "value [1 2: not valid EDN: unexpected end of input"},
		{"bad EDN value spaces", p + "0  :invoke :write  #{1\n", 1, "value #{1: not valid EDN: unexpected end of input"},
		{"two values before the tab", p + "0\t:invoke\t:write\t1 2\terr\n", 1, "value 1 2: not valid EDN: not a single EDN value"},
		{"float", ok0 + p + "0\t:ok\t:read\t2.5\n", 2, "read value must be nil, an integer or a string, got float 2.5"},
		{"completion without invoke", p + "5\t:ok\t:write\t1\n", 1, "process 5 completes :write with no open invocation"},
		{"bare line then junk", "0\t:invoke\t:read\tnil\nsome words\n", 2, "not an op line"},
		{"no op lines", "INFO  jepsen.core - Running test\nINFO  jepsen.core - done\n", 1, "no Jepsen op lines"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Read(strings.NewReader(tc.in), "h", FormatLog)
			wantParseError(t, err, tc.line, tc.msg)
		})
	}
}
