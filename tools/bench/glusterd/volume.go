package glusterd

import (
	"context"
	"encoding/xml"
	"fmt"
	"strings"
)

// BrickStatus is one brick as `gluster --xml volume status` reports it.
type BrickStatus struct {
	Hostname string `xml:"hostname"`
	Path     string `xml:"path"`
	PeerID   string `xml:"peerid"`
	// Status is 1 when glusterd sees the brick online.
	Status int    `xml:"status"`
	Port   string `xml:"port"` // "N/A" when offline
	PID    int    `xml:"pid"`
}

// Online is the XML form of "Online: Y".
func (b BrickStatus) Online() bool { return b.Status == 1 }

// VolumeStatus is one volume of `gluster --xml volume status`.
type VolumeStatus struct {
	Name   string        `xml:"volName"`
	Bricks []BrickStatus `xml:"node"`
}

type volumeStatusOutput struct {
	OpRet    int            `xml:"opRet"`
	OpErrno  int            `xml:"opErrno"`
	OpErrstr string         `xml:"opErrstr"`
	Volumes  []VolumeStatus `xml:"volStatus>volumes>volume"`
}

// CreateVolume runs `gluster volume create name brick... force`; bricks are
// host:path (force allows them on the root filesystem).
func (in *Instance) CreateVolume(ctx context.Context, name string, bricks ...string) error {
	args := append([]string{"volume", "create", name}, bricks...)
	_, err := in.CLI(ctx, append(args, "force")...)
	return err
}

// StartVolume runs `gluster volume start name`, which returns once glusterd
// has launched the volume's brick processes (not once they are online).
func (in *Instance) StartVolume(ctx context.Context, name string) error {
	_, err := in.CLI(ctx, "volume", "start", name)
	return err
}

// VolumesStatus is `gluster --xml volume status all`: every started
// volume's bricks. glusterd takes its cluster-wide lock for it, so it
// fails while another volume operation is running (and makes that fail):
// do not poll it alongside other commands.
func (in *Instance) VolumesStatus(ctx context.Context) ([]VolumeStatus, error) {
	out, err := in.CLI(ctx, "--xml", "volume", "status", "all")
	if err != nil {
		return nil, err
	}
	var o volumeStatusOutput
	if err := xml.Unmarshal([]byte(out), &o); err != nil {
		return nil, fmt.Errorf("instance %d: gluster volume status all: parse XML: %w", in.Index, err)
	}
	if o.OpRet != 0 {
		return nil, fmt.Errorf("instance %d: gluster volume status all: opRet %d errno %d: %s", in.Index, o.OpRet, o.OpErrno, strings.TrimSpace(o.OpErrstr))
	}
	return o.Volumes, nil
}
