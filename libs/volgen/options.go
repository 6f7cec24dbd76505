package volgen

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/glusterd-ng/glusterd-ng/libs/errs"
)

// ValueType is the form a volume option's value takes.
type ValueType int

// The value types of volume options.
const (
	// TypeString is free text.
	TypeString ValueType = iota
	// TypeBool is on/off, yes/no, true/false, enable/disable or 1/0.
	TypeBool
	// TypeInt is a whole number.
	TypeInt
	// TypeSize is a byte count with an optional unit (KB, MB, GB, TB, PB).
	TypeSize
	// TypePercent is a number with an optional trailing %.
	TypePercent
	// TypeTime is a number of seconds with an optional unit (s, m, h, d).
	TypeTime
	// TypeEnum is one word out of Option.Allowed.
	TypeEnum
)

// String returns the value type's name.
func (t ValueType) String() string {
	switch t {
	case TypeBool:
		return "bool"
	case TypeInt:
		return "int"
	case TypeSize:
		return "size"
	case TypePercent:
		return "percent"
	case TypeTime:
		return "time"
	case TypeEnum:
		return "enum"
	default:
		return "string"
	}
}

// Side says which volfiles an option is written into.
type Side int

// The sides an option can apply to.
const (
	// SideGlusterd options steer the management plane and are never written into a volfile.
	SideGlusterd Side = iota
	// SideClient options go into client graphs (FUSE/gfapi client and self-heal daemon).
	SideClient
	// SideBrick options go into brick volfiles.
	SideBrick
	// SideBoth options go into client and brick volfiles.
	SideBoth
	// SideNFS options go only into the gNFS server graph, which volgen does not generate.
	SideNFS
	// SideDaemon options go into other daemons' graphs (bitd, scrubber, rebalance, shd log level).
	SideDaemon
)

// String returns the side's name.
func (s Side) String() string {
	switch s {
	case SideClient:
		return "client"
	case SideBrick:
		return "brick"
	case SideBoth:
		return "both"
	case SideNFS:
		return "nfs"
	case SideDaemon:
		return "daemon"
	default:
		return "glusterd"
	}
}

// Kind says how an option acts on the volfiles.
type Kind int

// The kinds of option.
const (
	// KindXlatorOption is written as `option <Name> <value>` into every Xlator block of its side.
	KindXlatorOption Kind = iota
	// KindToggle adds or removes the Xlator from the graph; it writes no option line.
	KindToggle
	// KindManagement is read by the management plane only.
	KindManagement
	// KindUnmapped has a target xlator that is not verified; volgen never writes it.
	KindUnmapped
)

// String returns the kind's name.
func (k Kind) String() string {
	switch k {
	case KindToggle:
		return "toggle"
	case KindManagement:
		return "management"
	case KindUnmapped:
		return "unmapped"
	default:
		return "xlator-option"
	}
}

// Range bounds a numeric option value (bytes for sizes, seconds for times).
type Range struct {
	// Min is the smallest value allowed.
	Min int64
	// Max is the largest value allowed unless NoMax is set.
	Max int64
	// NoMax means there is no upper bound.
	NoMax bool
}

// Option describes one volume option key as `gluster volume set` accepts it.
type Option struct {
	// Key is the name glusterd uses, e.g. "performance.cache-size".
	Key string
	// Xlator is the xlator type the option is written into, e.g. "performance/quick-read";
	// "protocol/*" means both protocol/client and protocol/server.
	Xlator string
	// Name is the option name inside the xlator block; "{brick}" stands for the brick path.
	Name string
	// Kind says whether the option is written, toggles an xlator, or is management only.
	Kind Kind
	// Type is the form of the value.
	Type ValueType
	// Default is the value `gluster volume get` shows when the key is not set ("" for none).
	Default string
	// Allowed lists the accepted words of an enum.
	Allowed []string
	// Range bounds numeric values; nil means any value of the type.
	Range *Range
	// Side says which volfiles the option goes into.
	Side Side
	// Forced means glusterd writes Default into the volfile even when the key is not set.
	Forced bool
}

// Options returns a copy of the whole option table in glusterd's order; a key
// that drives two xlators (performance.cache-size) has two rows.
func Options() []Option {
	return slices.Clone(optionTable)
}

// Lookup returns the first table row for key.
func Lookup(key string) (Option, bool) {
	for _, o := range optionTable {
		if o.Key == key {
			return o, true
		}
	}
	return Option{}, false
}

// LookupAll returns every table row for key (two for keys that drive two xlators).
func LookupAll(key string) []Option {
	var rows []Option
	for _, o := range optionTable {
		if o.Key == key {
			rows = append(rows, o)
		}
	}
	return rows
}

// Validate checks that key is a known option and value has the form it accepts.
func Validate(key, value string) error {
	o, ok := Lookup(key)
	if !ok {
		msg := fmt.Sprintf("unknown volume option %q", key)
		if s := Suggest(key); len(s) > 0 {
			msg += "; did you mean " + quoteList(s) + "?"
		}
		return &errs.Error{Kind: errs.Invalid, Field: key, Message: msg}
	}
	if err := o.check(value); err != nil {
		return &errs.Error{Kind: errs.Invalid, Field: key,
			Message: fmt.Sprintf("invalid value %q for volume option %q: %s", value, key, err.Error())}
	}
	return nil
}

