package node

import (
	"context"
	"fmt"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
)

// Run starts a node with cfg and serves until ctx is done (the node then
// closes cleanly: its store is closed) or the node stops on a fatal
// error.
func Run(ctx context.Context, cfg Config) error {
	s, err := Start(cfg)
	if err != nil {
		return err
	}
	if dir := os.Getenv(ProfileEnv); dir != "" {
		stop, profiled := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(profiled)
			s.profileChunks(dir, stop)
		}()
		defer func() {
			close(stop)
			<-profiled
		}()
	}
	select {
	case <-ctx.Done():
		s.log.Info("shutting down", "cause", context.Cause(ctx))
	case <-s.Stopped():
	}
	return s.Close()
}

// ParsePeers parses "1=127.0.0.11:7000,2=127.0.0.12:7000".
func ParsePeers(s string) (map[uint64]string, error) {
	peers := map[uint64]string{}
	if strings.TrimSpace(s) == "" {
		return peers, nil
	}
	for i, part := range strings.Split(s, ",") {
		id, addr, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return nil, fmt.Errorf("peers item %d %q: want ID=HOST:PORT", i+1, part)
		}
		n, err := strconv.ParseUint(id, 10, 64)
		if err != nil || n == 0 {
			return nil, fmt.Errorf("peers item %d %q: node id %q is not a positive integer", i+1, part, id)
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return nil, fmt.Errorf("peers item %d %q: address: %v", i+1, part, err)
		}
		if _, dup := peers[n]; dup {
			return nil, fmt.Errorf("peers item %d %q: node %d listed twice", i+1, part, n)
		}
		peers[n] = addr
	}
	return peers, nil
}

// FormatPeers is the inverse of ParsePeers, ordered by ID.
func FormatPeers(peers map[uint64]string) string {
	ids := make([]uint64, 0, len(peers))
	for id := range peers {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = fmt.Sprintf("%d=%s", id, peers[id])
	}
	return strings.Join(parts, ",")
}
