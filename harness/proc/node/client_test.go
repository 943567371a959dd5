package node

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestClientNotImplemented(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotImplemented)
	}))
	defer srv.Close()
	c := NewClient(1)
	defer c.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	if err := c.TickRate(context.Background(), addr, 2); !errors.Is(err, ErrNotImplemented) {
		t.Fatalf("tick-rate on a node without it: %v", err)
	}
}

func TestClientClassifiesFailures(t *testing.T) {
	c := NewClient(1)
	defer c.Close()
	// Nobody listens: refused, nothing sent.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	_, err := c.KV(context.Background(), addr, "put", KVRequest{Key: "k", Value: str("v")})
	var ce *CallError
	if !errors.As(err, &ce) || ce.Sent {
		t.Fatalf("refused connection: %v (sent %v)", err, ce != nil && ce.Sent)
	}
	// A server that never answers: sent, then timed out.
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // then the server notices the client leaving
		<-r.Context().Done()
	}))
	defer hang.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = c.KV(ctx, strings.TrimPrefix(hang.URL, "http://"), "put", KVRequest{Key: "k", Value: str("v")})
	if !errors.As(err, &ce) || !ce.Sent {
		t.Fatalf("timeout: %v", err)
	}
	// An answer that is not the protocol.
	junk := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"outcome":"maybe"}`)) }))
	defer junk.Close()
	if _, err := c.KV(context.Background(), strings.TrimPrefix(junk.URL, "http://"), "get", KVRequest{Key: "k"}); err == nil || !strings.Contains(err.Error(), `outcome "maybe"`) {
		t.Fatalf("bad outcome: %v", err)
	}
}

// waitFor polls cond until it holds, failing the test after 5s: for
// events (a FIN crossing loopback) that come at once but not
// synchronously.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("still not %s after 5s", what)
		}
	}
}

func TestClientOpenSeesClosedAndUnaskedData(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, peer := range []func(net.Conn){
		func(c net.Conn) { c.Close() },
		func(c net.Conn) { c.Write([]byte("x")) },
	} {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		s, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		if !open(c) {
			t.Fatal("a fresh connection reads as not open")
		}
		peer(s)
		waitFor(t, "seen as closed", func() bool { return !open(c) })
		c.Close()
		s.Close()
	}
}

// TestClientKeepAlive: requests reuse one connection, and a connection the
// node closed while idle is never sent on: the next request dials anew
// and succeeds.
func TestClientKeepAlive(t *testing.T) {
	var mu sync.Mutex
	conns := map[string]bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		conns[r.RemoteAddr] = true
		mu.Unlock()
		w.Write([]byte(`{"outcome":"ok"}`))
	}))
	defer srv.Close()
	c := NewClient(4)
	defer c.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	put := func() {
		t.Helper()
		if r, err := c.KV(context.Background(), addr, "put", KVRequest{Key: "k", Value: str("v")}); err != nil || r.Outcome != OutcomeOK {
			t.Fatalf("put: %+v, %v", r, err)
		}
	}
	for i := 0; i < 5; i++ {
		put()
	}
	used := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(conns)
	}
	if n := used(); n != 1 {
		t.Fatalf("5 requests in turn used %d connections, want 1", n)
	}
	srv.CloseClientConnections()
	c.mu.Lock()
	idle := c.idle[addr][0]
	c.mu.Unlock()
	waitFor(t, "closed", func() bool { return !open(idle.c) })
	put()
	if n := used(); n != 2 {
		t.Fatalf("after the node closed the idle connection: %d connections, want 2", n)
	}
}
