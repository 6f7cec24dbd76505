package volgen

import (
	"bytes"
	"strings"

	commonv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/common/v1"
)

// xlator is one `volume … end-volume` block of a volfile.
type xlator struct {
	name    string
	typ     string
	keys    []string
	values  map[string]string
	subvols []*xlator
}

// newXlator returns an empty block of type typ named name.
func newXlator(name, typ string, subvols ...*xlator) *xlator {
	return &xlator{name: name, typ: typ, values: map[string]string{}, subvols: subvols}
}

// set writes one option. A new key goes to the top of the block, an existing
// key keeps its line and only changes value: the volfiles glusterd writes
// list each block's options newest first.
func (x *xlator) set(key, value string) {
	if _, ok := x.values[key]; !ok {
		x.keys = append(x.keys, key)
	}
	x.values[key] = value
}

// graph is a volfile: its blocks bottom-up, the last one being the top.
type graph struct {
	xlators []*xlator
}

// add appends x as the new top of the graph and returns it.
func (g *graph) add(x *xlator) *xlator {
	g.xlators = append(g.xlators, x)
	return x
}

// top returns the topmost block.
func (g *graph) top() *xlator {
	return g.xlators[len(g.xlators)-1]
}

// render writes the graph in volfile syntax: four-space indent, options newest
// first, one blank line between blocks.
func (g *graph) render() []byte {
	var b bytes.Buffer
	for i, x := range g.xlators {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString("volume " + x.name + "\n")
		b.WriteString("    type " + x.typ + "\n")
		for j := len(x.keys) - 1; j >= 0; j-- {
			k := x.keys[j]
			b.WriteString("    option " + k + " " + x.values[k] + "\n")
		}
		if len(x.subvols) > 0 {
			names := make([]string, len(x.subvols))
			for j, s := range x.subvols {
				names[j] = s.name
			}
			b.WriteString("    subvolumes " + strings.Join(names, " ") + "\n")
		}
		b.WriteString("end-volume\n")
	}
	return b.Bytes()
}

// graphKind names the volfile being built; it decides which table rows apply.
type graphKind int

const (
	clientGraph graphKind = iota
	brickGraph
	shdGraph
	// nodeShdGraph is one volume's part of the node-wide self-heal graph:
	// shdGraph, except that the volume's own self-heal-daemon switch is
	// honoured (see NodeSelfHeal).
	nodeShdGraph
)

// shdValues are the values the self-heal daemon's graph always carries for
// these keys, whatever the volume sets: the daemon heals every kind of entry
// itself and must not queue background heals. In the node-wide graph the
// keys of shdSwitches take the volume's value when it sets one.
var shdValues = map[string]string{
	"cluster.background-self-heal-count": "0",
	"cluster.metadata-self-heal":         "on",
	"cluster.data-self-heal":             "on",
	"cluster.entry-self-heal":            "on",
	"cluster.self-heal-daemon":           "enable",
	"cluster.disperse-self-heal-daemon":  "enable",
}

// shdSwitches turn a volume's healing in the self-heal daemon on and off.
var shdSwitches = map[string]bool{
	"cluster.self-heal-daemon":          true,
	"cluster.disperse-self-heal-daemon": true,
}

// applyOptions walks the option table in order and writes each option that
// is set on the volume (or that glusterd always writes) into every block of
// its xlator type. brickPath fills "{brick}" in option names.
func applyOptions(g *graph, vol *commonv1.Volume, kind graphKind, brickPath string) {
	for _, o := range optionTable {
		if o.Kind != KindXlatorOption || !o.appliesTo(kind) {
			continue
		}
		value, ok := vol.GetOptions()[o.Key]
		selfHeal := kind == shdGraph || kind == nodeShdGraph
		if selfHeal && !(kind == nodeShdGraph && ok && shdSwitches[o.Key]) {
			if v, forced := shdValues[o.Key]; forced {
				value, ok = v, true
			}
		}
		if !ok {
			if !o.Forced {
				continue
			}
			value = o.Default
		}
		name := strings.ReplaceAll(o.Name, "{brick}", brickPath)
		for _, x := range g.xlators {
			if !o.matches(x.typ) {
				continue
			}
			// The self-heal daemon's io-stats keeps its own log level and thread count.
			if selfHeal && x.typ == "debug/io-stats" {
				continue
			}
			x.set(name, quoteValue(value))
		}
	}
}

// appliesTo reports whether the option belongs in a graph of this kind.
func (o Option) appliesTo(kind graphKind) bool {
	switch kind {
	case brickGraph:
		return o.Side == SideBrick || o.Side == SideBoth
	default:
		return o.Side == SideClient || o.Side == SideBoth
	}
}

// matches reports whether the option targets blocks of type typ.
func (o Option) matches(typ string) bool {
	if strings.HasSuffix(o.Xlator, "/*") {
		return strings.HasPrefix(typ, strings.TrimSuffix(o.Xlator, "*"))
	}
	return o.Xlator == typ
}

// quoteValue double-quotes a value that contains whitespace, as the volfile
// parser requires; plain values are written as they are.
func quoteValue(v string) string {
	if v != "" && !strings.ContainsAny(v, " \t") {
		return v
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v) + `"`
}
