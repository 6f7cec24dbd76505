package supervisor

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// record is what the supervisor keeps on disk for each process it runs, so
// that a later run can find and adopt it: the pid together with the exact
// command line, checked against /proc before the pid is trusted.
type record struct {
	Name        string    `json:"name"`
	PID         int       `json:"pid"`
	Argv        []string  `json:"argv"`
	Fingerprint string    `json:"fingerprint"`
	Port        int       `json:"port,omitempty"`
	LogFile     string    `json:"log_file,omitempty"`
	Restarts    uint32    `json:"restarts"`
	StartedAt   time.Time `json:"started_at"`
}

// process is one running daemon, started by this run or adopted.
type process struct {
	rec     record
	exited  chan struct{} // closed when the process has ended
	exit    string        // how it ended, set before exited is closed
	adopted bool
}

// start launches l in its own process group (so that a terminal's Ctrl-C
// or the supervisor's death does not reach it), its output appended to
// l.OutFile, and reaps it when it ends.
func start(l Launch) (*process, error) {
	for _, f := range []string{l.OutFile, l.LogFile, l.PidFile} {
		if f != "" {
			if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
				return nil, fmt.Errorf("create the directory of %s: %w", f, err)
			}
		}
	}
	out := (*os.File)(nil)
	if l.OutFile != "" {
		f, err := os.OpenFile(l.OutFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", l.OutFile, err)
		}
		defer f.Close()
		out = f
	}
	cmd := exec.Command(l.Path, l.Args...)
	if out != nil {
		cmd.Stdout, cmd.Stderr = out, out
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", l.Path, err)
	}
	p := &process{
		rec: record{PID: cmd.Process.Pid, Argv: append([]string{l.Path}, l.Args...), Port: l.Port,
			LogFile: l.LogFile, StartedAt: time.Now().UTC()},
		exited: make(chan struct{}),
	}
	go func() {
		err := cmd.Wait()
		p.exit = describeExit(cmd.ProcessState, err)
		close(p.exited)
	}()
	return p, nil
}

// describeExit says how a child ended, for people ("exit status 1",
// "killed by signal 9").
func describeExit(st *os.ProcessState, err error) string {
	if st == nil {
		return err.Error()
	}
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return fmt.Sprintf("killed by signal %d (%s)", int(ws.Signal()), ws.Signal())
	}
	return fmt.Sprintf("exit status %d", st.ExitCode())
}

// adopt takes over a process a previous run started, if rec's pid still
// runs rec's exact command line; it then watches /proc for its end (it is
// not our child, so it cannot be waited for).
func adopt(rec record, poll time.Duration) (*process, bool) {
	if !matches(rec.PID, rec.Argv) {
		return nil, false
	}
	p := &process{rec: rec, exited: make(chan struct{}), adopted: true}
	go func() {
		t := time.NewTicker(poll)
		defer t.Stop()
		for range t.C {
			if !matches(rec.PID, rec.Argv) {
				p.exit = "exited (adopted process, status unknown)"
				close(p.exited)
				return
			}
		}
	}()
	return p, true
}

// matches reports whether pid is alive (not a zombie) and runs exactly argv.
func matches(pid int, argv []string) bool {
	if pid <= 0 {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name, which may itself hold ")".
	if i := bytes.LastIndexByte(stat, ')'); i < 0 || i+2 >= len(stat) || stat[i+2] == 'Z' || stat[i+2] == 'X' {
		return false
	}
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || len(raw) == 0 {
		return false
	}
	return slices.Equal(strings.Split(strings.TrimSuffix(string(raw), "\x00"), "\x00"), argv)
}

// signal sends sig to the process, ignoring one that has already gone.
func (p *process) signal(sig syscall.Signal) {
	if err := syscall.Kill(p.rec.PID, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return
	}
}

// stop sends SIGTERM, then SIGKILL when the process has not ended within
// grace, and waits for the end.
func (p *process) stop(grace time.Duration) {
	p.signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		return
	case <-time.After(grace):
	}
	p.signal(syscall.SIGKILL)
	<-p.exited
}

// records reads every process record in dir; unreadable ones are removed.
func records(dir string) []record {
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	var out []record
	for _, f := range files {
		var r record
		data, err := os.ReadFile(f)
		if err != nil || json.Unmarshal(data, &r) != nil || r.Name == "" {
			os.Remove(f)
			continue
		}
		out = append(out, r)
	}
	return out
}

// writeRecord stores r atomically as dir/<name>.json.
func writeRecord(dir string, r record) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, "."+r.Name+".tmp")
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, r.Name+".json"))
}

// removeRecord deletes name's record.
func removeRecord(dir, name string) {
	os.Remove(filepath.Join(dir, name+".json"))
}
