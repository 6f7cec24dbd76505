package command

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/glusterd-ng/glusterd-ng/cli/gdctl/internal/rest"
)

// statusRule is the line under gluster's volume status header.
var statusRule = strings.Repeat("-", 78)

// outWriter writes formatted output and keeps the first write error, so
// the formatters read as plain prints.
type outWriter struct {
	w   io.Writer
	err error
}

func (o *outWriter) printf(format string, args ...any) {
	if o.err == nil {
		_, o.err = fmt.Fprintf(o.w, format, args...)
	}
}

// table runs fill on a tab-aligned writer and flushes it.
func (o *outWriter) table(fill func(t *outWriter)) {
	tw := tabwriter.NewWriter(o.w, 0, 8, 2, ' ', 0)
	t := &outWriter{w: tw}
	fill(t)
	if t.err == nil {
		t.err = tw.Flush()
	}
	if o.err == nil {
		o.err = t.err
	}
}

// writeOut runs a formatter on w and reports a write error as a failure of what.
func writeOut(what string, w io.Writer, format func(w *outWriter)) error {
	o := &outWriter{w: w}
	format(o)
	if o.err != nil {
		return fail(what, fmt.Errorf("write output: %w", o.err))
	}
	return nil
}

// peerState names a peer state as gluster does.
func peerState(state string) string {
	switch state {
	case "CONNECTED":
		return "Connected"
	case "DISCONNECTED":
		return "Disconnected"
	}
	return "Unknown"
}

// peerHostname is the name gluster shows for a peer.
func peerHostname(p rest.Peer) string {
	if p.Name != "" {
		return p.Name
	}
	if len(p.Addresses) > 0 {
		return p.Addresses[0]
	}
	return p.ID
}

// writePeerStatus prints the pool as `gluster peer status` does.
func writePeerStatus(w *outWriter, peers []rest.Peer) {
	w.printf("Number of Peers: %d\n", len(peers))
	for _, p := range peers {
		name := peerHostname(p)
		w.printf("\nHostname: %s\nUuid: %s\nState: Peer in Cluster (%s)\n", name, p.ID, peerState(p.State))
		var others []string
		for _, addr := range p.Addresses {
			if addr != name {
				others = append(others, addr)
			}
		}
		if len(others) > 0 {
			w.printf("Other names:\n")
			for _, o := range others {
				w.printf("%s\n", o)
			}
		}
	}
}

// writePoolList prints the pool as `gluster pool list` does.
func writePoolList(w *outWriter, peers []rest.Peer) {
	w.table(func(t *outWriter) {
		t.printf("UUID\tHostname\tState\n")
		for _, p := range peers {
			t.printf("%s\t%s\t%s\n", p.ID, peerHostname(p), peerState(p.State))
		}
	})
}

// volumeTypes are gluster's names of the volume types.
var volumeTypes = map[string]string{
	"DISTRIBUTE":            "Distribute",
	"REPLICATE":             "Replicate",
	"DISPERSE":              "Disperse",
	"DISTRIBUTED_REPLICATE": "Distributed-Replicate",
	"DISTRIBUTED_DISPERSE":  "Distributed-Disperse",
}

// volumeStates are gluster's names of the volume states.
var volumeStates = map[string]string{
	"CREATED": "Created",
	"STARTED": "Started",
	"STOPPED": "Stopped",
}

// displayName looks s up in names and falls back to s itself.
func displayName(names map[string]string, s string) string {
	if n, ok := names[s]; ok {
		return n
	}
	if s == "" {
		return "N/A"
	}
	return s
}

