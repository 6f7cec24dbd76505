package layout

import (
	"maps"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/glusterd-ng/glusterd-ng/libs/errs"
	"github.com/glusterd-ng/glusterd-ng/libs/volgen"
	commonv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/common/v1"
)

// rep3Volume is a replica 3 volume with the create-time options and opts.
func rep3Volume(opts map[string]string) *commonv1.Volume {
	vol := &commonv1.Volume{
		Id: "v1", Name: "gv0", Type: commonv1.VolumeType_REPLICATE, State: commonv1.VolumeState_STARTED,
		ReplicaCount: 3, Transport: "tcp", Options: volgen.DefaultOptions(commonv1.VolumeType_REPLICATE),
		Subvolumes: []*commonv1.Subvolume{{Bricks: []*commonv1.Brick{
			{Id: "b1", PeerId: "p1", Host: "127.1.1.1", Path: "/b"},
			{Id: "b2", PeerId: "p2", Host: "127.1.1.2", Path: "/b"},
			{Id: "b3", PeerId: "p3", Host: "127.1.1.3", Path: "/b"},
		}}},
	}
	maps.Copy(vol.Options, opts)
	return vol
}

// withDefaults returns the replicate create-time options with opts laid over.
func withDefaults(opts map[string]string) map[string]string {
	out := volgen.DefaultOptions(commonv1.VolumeType_REPLICATE)
	maps.Copy(out, opts)
	return out
}

func TestSetOptions(t *testing.T) {
	tests := []struct {
		name  string
		opts  map[string]string
		want  map[string]string
		field string
		msg   string
	}{
		{name: "set", opts: map[string]string{"performance.cache-size": "64MB", "network.ping-timeout": "10"},
			want: withDefaults(map[string]string{"performance.cache-size": "64MB", "network.ping-timeout": "10", "auth.allow": "10.0.0.*"})},
		{name: "overwrite a create-time option", opts: map[string]string{"nfs.disable": "off"},
			want: withDefaults(map[string]string{"nfs.disable": "off", "auth.allow": "10.0.0.*"})},
		{name: "nothing", opts: nil, field: "options", msg: "options: at least one option is needed"},
		{name: "empty key", opts: map[string]string{"": "x"}, field: "options", msg: "options: an option key must not be empty"},
		{name: "unknown key", opts: map[string]string{"performance.cache-sise": "64MB"},
			field: "options", msg: `options: unknown volume option "performance.cache-sise"; did you mean "performance.cache-size"`},
		{name: "short key", opts: map[string]string{"ping-timeout": "10"},
			field: "options", msg: `did you mean "network.ping-timeout"`},
		{name: "wrong case", opts: map[string]string{"Performance.Cache-Size": "64MB"},
			field: "options", msg: `unknown volume option "Performance.Cache-Size"`},
		{name: "bad boolean", opts: map[string]string{"performance.quick-read": "maybe"},
			field: "options", msg: "want a boolean (on/off, yes/no, true/false, enable/disable, 1/0)"},
		{name: "bad enum", opts: map[string]string{"cluster.data-self-heal-algorithm": "fast"},
			field: "options", msg: "want one of full, diff"},
		{name: "out of range", opts: map[string]string{"network.ping-timeout": "2000"},
			field: "options", msg: "want a value between 0 and 1013 s"},
		{name: "empty value", opts: map[string]string{"auth.reject": ""},
			field: "options", msg: `volume option "auth.reject": the value must not be empty; reset the option to go back to its default`},
		{name: "first bad key in order", opts: map[string]string{"zz.bad": "1", "aa.bad": "1"},
			field: "options", msg: `"aa.bad"`},
		{name: "quota", opts: map[string]string{"features.quota": "on"},
			field: "options", msg: `volume option "features.quota" cannot be set: quota is switched with gluster's quota command`},
		{name: "bitrot", opts: map[string]string{"features.bitrot": "on"},
			field: "options", msg: "gluster's bitrot command"},
		{name: "cluster-wide", opts: map[string]string{"cluster.server-quorum-ratio": "60"},
			field: "options", msg: `volume option "cluster.server-quorum-ratio" cannot be set: it is a cluster-wide option, not valid for a single volume`},
		{name: "xlator volgen does not build", opts: map[string]string{"features.uss": "on"},
			field: "features.uss", msg: "option features.uss=on is not supported by the volfile generator yet"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vol := rep3Volume(map[string]string{"auth.allow": "10.0.0.*"})
			before := proto.Clone(vol)
			out, err := SetOptions(vol, tt.opts)
			require.True(t, proto.Equal(before, vol), "the input is not changed")
			if tt.msg != "" {
				wantErr(t, err, errs.Invalid, tt.field, tt.msg)
				require.Nil(t, out)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, out.GetOptions())
			out.Options = vol.Options
			require.True(t, proto.Equal(vol, out), "only the options change")
		})
	}
	_, err := SetOptions(nil, map[string]string{"nfs.disable": "on"})
	wantErr(t, err, errs.Internal, "", "volume is missing")
}

