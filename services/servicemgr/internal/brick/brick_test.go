package brick

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/glusterd-ng/glusterd-ng/libs/errs"
)

// mountFS mounts a fresh filesystem of type fstype (tmpfs: trusted xattrs;
// ramfs: none) for one test; it needs root.
func mountFS(t *testing.T, fstype string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("brick preparation needs root (trusted extended attributes, mounts)")
	}
	dir := t.TempDir()
	require.NoError(t, unix.Mount("none", dir, fstype, 0, ""), "mount %s", fstype)
	t.Cleanup(func() { _ = unix.Unmount(dir, unix.MNT_DETACH) })
	return dir
}

func requireRefused(t *testing.T, err error, k errs.Kind, msg string) {
	t.Helper()
	require.Error(t, err)
	require.True(t, errs.Is(err, k), "kind of %v", err)
	require.Contains(t, err.Error(), msg)
}

func TestPrepareMarksBrickAndUndo(t *testing.T) {
	fs := mountFS(t, "tmpfs")
	vol := uuid.New()
	p := filepath.Join(fs, "gv0", "b1")
	created, err := Prepare(Request{VolumeID: vol.String(), Path: p, CreateDir: true})
	require.NoError(t, err)
	require.True(t, created)
	v, err := getxattr(p, VolumeIDXattr)
	require.NoError(t, err)
	require.Equal(t, vol[:], v, "the volume id as 16 raw bytes")
	st, err := os.Stat(filepath.Join(p, ".glusterfs"))
	require.NoError(t, err, "the brick needs .glusterfs to start")
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())

	_, err = Prepare(Request{VolumeID: vol.String(), Path: p})
	requireRefused(t, err, errs.AlreadyExists, "already prepared for this volume")

	require.NoError(t, Unprepare(vol.String(), p, true))
	_, err = os.Stat(p)
	require.True(t, os.IsNotExist(err), "the directory Prepare made is gone")
}

func TestPrepareRefusals(t *testing.T) {
	fs := mountFS(t, "tmpfs")
	vol := uuid.NewString()
	cases := []struct {
		name string
		req  Request
		kind errs.Kind
		msg  string
	}{
		{"relative", Request{VolumeID: vol, Path: "bricks/b1"}, errs.Invalid, "not an absolute path"},
		{"unclean", Request{VolumeID: vol, Path: fs + "/a/../b1"}, errs.Invalid, "is not clean"},
		{"bad volume id", Request{VolumeID: "nope", Path: fs + "/b1"}, errs.Invalid, "volume_id"},
		{"same as another brick", Request{VolumeID: vol, Path: fs + "/b1", Others: []string{fs + "/b1"}}, errs.Precondition, "already a brick of another volume"},
		{"inside another brick", Request{VolumeID: vol, Path: fs + "/b1/sub", Others: []string{fs + "/b1"}}, errs.Precondition, "is inside brick"},
		{"around another brick", Request{VolumeID: vol, Path: fs + "/b", Others: []string{fs + "/b/b2"}}, errs.Precondition, "contains brick"},
		{"missing, not allowed to create", Request{VolumeID: vol, Path: fs + "/absent"}, errs.Precondition, "does not exist"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Prepare(c.req)
			requireRefused(t, err, c.kind, c.msg)
		})
	}
}

func TestPrepareRefusesRootFilesystemUnlessForced(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	dir, err := os.MkdirTemp("/var/tmp", "brick-root-")
	require.NoError(t, err)
	defer os.RemoveAll(dir)
	rootDev, _ := device("/")
	if dev, _ := device(dir); dev != rootDev {
		t.Skip("/var/tmp is not on the root filesystem here")
	}
	vol := uuid.NewString()
	_, err = Prepare(Request{VolumeID: vol, Path: dir + "/b1", CreateDir: true})
	requireRefused(t, err, errs.Precondition, "is on the root filesystem")
	_, err = Prepare(Request{VolumeID: vol, Path: dir + "/b1", CreateDir: true, Force: true})
	require.NoError(t, err, "force allows it")
}

func TestPrepareRefusesBrickOfAnotherVolume(t *testing.T) {
	fs := mountFS(t, "tmpfs")
	other := uuid.New()
	used := filepath.Join(fs, "used")
	require.NoError(t, os.Mkdir(used, 0o755))
	require.NoError(t, unix.Setxattr(used, VolumeIDXattr, other[:], 0))
	_, err := Prepare(Request{VolumeID: uuid.NewString(), Path: used})
	requireRefused(t, err, errs.Precondition, "belongs to a volume already: it carries trusted.glusterfs.volume-id")

	// A directory under a parent that was a brick (its root gfid) is refused too.
	parent := filepath.Join(fs, "oldbrick")
	require.NoError(t, os.Mkdir(parent, 0o755))
	require.NoError(t, unix.Setxattr(parent, GfidXattr, make([]byte, 16), 0))
	_, err = Prepare(Request{VolumeID: uuid.NewString(), Path: parent + "/new", CreateDir: true})
	requireRefused(t, err, errs.Precondition, "its parent "+parent+" carries trusted.gfid")
}

func TestPrepareRefusesFilesystemWithoutTrustedXattrs(t *testing.T) {
	fs := mountFS(t, "ramfs")
	_, err := Prepare(Request{VolumeID: uuid.NewString(), Path: fs + "/b1", CreateDir: true})
	requireRefused(t, err, errs.Precondition, "does not support trusted extended attributes")
	_, statErr := os.Stat(fs + "/b1")
	require.True(t, os.IsNotExist(statErr), "a refused preparation leaves no directory behind")
}

func TestCleanupRemovesMarksAndGlusterfs(t *testing.T) {
	fs := mountFS(t, "tmpfs")
	vol := uuid.New()
	p := filepath.Join(fs, "b1")
	_, err := Prepare(Request{VolumeID: vol.String(), Path: p, CreateDir: true})
	require.NoError(t, err)
	require.NoError(t, unix.Setxattr(p, GfidXattr, make([]byte, 16), 0))
	require.NoError(t, os.MkdirAll(filepath.Join(p, ".glusterfs", "00"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(p, "data"), []byte("x"), 0o644))

	requireRefused(t, Cleanup(uuid.NewString(), p), errs.Precondition, "belongs to another volume")
	require.NoError(t, Cleanup(vol.String(), p))
	v, _ := getxattr(p, VolumeIDXattr)
	require.Empty(t, v)
	_, err = os.Stat(filepath.Join(p, ".glusterfs"))
	require.True(t, os.IsNotExist(err))
	_, err = os.Stat(filepath.Join(p, "data"))
	require.NoError(t, err, "the user's files stay")
	// The directory can now serve a new volume.
	_, err = Prepare(Request{VolumeID: uuid.NewString(), Path: p})
	require.NoError(t, err)
}

func TestUnprepareAndCleanupOfUnmarkedBrick(t *testing.T) {
	fs := mountFS(t, "tmpfs")
	p := filepath.Join(fs, "plain")
	require.NoError(t, os.Mkdir(p, 0o755))
	// A directory without a volume-id is nobody's: undoing or cleaning it
	// again (a retried step) succeeds rather than calling it another volume's.
	require.NoError(t, Unprepare(uuid.NewString(), p, false))
	require.NoError(t, Cleanup(uuid.NewString(), p))
	requireRefused(t, Cleanup(uuid.NewString(), filepath.Join(fs, "absent")), errs.NotFound, "does not exist")
}
