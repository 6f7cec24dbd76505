// Package brick prepares brick directories on this node the way GlusterFS
// needs them, refusing the layouts that lose data, and undoes or cleans up
// that preparation.
package brick

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/google/uuid"
	"golang.org/x/sys/unix"

	"github.com/glusterd-ng/glusterd-ng/libs/errs"
)

// The extended attributes GlusterFS keeps on a brick root.
const (
	// VolumeIDXattr holds the volume's UUID as 16 raw bytes.
	VolumeIDXattr = "trusted.glusterfs.volume-id"
	// GfidXattr is the root gfid a brick gets once it has served.
	GfidXattr  = "trusted.gfid"
	probeXattr = "trusted.glusterfs.test"
	// metaDir is the brick's GlusterFS metadata directory.
	metaDir = ".glusterfs"
)

// Request is one brick to prepare.
type Request struct {
	// VolumeID is the volume's UUID.
	VolumeID string
	// Path is the absolute, clean brick directory.
	Path string
	// CreateDir allows creating the directory and missing parents.
	CreateDir bool
	// Force allows a brick on the root filesystem.
	Force bool
	// Others are the paths of every other brick of any volume on this node.
	Others []string
}

// checkPath refuses a relative or unclean path.
func checkPath(p string) error {
	switch {
	case p == "":
		return errs.InvalidField("brick_path", "must not be empty")
	case !filepath.IsAbs(p):
		return errs.InvalidField("brick_path", "%q is not an absolute path", p)
	case filepath.Clean(p) != p:
		return errs.InvalidField("brick_path", "%q is not clean (write it as %q)", p, filepath.Clean(p))
	case p == "/":
		return errs.InvalidField("brick_path", "the root directory cannot be a brick")
	}
	return nil
}

// within reports whether p is q or lies under it.
func within(p, q string) bool { return p == q || strings.HasPrefix(p, strings.TrimSuffix(q, "/")+"/") }

// nearestExisting returns p or its closest ancestor that exists.
func nearestExisting(p string) string {
	for {
		if _, err := os.Lstat(p); err == nil || p == "/" {
			return p
		}
		p = filepath.Dir(p)
	}
}

func device(p string) (uint64, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(p, &st); err != nil {
		return 0, err
	}
	return uint64(st.Dev), nil
}

// Prepare checks the brick and marks it with the volume id: it refuses a
// path nested in or around another brick, a directory on the root
// filesystem (unless forced), one that already belongs to a volume (its own
// or a parent's volume-id or gfid), a missing directory unless creation is
// allowed, and a filesystem without trusted extended attributes. It reports
// whether it created the directory.
func Prepare(r Request) (created bool, err error) {
	id, err := target(r.VolumeID, r.Path)
	if err != nil {
		return false, err
	}
	for _, o := range r.Others {
		switch {
		case o == r.Path:
			return false, errs.New(errs.Precondition, "brick %s is already a brick of another volume", r.Path)
		case within(r.Path, o):
			return false, errs.New(errs.Precondition, "brick %s is inside brick %s; bricks must not nest", r.Path, o)
		case within(o, r.Path):
			return false, errs.New(errs.Precondition, "brick %s contains brick %s; bricks must not nest", r.Path, o)
		}
	}
	if !r.Force {
		rootDev, err := device("/")
		if err != nil {
			return false, errs.Wrap(errs.Internal, err, "cannot stat /")
		}
		dev, err := device(nearestExisting(r.Path))
		if err != nil {
			return false, errs.Wrap(errs.Internal, err, "cannot stat %s", r.Path)
		}
		if dev == rootDev {
			return false, errs.New(errs.Precondition, "brick %s is on the root filesystem; give it its own filesystem, or use force", r.Path)
		}
	}
	for p := nearestExisting(r.Path); ; p = filepath.Dir(p) {
		for _, x := range []string{VolumeIDXattr, GfidXattr} {
			if v, err := getxattr(p, x); err == nil && len(v) > 0 {
				what := "it"
				if p != r.Path {
					what = "its parent " + p
				}
				if x == VolumeIDXattr && p == r.Path && bytes.Equal(v, id[:]) {
					return false, errs.New(errs.AlreadyExists, "brick %s is already prepared for this volume", r.Path)
				}
				return false, errs.New(errs.Precondition, "brick %s belongs to a volume already: %s carries %s", r.Path, what, x)
			}
		}
		if p == "/" {
			break
		}
	}
	if _, err := os.Stat(r.Path); errors.Is(err, os.ErrNotExist) {
		if !r.CreateDir {
			return false, errs.New(errs.Precondition, "brick directory %s does not exist (allow creating it, or create it first)", r.Path)
		}
		if err := os.MkdirAll(r.Path, 0o755); err != nil {
			return false, errs.Wrap(errs.Precondition, err, "cannot create brick directory %s: %v", r.Path, err)
		}
		created = true
	} else if err != nil {
		return false, errs.Wrap(errs.Precondition, err, "cannot use brick directory %s: %v", r.Path, err)
	}
	undo := func() {
		if created {
			_ = os.Remove(r.Path)
		}
	}
	if err := unix.Setxattr(r.Path, probeXattr, []byte("1"), 0); err != nil {
		undo()
		return false, errs.Wrap(errs.Precondition, err, "the filesystem of %s does not support trusted extended attributes (%v); GlusterFS needs them", r.Path, err)
	}
	_ = unix.Removexattr(r.Path, probeXattr)
	if err := unix.Setxattr(r.Path, VolumeIDXattr, id[:], unix.XATTR_CREATE); err != nil {
		undo()
		return false, errs.Wrap(errs.Precondition, err, "cannot mark brick %s with the volume id: %v", r.Path, err)
	}
	// The brick's index and gfid links live in .glusterfs; the brick
	// refuses to start without it. Mode 0600, as glusterd makes it.
	if err := os.Mkdir(filepath.Join(r.Path, metaDir), 0o600); err != nil && !errors.Is(err, os.ErrExist) {
		_ = unix.Removexattr(r.Path, VolumeIDXattr)
		undo()
		return false, errs.Wrap(errs.Precondition, err, "cannot create %s/%s: %v", r.Path, metaDir, err)
	}
	return created, nil
}