func TestResetOption(t *testing.T) {
	set := map[string]string{
		"performance.cache-size":   "64MB",
		"nfs.disable":              "off",
		"geo-replication.indexing": "on",
		"features.quota":           "off",
	}
	tests := []struct {
		name  string
		key   string
		force bool
		want  map[string]string
		kind  errs.Kind
		field string
		msg   string
	}{
		{name: "remove", key: "performance.cache-size",
			want: withDefaults(map[string]string{"nfs.disable": "off", "geo-replication.indexing": "on", "features.quota": "off"})},
		{name: "back to the create-time value", key: "nfs.disable",
			want: withDefaults(map[string]string{"performance.cache-size": "64MB", "geo-replication.indexing": "on", "features.quota": "off"})},
		{name: "create-time option stays", key: "cluster.granular-entry-heal", want: withDefaults(set)},
		{name: "not set: nothing changes", key: "network.ping-timeout", want: withDefaults(set)},
		{name: "protected", key: "geo-replication.indexing",
			kind: errs.Precondition, msg: `"geo-replication.indexing" is protected; use force to reset it`},
		{name: "protected with force", key: "geo-replication.indexing", force: true,
			want: withDefaults(map[string]string{"performance.cache-size": "64MB", "nfs.disable": "off", "features.quota": "off"})},
		{name: "all keeps protected and never-reset options", key: ResetAll,
			want: withDefaults(map[string]string{"geo-replication.indexing": "on", "features.quota": "off"})},
		{name: "all with force", key: ResetAll, force: true,
			want: withDefaults(map[string]string{"features.quota": "off"})},
		{name: "empty key", key: "", kind: errs.Invalid, field: "key", msg: "key: must not be empty"},
		{name: "unknown key", key: "performance.cache-sise",
			kind: errs.Invalid, field: "key", msg: `key: unknown volume option "performance.cache-sise"; did you mean "performance.cache-size"`},
		{name: "unknown key without suggestions", key: "zzzzzzzzzzzzzzzzzzzzzz",
			kind: errs.Invalid, field: "key", msg: `key: unknown volume option "zzzzzzzzzzzzzzzzzzzzzz"`},
		{name: "quota", key: "features.quota",
			kind: errs.Invalid, field: "key", msg: `volume option "features.quota" cannot be reset: quota is switched with gluster's quota command`},
		{name: "cluster-wide", key: "cluster.brick-multiplex",
			kind: errs.Invalid, field: "key", msg: "cluster-wide option"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vol := rep3Volume(set)
			before := proto.Clone(vol)
			out, err := ResetOption(vol, tt.key, tt.force)
			require.True(t, proto.Equal(before, vol), "the input is not changed")
			if tt.msg != "" {
				wantErr(t, err, tt.kind, tt.field, tt.msg)
				require.Nil(t, out)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, out.GetOptions())
		})
	}

	dist := &commonv1.Volume{Name: "d", Type: commonv1.VolumeType_DISTRIBUTE}
	out, err := ResetOption(dist, "nfs.disable", false)
	require.NoError(t, err)
	require.Equal(t, map[string]string{"nfs.disable": "on"}, out.GetOptions(), "a volume without options gets the default back")
	out, err = ResetOption(dist, ResetAll, false)
	require.NoError(t, err)
	require.Equal(t, volgen.DefaultOptions(commonv1.VolumeType_DISTRIBUTE), out.GetOptions())
	_, err = ResetOption(nil, ResetAll, false)
	wantErr(t, err, errs.Internal, "", "volume is missing")
}

func TestSetOptionsOnVolumeWithoutOptions(t *testing.T) {
	vol := rep3Volume(nil)
	vol.Options = nil
	out, err := SetOptions(vol, map[string]string{"network.ping-timeout": "10"})
	require.NoError(t, err)
	require.Equal(t, map[string]string{"network.ping-timeout": "10"}, out.GetOptions())
}
