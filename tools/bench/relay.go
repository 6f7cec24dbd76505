package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/glusterd-ng/glusterd-ng/libs/netx"
	"github.com/glusterd-ng/glusterd-ng/libs/testutil"
)

// relayFlag runs the bench binary as a relay instead (see startRelay).
const relayFlag = "serve-relay"

// serveRelay accepts connections on listen and joins each to a new
// connection to target, copying bytes both ways with one read and one write
// per chunk, as the least any service standing between a client and Consul
// does, over libs/netx connections as the store's. It returns only when the listener fails.
func serveRelay(spec string) error {
	listen, target, ok := strings.Cut(spec, ",")
	if !ok {
		return fmt.Errorf("-%s wants listen,target; got %q", relayFlag, spec)
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	// Raw system calls on both sides, as bin/stored's connections make.
	l := netx.Listener{Listener: ln}
	for {
		c, err := l.Accept()
		if err != nil {
			return err
		}
		go func() {
			u, err := netx.Dial(context.Background(), &net.Dialer{}, target)
			if err != nil {
				c.Close()
				return
			}
			go pipe(u, c)
			pipe(c, u)
		}()
	}
}

// pipe copies from src to dst until either fails, then closes both.
func pipe(dst, src net.Conn) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// relayProc is a relay process started by startRelay.
type relayProc struct {
	cmd  *exec.Cmd
	addr string
}

// startRelay starts this binary as a relay process in front of target, on
// one Go processor as bin/stored runs by default, and returns once it
// accepts connections.
func startRelay(target string) (*relayProc, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	port, err := testutil.FreePort()
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(self, "-"+relayFlag+"="+addr+","+target)
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start relay: %w", err)
	}
	r := &relayProc{cmd: cmd, addr: addr}
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return r, nil
		}
		if time.Now().After(deadline) {
			r.stop()
			return nil, fmt.Errorf("relay did not accept connections within 10s: %w", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop kills the relay and waits for it.
func (r *relayProc) stop() {
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
}
