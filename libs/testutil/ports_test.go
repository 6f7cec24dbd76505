package testutil

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

const portsChildEnv = "TESTUTIL_PORTS_CHILD"

func TestMain(m *testing.M) {
	if n, _ := strconv.Atoi(os.Getenv(portsChildEnv)); n > 0 {
		// A second test process: reserve n ports, print them, hold them
		// until stdin closes.
		for range n {
			p, err := FreePort()
			if err != nil {
				os.Exit(2)
			}
			fmt.Println(p)
		}
		_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
		return
	}
	os.Exit(m.Run())
}

// Ports are never handed out twice, in one process or across processes,
// and never from the kernel's ephemeral range or the system's own ports.
func TestFreePortsAreNeverSharedAndNotEphemeral(t *testing.T) {
	const n = 200
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), portsChildEnv+"="+strconv.Itoa(n))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); cmd.Wait() }()

	seen := map[int]string{}
	r := bufio.NewScanner(out)
	for range n {
		if !r.Scan() {
			t.Fatalf("the child process printed fewer than %d ports", n)
		}
		p, _ := strconv.Atoi(strings.TrimSpace(r.Text()))
		seen[p] = "the other process"
	}
	for i := range n {
		p, err := FreePort()
		if err != nil {
			t.Fatal(err)
		}
		if who, dup := seen[p]; dup {
			t.Fatalf("port %d handed out again (#%d), first to %s", p, i, who)
		}
		seen[p] = "this process"
	}
	low := ephemeralLow()
	for p := range seen {
		if p >= low || (p >= reservedLo && p < reservedHi) || p < 1024 {
			t.Errorf("port %d is in the ephemeral range (from %d) or among the system's own", p, low)
		}
	}
	if len(seen) != 2*n {
		t.Fatalf("%d distinct ports, want %d", len(seen), 2*n)
	}
}
