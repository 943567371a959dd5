package node

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
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
