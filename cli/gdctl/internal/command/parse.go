package command

import (
	"errors"
	"fmt"
	"net"
	"path"
	"strconv"
	"strings"

	"github.com/glusterd-ng/glusterd-ng/cli/gdctl/internal/rest"
)

// createKeywords are the words of `volume create` that precede the bricks.
var createKeywords = map[string]bool{
	"replica": true, "arbiter": true, "disperse": true, "disperse-data": true, "redundancy": true, "transport": true,
}

// parseBrick parses gluster's HOST:/absolute/path brick syntax.
func parseBrick(s string) (rest.BrickSpec, error) {
	i := strings.Index(s, ":/")
	if i <= 0 {
		return rest.BrickSpec{}, fmt.Errorf("brick %q is not HOST:/absolute/path", s)
	}
	host, dir := s[:i], path.Clean(s[i+1:])
	if strings.ContainsAny(host, " \t/") {
		return rest.BrickSpec{}, fmt.Errorf("brick %q: %q is not a host name or address", s, host)
	}
	if dir == "/" {
		return rest.BrickSpec{}, fmt.Errorf("brick %q: the root directory cannot be a brick", s)
	}
	return rest.BrickSpec{Peer: host, Path: dir}, nil
}

// isBrickSyntax says whether s is meant as HOST:/path rather than a brick id
// (brick ids are UUIDs and never contain a colon).
func isBrickSyntax(s string) bool { return strings.Contains(s, ":") }

// parseCount parses the number after a keyword such as replica.
func parseCount(keyword, s string) (uint32, error) {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("%s count %q is not a positive number", keyword, s)
	}
	return uint32(n), nil
}

// isNumber says whether s is a plain decimal number.
func isNumber(s string) bool {
	_, err := strconv.ParseUint(s, 10, 32)
	return err == nil
}

// parseBricks parses the brick list that ends a create or add-brick, with
// gluster's optional trailing force.
func parseBricks(args []string) (bricks []rest.BrickSpec, force bool, err error) {
	if n := len(args); n > 0 && args[n-1] == "force" {
		force, args = true, args[:n-1]
	}
	if len(args) == 0 {
		return nil, false, errors.New("no bricks given")
	}
	seen := map[rest.BrickSpec]bool{}
	for _, a := range args {
		if a == "force" {
			return nil, false, errors.New("force must come last")
		}
		if createKeywords[a] {
			return nil, false, fmt.Errorf("%s must come before the bricks", a)
		}
		b, err := parseBrick(a)
		if err != nil {
			return nil, false, err
		}
		if seen[b] {
			return nil, false, fmt.Errorf("brick %s:%s is given twice", b.Peer, b.Path)
		}
		seen[b] = true
		bricks = append(bricks, b)
	}
	return bricks, force, nil
}

// parseCreate parses `volume create` arguments the way gluster's CLI does:
//
//	NAME [replica N [arbiter 1]] [disperse [N]] [disperse-data N] [redundancy N]
//	     [transport tcp] HOST:/path... [force]
//
// The keywords come in any order before the bricks. As in gluster,
// `replica 3 arbiter 1` means sets of three bricks whose third is the
// arbiter, and disperse without a count (or redundancy alone) makes one
// disperse set of all the bricks.
func parseCreate(args []string) (rest.CreateVolumeRequest, error) {
	req := rest.CreateVolumeRequest{}
	if len(args) == 0 {
		return req, errors.New("missing the volume name")
	}
	req.Name = args[0]
	if err := checkVolumeName(req.Name); err != nil {
		return req, err
	}
	var (
		seen         = map[string]bool{}
		disperseAll  bool
		disperseData uint32
		i            = 1
	)
	value := func(keyword string) (uint32, error) {
		if i+1 >= len(args) {
			return 0, fmt.Errorf("%s needs a count", keyword)
		}
		return parseCount(keyword, args[i+1])
	}
keywords:
	for i < len(args) {
		keyword := args[i]
		if !createKeywords[keyword] {
			break keywords
		}
		if seen[keyword] {
			return req, fmt.Errorf("%s is given twice", keyword)
		}
		seen[keyword] = true
		var (
			n   uint32
			err error
		)
		switch keyword {
		case "transport":
			if i+1 >= len(args) {
				return req, errors.New("transport needs a type")
			}
			if args[i+1] != "tcp" {
				return req, fmt.Errorf("transport %q is not supported; only tcp is", args[i+1])
			}
			i += 2
			continue
		case "disperse":
			if i+1 >= len(args) || !isNumber(args[i+1]) {
				disperseAll = true
				i++
				continue
			}
		}
		if n, err = value(keyword); err != nil {
			return req, err
		}
		switch keyword {
		case "replica":
			req.ReplicaCount = n
		case "arbiter":
			req.ArbiterCount = n
		case "disperse":
			req.DisperseCount = n
		case "disperse-data":
			disperseData = n
		case "redundancy":
			req.RedundancyCount = n
		}
		i += 2
	}
	bricks, force, err := parseBricks(args[i:])
	if err != nil {
		return req, err
	}
	req.Bricks, req.Force = bricks, force
	return req, checkLayout(&req, seen, disperseAll, disperseData)
}