// check returns why value does not fit the option, or nil.
func (o Option) check(value string) error {
	switch o.Type {
	case TypeBool:
		if _, ok := parseBool(value); !ok {
			return fmt.Errorf("want a boolean (on/off, yes/no, true/false, enable/disable, 1/0)")
		}
	case TypeEnum:
		for _, a := range o.Allowed {
			if strings.EqualFold(a, value) {
				return nil
			}
		}
		return fmt.Errorf("want one of %s", strings.Join(o.Allowed, ", "))
	case TypeInt:
		n, err := strconv.ParseInt(value, 0, 64)
		if err != nil {
			return fmt.Errorf("want an integer%s", o.rangeText(""))
		}
		return o.inRange(n, "")
	case TypeSize:
		n, ok := parseSize(value)
		if !ok {
			return fmt.Errorf("want a size such as 4096, 64KB or 32MB%s", o.rangeText(" bytes"))
		}
		return o.inRange(n, " bytes")
	case TypePercent:
		p, ok := parsePercent(value)
		if !ok {
			return fmt.Errorf("want a percentage such as 10%% or 10%s", o.rangeText(""))
		}
		return o.inRange(int64(math.Ceil(p)), "")
	case TypeTime:
		n, ok := parseTime(value)
		if !ok {
			return fmt.Errorf("want a time in seconds, optionally with unit s, m, h or d%s", o.rangeText(" s"))
		}
		return o.inRange(n, " s")
	}
	if strings.ContainsAny(value, "\n\"") {
		return fmt.Errorf("want text without newlines or double quotes")
	}
	return nil
}

// rangeText describes the allowed range, or returns "".
func (o Option) rangeText(unit string) string {
	if o.Range == nil {
		return ""
	}
	if o.Range.NoMax {
		return fmt.Sprintf(" of at least %d%s", o.Range.Min, unit)
	}
	return fmt.Sprintf(" between %d and %d%s", o.Range.Min, o.Range.Max, unit)
}

// inRange checks n against the option's range.
func (o Option) inRange(n int64, unit string) error {
	if o.Range == nil {
		return nil
	}
	if n < o.Range.Min || (!o.Range.NoMax && n > o.Range.Max) {
		return fmt.Errorf("want a value%s", o.rangeText(unit))
	}
	return nil
}

// parseBool reads the boolean spellings GlusterFS accepts.
func parseBool(v string) (bool, bool) {
	switch strings.ToLower(v) {
	case "on", "yes", "true", "enable", "1":
		return true, true
	case "off", "no", "false", "disable", "0":
		return false, true
	}
	return false, false
}

// parseSize reads a byte size with an optional KB/MB/GB/TB/PB unit (B optional, any case).
func parseSize(v string) (int64, bool) {
	s := strings.ToUpper(strings.TrimSpace(v))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30}, {"TB", 1 << 40}, {"PB", 1 << 50},
		{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"T", 1 << 40}, {"P", 1 << 50}, {"B", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	return int64(n * float64(mult)), true
}

// parsePercent reads a percentage with an optional trailing %.
func parsePercent(v string) (float64, bool) {
	n, err := strconv.ParseFloat(strings.TrimSuffix(v, "%"), 64)
	return n, err == nil
}

// parseTime reads seconds with an optional s/m/h/d unit.
func parseTime(v string) (int64, bool) {
	mult := int64(1)
	s := strings.ToLower(v)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"s", 1}, {"m", 60}, {"h", 3600}, {"d", 86400}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, false
	}
	return n * mult, true
}

// Suggest returns up to five known keys close to key: same last word, shared
// prefix, or a small edit distance, best first.
func Suggest(key string) []string {
	type cand struct {
		key   string
		score int
	}
	seen := map[string]bool{}
	var cands []cand
	lk := strings.ToLower(key)
	last := lk[strings.LastIndex(lk, ".")+1:]
	for _, o := range optionTable {
		if seen[o.Key] {
			continue
		}
		seen[o.Key] = true
		d := editDistance(lk, o.Key)
		limit := max(2, len(lk)/4)
		switch {
		case d <= limit:
		case last != "" && strings.HasSuffix(o.Key, "."+last):
			d = limit + 1
		case len(lk) >= 4 && strings.HasPrefix(o.Key, lk):
			d = limit + 2
		default:
			continue
		}
		cands = append(cands, cand{o.Key, d})
	}
	slices.SortStableFunc(cands, func(a, b cand) int { return a.score - b.score })
	var out []string
	for _, c := range cands {
		if len(out) == 5 {
			break
		}
		out = append(out, c.key)
	}
	return out
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// quoteList renders keys as "a", "b" or "c".
func quoteList(keys []string) string {
	q := make([]string, len(keys))
	for i, k := range keys {
		q[i] = strconv.Quote(k)
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

// effective returns the option's value in opts: the set value,
// or the default when the key is not set.
func effective(opts map[string]string, o Option) string {
	if v, ok := opts[o.Key]; ok {
		return v
	}
	return o.Default
}

// enabled reports whether a boolean option is on in opts (set value or default).
func enabled(opts map[string]string, key string) bool {
	o, ok := Lookup(key)
	if !ok {
		return false
	}
	b, _ := parseBool(effective(opts, o))
	return b
}