// target checks a brick path and parses the volume id it is about.
func target(volumeID, path string) (uuid.UUID, error) {
	if err := checkPath(path); err != nil {
		return uuid.UUID{}, err
	}
	id, err := uuid.Parse(volumeID)
	if err != nil {
		return uuid.UUID{}, errs.InvalidField("volume_id", "%q is not a UUID", volumeID)
	}
	return id, nil
}

// mark is whose volume-id a brick directory carries.
type mark int

const (
	unmarked mark = iota
	ours
	others
)

// markOf reads whose volume-id path carries; os.ErrNotExist when it is gone.
func markOf(path string, id uuid.UUID) (mark, error) {
	v, err := getxattr(path, VolumeIDXattr)
	switch {
	case err != nil:
		return unmarked, err
	case len(v) == 0:
		return unmarked, nil
	case bytes.Equal(v, id[:]):
		return ours, nil
	}
	return others, nil
}

// Unprepare undoes Prepare: it removes the volume-id mark (only if it is
// this volume's) and the directory when Prepare created it and it is empty.
func Unprepare(volumeID, path string, removeDir bool) error {
	id, err := target(volumeID, path)
	if err != nil {
		return err
	}
	m, err := markOf(path, id)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return errs.Wrap(errs.Internal, err, "cannot read the volume id of %s", path)
	case m == others:
		return errs.New(errs.Precondition, "brick %s belongs to another volume; leaving it alone", path)
	case m == ours:
		if err := unix.Removexattr(path, VolumeIDXattr); err != nil {
			return errs.Wrap(errs.Internal, err, "cannot remove the volume id from %s", path)
		}
	}
	// A brick that never served has an empty .glusterfs; one that did keeps it.
	_ = os.Remove(filepath.Join(path, metaDir))
	if removeDir {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return errs.Wrap(errs.Internal, err, "cannot remove brick directory %s", path)
		}
	}
	return nil
}

// Cleanup removes what a deleted volume left on its brick: the volume-id
// and gfid marks and the .glusterfs directory. The user's files stay.
func Cleanup(volumeID, path string) error {
	id, err := target(volumeID, path)
	if err != nil {
		return err
	}
	m, err := markOf(path, id)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return errs.New(errs.NotFound, "brick directory %s does not exist", path)
	case err != nil:
		return errs.Wrap(errs.Internal, err, "cannot read the volume id of %s", path)
	case m == others:
		return errs.New(errs.Precondition, "brick %s belongs to another volume; leaving it alone", path)
	}
	for _, x := range []string{VolumeIDXattr, GfidXattr} {
		if err := unix.Removexattr(path, x); err != nil && !errors.Is(err, unix.ENODATA) {
			return errs.Wrap(errs.Internal, err, "cannot remove %s from %s", x, path)
		}
	}
	if err := os.RemoveAll(filepath.Join(path, metaDir)); err != nil {
		return errs.Wrap(errs.Internal, err, "cannot remove %s/%s", path, metaDir)
	}
	return nil
}

// getxattr reads one extended attribute; a missing attribute is an empty value.
func getxattr(p, name string) ([]byte, error) {
	buf := make([]byte, 256)
	n, err := unix.Getxattr(p, name, buf)
	switch {
	case errors.Is(err, unix.ENODATA), errors.Is(err, unix.ENOTSUP):
		return nil, nil
	case errors.Is(err, unix.ENOENT):
		return nil, os.ErrNotExist
	case err != nil:
		return nil, fmt.Errorf("getxattr %s %s: %w", p, name, err)
	}
	return buf[:n], nil
}