// brickCount is gluster's "Number of Bricks" value: "2 x 3 = 6",
// "1 x (2 + 1) = 3" for arbiter and disperse sets, "3" for distribute.
func brickCount(v rest.Volume) string {
	total := uint32(len(v.Bricks()))
	switch {
	case v.ReplicaCount > 1:
		sets := total / v.ReplicaCount
		if v.ArbiterCount > 0 && v.ArbiterCount < v.ReplicaCount {
			return fmt.Sprintf("%d x (%d + %d) = %d", sets, v.ReplicaCount-v.ArbiterCount, v.ArbiterCount, total)
		}
		return fmt.Sprintf("%d x %d = %d", sets, v.ReplicaCount, total)
	case v.DisperseCount > 0:
		sets := total / v.DisperseCount
		return fmt.Sprintf("%d x (%d + %d) = %d", sets, v.DisperseCount-v.RedundancyCount, v.RedundancyCount, total)
	}
	return fmt.Sprintf("%d", total)
}

// writeVolumeInfo prints volumes as `gluster volume info` does.
func writeVolumeInfo(w *outWriter, vols []rest.Volume) {
	for _, v := range vols {
		transport := v.Transport
		if transport == "" {
			transport = "tcp"
		}
		w.printf("\nVolume Name: %s\nType: %s\nVolume ID: %s\nStatus: %s\nNumber of Bricks: %s\nTransport-type: %s\nBricks:\n",
			v.Name, displayName(volumeTypes, v.Type), v.ID, displayName(volumeStates, v.State), brickCount(v), transport)
		for i, b := range v.Bricks() {
			arbiter := ""
			if b.Arbiter {
				arbiter = " (arbiter)"
			}
			w.printf("Brick%d: %s:%s%s\n", i+1, b.Host, b.Path, arbiter)
		}
		if len(v.Options) > 0 {
			w.printf("Options Reconfigured:\n")
			keys := make([]string, 0, len(v.Options))
			for k := range v.Options {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				w.printf("%s: %s\n", k, v.Options[k])
			}
		}
	}
}

// writeVolumeStatus prints one volume's processes as `gluster volume status`
// does; hosts names the peers of the self-heal daemons by id.
func writeVolumeStatus(w *outWriter, st rest.VolumeStatus, hosts map[string]string) {
	w.printf("Status of volume: %s\n", st.Volume)
	if st.State != "" && st.State != "STARTED" {
		w.printf("Volume %s is not started\n", st.Volume)
	}
	// The rule goes under the header after alignment: a line without cells
	// would split tabwriter's columns.
	var table strings.Builder
	tw := &outWriter{w: &table}
	tw.table(func(t *outWriter) {
		t.printf("Gluster process\tTCP Port\tOnline\tPid\n")
		for _, b := range st.Bricks {
			t.printf("Brick %s:%s\t%s\t%s\t%s\n", b.Host, b.Path, orNA(b.Port), yesNo(b.Online), orNA(b.Pid))
		}
		for _, d := range st.SelfHealDaemons {
			host := hosts[d.PeerID]
			if host == "" {
				host = d.PeerID
			}
			t.printf("Self-heal Daemon on %s\tN/A\t%s\t%s\n", host, yesNo(d.Online), orNA(d.Pid))
		}
	})
	header, rows, _ := strings.Cut(table.String(), "\n")
	w.printf("%s\n%s\n%s", strings.TrimRight(header, " "), statusRule, rows)
	w.printf("\n")
}

// writeOptions prints options as `gluster volume get` does.
func writeOptions(w *outWriter, opts []rest.VolumeOption) {
	w.table(func(t *outWriter) {
		t.printf("Option\tValue\n")
		t.printf("------\t-----\n")
		for _, o := range opts {
			value := o.Value
			if value == "" {
				value = "(null)"
			}
			t.printf("%s\t%s\n", o.Key, value)
		}
	})
}

// orNA prints a port or pid, N/A for none.
func orNA(n int32) string {
	if n <= 0 {
		return "N/A"
	}
	return fmt.Sprintf("%d", n)
}

// yesNo prints gluster's Online column.
func yesNo(b bool) string {
	if b {
		return "Y"
	}
	return "N"
}
