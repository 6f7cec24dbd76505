package store

import (
	"context"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
	"google.golang.org/grpc"

	"github.com/glusterd-ng/glusterd-ng/libs/grpcx"
)

// TestServer starts a store on a free port against the Consul at consulAddr,
// with a fresh KV prefix and fast timings, and stops it at cleanup. modify
// may change the config before start.
func TestServer(tb testing.TB, consulAddr string, modify func(*Config)) (*Server, *grpc.ClientConn) {
	tb.Helper()
	cfg := DefaultConfig()
	cfg.ConsulAddr = consulAddr
	cfg.Listen = "127.0.0.1:0"
	cfg.KVPrefix = "test-" + time.Now().Format("150405.000000000") + "/"
	cfg.Register = false
	cfg.RequestTimeout = 2 * time.Second
	cfg.CheckInterval = time.Second
	if modify != nil {
		modify(&cfg)
	}
	s, err := New(cfg, zaptest.NewLogger(tb), nil)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := s.Run(ctx); err != nil {
			tb.Error(err)
		}
	}()
	conn, err := grpcx.Dial(s.Addr())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		conn.Close()
		cancel()
		<-done
	})
	return s, conn
}