// checkLayout applies gluster's CLI rules on the counts and fills in the
// disperse count when gluster would derive it.
func checkLayout(req *rest.CreateVolumeRequest, seen map[string]bool, disperseAll bool, disperseData uint32) error {
	total := uint32(len(req.Bricks))
	dispersed := seen["disperse"] || seen["disperse-data"] || seen["redundancy"]
	if seen["replica"] && dispersed {
		return errors.New("replica cannot be combined with disperse, disperse-data or redundancy")
	}
	if seen["arbiter"] && (req.ReplicaCount != 3 || req.ArbiterCount != 1) {
		return errors.New("an arbiter volume needs replica 3 arbiter 1 (the third brick of each set is the arbiter)")
	}
	if seen["replica"] && total%req.ReplicaCount != 0 {
		return fmt.Errorf("number of bricks (%d) is not a multiple of replica count (%d)", total, req.ReplicaCount)
	}
	if !dispersed {
		return nil
	}
	if seen["disperse-data"] {
		if !seen["redundancy"] {
			return errors.New("disperse-data needs redundancy")
		}
		n := disperseData + req.RedundancyCount
		if req.DisperseCount != 0 && req.DisperseCount != n {
			return fmt.Errorf("disperse count (%d) is not disperse-data + redundancy (%d)", req.DisperseCount, n)
		}
		req.DisperseCount = n
	}
	if disperseAll || req.DisperseCount == 0 {
		req.DisperseCount = total
	}
	if req.DisperseCount < 3 {
		return fmt.Errorf("disperse count must be at least 3, not %d", req.DisperseCount)
	}
	if req.RedundancyCount > 0 && req.DisperseCount <= 2*req.RedundancyCount {
		return fmt.Errorf("redundancy must be less than %d for a disperse %d volume", (req.DisperseCount+1)/2, req.DisperseCount)
	}
	if total%req.DisperseCount != 0 {
		return fmt.Errorf("number of bricks (%d) is not a multiple of disperse count (%d)", total, req.DisperseCount)
	}
	return nil
}

// parseAddBrick parses `volume add-brick NAME [replica N] HOST:/path... [force]`.
func parseAddBrick(args []string) (string, rest.AddBricksRequest, error) {
	req := rest.AddBricksRequest{}
	if len(args) == 0 {
		return "", req, errors.New("missing the volume name")
	}
	name, tail := args[0], args[1:]
	if err := checkVolumeName(name); err != nil {
		return "", req, err
	}
	if len(tail) > 0 && tail[0] == "replica" {
		if len(tail) < 2 {
			return "", req, errors.New("replica needs a count")
		}
		n, err := parseCount("replica", tail[1])
		if err != nil {
			return "", req, err
		}
		req.ReplicaCount, tail = n, tail[2:]
	}
	if len(tail) > 0 && createKeywords[tail[0]] {
		return "", req, fmt.Errorf("%s is not supported by add-brick", tail[0])
	}
	bricks, force, err := parseBricks(tail)
	if err != nil {
		return "", req, err
	}
	if req.ReplicaCount > 0 && uint32(len(bricks))%req.ReplicaCount != 0 {
		return "", req, fmt.Errorf("number of bricks (%d) is not a multiple of replica count (%d)", len(bricks), req.ReplicaCount)
	}
	req.Bricks, req.Force = bricks, force
	return name, req, nil
}

// checkVolumeName rejects names that cannot be a volume (most often a brick
// given where the name belongs); the server applies the full rules.
func checkVolumeName(name string) error {
	switch {
	case name == "":
		return errors.New("the volume name is empty")
	case strings.ContainsAny(name, "/ \t"):
		return fmt.Errorf("%q is not a volume name", name)
	case strings.HasPrefix(name, "-"):
		return fmt.Errorf("volume name %q must not start with -", name)
	}
	return nil
}

// checkPeerAddress checks "host[:port]" for peer probe.
func checkPeerAddress(s string) error {
	bad := func(why string) error { return fmt.Errorf("%q is not HOST[:PORT]: %s", s, why) }
	if s == "" || strings.ContainsAny(s, " \t/") {
		return bad("empty or contains a space or /")
	}
	switch {
	case strings.HasPrefix(s, "["):
		if strings.HasSuffix(s, "]") {
			return nil
		}
	case strings.Count(s, ":") != 1:
		return nil // a host name or a bare IPv6 address
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return bad(err.Error())
	}
	if host == "" {
		return bad("no host")
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return bad(fmt.Sprintf("port %q is not a number from 1 to 65535", port))
	}
	return nil
}

// cleanPath normalises a brick path the way parseBrick does.
func cleanPath(p string) string { return path.Clean(p) }
