package layout

import (
	"slices"
	"strings"

	"github.com/glusterd-ng/glusterd-ng/libs/errs"
)

// MaxNameLen is the longest volume name, the store's limit for any name.
const MaxNameLen = 64

// reservedNames are the words the gluster CLI refuses as a volume name
// (they are keywords of volfiles and of its own command line).
var reservedNames = []string{
	"all", "volume", "type", "subvolumes", "option", "end-volume",
	"volume_not_in_ring", "description", "force", "snap-max-hard-limit",
	"snap-max-soft-limit", "auto-delete", "activate-on-create",
}

// ValidateVolumeName checks a new volume's name against the store's name
// rules (1-64 characters, no leading '-') narrowed to what GlusterFS accepts:
// letters, digits, '_' and '-' only, and none of gluster's reserved words.
// The error is about the request field "name".
func ValidateVolumeName(name string) error {
	const field = "name"
	switch {
	case name == "":
		return errs.InvalidField(field, "must not be empty")
	case len(name) > MaxNameLen:
		return errs.InvalidField(field, "is %d characters long; the limit is %d", len(name), MaxNameLen)
	case strings.Contains(name, "."):
		return errs.InvalidField(field, "%q contains '.'; volume names must not", name)
	case strings.IndexFunc(name, func(r rune) bool { return !isNameChar(r) }) >= 0:
		return errs.InvalidField(field, "%q has characters outside [A-Za-z0-9_-]", name)
	case strings.HasPrefix(name, "-"):
		return errs.InvalidField(field, "%q must not start with \"-\"", name)
	case slices.Contains(reservedNames, name):
		return errs.InvalidField(field, "%q is a word reserved by GlusterFS and cannot be the name of a volume", name)
	}
	return nil
}

// isNameChar reports whether r may appear in a volume name.
func isNameChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-'
}
