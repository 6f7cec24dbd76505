package volgen

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/glusterd-ng/glusterd-ng/libs/errs"
	commonv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/common/v1"
)

// readOptionsAll returns the (key, value) rows of a `volume get all --xml` file.
func readOptionsAll(t *testing.T, path string) [][2]string {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var rows [][2]string
	re := regexp.MustCompile(`<Option>(.*?)</Option>\s*<Value>(.*?)</Value>`)
	for _, m := range re.FindAllStringSubmatch(string(data), -1) {
		rows = append(rows, [2]string{m[1], m[2]})
	}
	return rows
}

func TestOptionTableMatchesOptionsAll(t *testing.T) {
	rows := readOptionsAll(t, filepath.Join(fixturesDir(t), "options-all.xml"))
	require.Len(t, rows, 342)
	require.Len(t, optionTable, len(rows))
	for i, r := range rows {
		o := optionTable[i]
		require.Equal(t, r[0], o.Key, "row %d", i)
		want := strings.TrimSpace(strings.TrimSuffix(r[1], "(DEFAULT)"))
		if want == "(null)" {
			want = ""
		}
		if o.Key == "performance.client-io-threads" {
			// rep3 stored "off" at create time; the option itself defaults to on.
			want = "on"
		}
		require.Equal(t, want, o.Default, "default of %s", o.Key)
		if o.Kind == KindXlatorOption {
			require.NotEmpty(t, o.Xlator, o.Key)
			require.NotEmpty(t, o.Name, o.Key)
		}
		if o.Default != "" && o.Kind != KindManagement && o.Key != "performance.cache-priority" {
			require.NoError(t, o.check(o.Default), "default of %s must validate", o.Key)
		}
	}
}

func TestOptionsAfterSetMatchRep3Options(t *testing.T) {
	rows := readOptionsAll(t, filepath.Join(fixturesDir(t), "rep3-options", "options-all.xml"))
	got := map[string][]string{}
	for _, r := range rows {
		got[r[0]] = append(got[r[0]], r[1])
	}
	require.Equal(t, []string{"64MB", "64MB"}, got["performance.cache-size"])
	require.Equal(t, []string{"127.0.0.1"}, got["auth.allow"])
	require.Len(t, LookupAll("performance.cache-size"), 2)
	require.Equal(t, "performance/io-cache", LookupAll("performance.cache-size")[0].Xlator)
	require.Equal(t, "performance/quick-read", LookupAll("performance.cache-size")[1].Xlator)
}

func TestValidate(t *testing.T) {
	tests := []struct {
		key, value string
		wantErr    string
	}{
		{"performance.cache-size", "64MB", ""},
		{"auth.allow", "127.0.0.1,10.0.0.*", ""},
		{"network.ping-timeout", "10", ""},
		{"cluster.min-free-disk", "15%", ""},
		{"cluster.data-self-heal-algorithm", "diff", ""},
		{"features.bitrot", "enable", ""},
		{"performance.client-io-threads", "enable", ""},
		{"performance.cache-sise", "64MB", `did you mean "performance.cache-size"`},
		{"cluster.quorumtype", "auto", `"cluster.quorum-type"`},
		{"ping-timeout", "10", `"network.ping-timeout"`},
		{"no.such.thing.anywhere", "1", `unknown volume option "no.such.thing.anywhere"`},
		{"performance.quick-read", "maybe", "want a boolean"},
		{"cluster.data-self-heal-algorithm", "fast", "want one of full, diff"},
		{"network.ping-timeout", "2000", "between 0 and 1013"},
		{"network.ping-timeout", "ten", "want a time in seconds"},
		{"performance.cache-size", "64XB", "want a size"},
		{"cluster.min-free-disk", "lots", "want a percentage"},
		{"config.client-threads", "0", "between 1 and 64"},
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
			err := Validate(tt.key, tt.value)
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			require.True(t, errs.Is(err, errs.Invalid))
			require.Contains(t, err.Error(), tt.wantErr)
		})
	}
}

func TestSuggest(t *testing.T) {
	require.Equal(t, "performance.cache-size", Suggest("performance.cache-sise")[0])
	require.Contains(t, Suggest("performance.write-behind-window"), "performance.write-behind-window-size")
	require.Contains(t, Suggest("readdir-optimize"), "cluster.readdir-optimize")
	require.Empty(t, Suggest("zzzzzzzzzzzzzzzzzzzz"))
	require.LessOrEqual(t, len(Suggest("performance.")), 5)
}

// rep3Volume returns a fresh replica-3 volume shaped like the rep3 fixture.
func rep3Volume(opts map[string]string) *commonv1.Volume {
	vol := &commonv1.Volume{
		Id: "9763e9a0-4535-4c6d-9c41-93de3bfcdeb4", Name: "rep3", Type: commonv1.VolumeType_REPLICATE,
		ReplicaCount: 3, Options: DefaultOptions(commonv1.VolumeType_REPLICATE), Transport: "tcp",
	}
	sub := &commonv1.Subvolume{}
	for _, n := range []string{"1", "2", "3"} {
		sub.Bricks = append(sub.Bricks, &commonv1.Brick{Id: "b" + n, PeerId: "p", Host: "vm", Path: "/tmp/golden/rep3/b" + n})
	}
	vol.Subvolumes = []*commonv1.Subvolume{sub}
	for k, v := range opts {
		vol.Options[k] = v
	}
	return vol
}

// block returns the lines of the block named name in a volfile.
func block(t *testing.T, volfile []byte, name string) []string {
	t.Helper()
	text := string(volfile)
	start := strings.Index(text, "volume "+name+"\n")
	require.GreaterOrEqual(t, start, 0, "no block %s", name)
	end := strings.Index(text[start:], "end-volume\n")
	return strings.Split(strings.TrimSpace(text[start:start+end]), "\n")
}

func TestOptionsLandInTheirXlator(t *testing.T) {
	vol := rep3Volume(map[string]string{
		"performance.write-behind-window-size": "4MB",
		"network.ping-timeout":                 "10",
		"auth.reject":                          "192.168.1.9",
		"diagnostics.brick-log-level":          "DEBUG",
		"diagnostics.client-log-level":         "WARNING",
		"performance.io-cache":                 "on",
		"performance.cache-size":               "256MB",
		"cluster.quorum-type":                  "fixed",
		"cluster.quorum-count":                 "2",
		"nfs.disable":                          "off",
	})
	require.NoError(t, CheckVolume(vol))
	client := Client(vol, Params{})
	require.Contains(t, block(t, client, "rep3-write-behind"), "    option cache-size 4MB")
	require.Contains(t, block(t, client, "rep3-io-cache"), "    option cache-size 256MB")
	require.Contains(t, block(t, client, "rep3-quick-read"), "    option cache-size 256MB")
	c0 := block(t, client, "rep3-client-0")
	require.Equal(t, "    option ping-timeout 10", c0[len(c0)-1], "a set option keeps the line of the value it replaces")
	require.Contains(t, block(t, client, "rep3"), "    option log-level WARNING")
	afr := block(t, client, "rep3-replicate-0")
	// Options are applied in table order and each new one goes on top, so the
	// quorum rows (early in the table) sit below granular-entry-heal (later).
	require.Equal(t, []string{
		"    option use-anonymous-inode yes",
		"    option use-compound-fops off",
		"    option granular-entry-heal on",
		"    option quorum-count 2",
		"    option quorum-type fixed",
		"    option volume-id 9763e9a0-4535-4c6d-9c41-93de3bfcdeb4",
	}, afr[2:8])
	require.NotContains(t, string(client), "192.168.1.9")
	require.NotContains(t, string(client), "nfs")

	brick := Brick(vol, vol.Subvolumes[0].Bricks[0], Params{})
	require.Contains(t, block(t, brick, "rep3-server"), "    option auth.addr./tmp/golden/rep3/b1.reject 192.168.1.9")
	require.Contains(t, block(t, brick, "/tmp/golden/rep3/b1"), "    option log-level DEBUG")
	require.NotContains(t, string(brick), "WARNING")
	require.NotContains(t, string(brick), "cache-size")
}

func TestClientToggles(t *testing.T) {
	vol := rep3Volume(map[string]string{"performance.client-io-threads": "on", "performance.quick-read": "off", "features.ctime": "off"})
	client := string(Client(vol, Params{}))
	require.Contains(t, client, "volume rep3-io-threads\n")
	require.NotContains(t, client, "quick-read")
	require.NotContains(t, client, "utime")
	require.Contains(t, block(t, []byte(client), "rep3"), "    subvolumes rep3-io-threads")
}

func TestValueWithSpacesIsQuoted(t *testing.T) {
	vol := rep3Volume(map[string]string{"auth.allow": "10.0.0.1, 10.0.0.2"})
	brick := Brick(vol, vol.Subvolumes[0].Bricks[0], Params{})
	require.Contains(t, string(brick), `option auth.addr./tmp/golden/rep3/b1.allow "10.0.0.1, 10.0.0.2"`)
}

func TestCheckVolume(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(v *commonv1.Volume)
		wantErr string
	}{
		{"ok", func(*commonv1.Volume) {}, ""},
		{"bad name", func(v *commonv1.Volume) { v.Name = "my vol" }, "volume name"},
		{"short set", func(v *commonv1.Volume) { v.Subvolumes[0].Bricks = v.Subvolumes[0].Bricks[:2] }, "has 2 bricks, want 3"},
		{"relative path", func(v *commonv1.Volume) { v.Subvolumes[0].Bricks[1].Path = "data/b2" }, "clean absolute path"},
		{"duplicate brick", func(v *commonv1.Volume) { v.Subvolumes[0].Bricks[1].Path = "/tmp/golden/rep3/b1" }, "listed twice"},
		{"arbiter flag missing", func(v *commonv1.Volume) { v.ArbiterCount = 1 }, "arbiter flag"},
		{"arbiter replica 2", func(v *commonv1.Volume) { v.ArbiterCount, v.ReplicaCount = 1, 2 }, "only replica 3 arbiter 1"},
		{"unknown option", func(v *commonv1.Volume) { v.Options["performance.cache-sise"] = "1MB" }, `did you mean "performance.cache-size"`},
		{"bad value", func(v *commonv1.Volume) { v.Options["network.ping-timeout"] = "x" }, "network.ping-timeout"},
		{"unsupported xlator", func(v *commonv1.Volume) { v.Options["features.shard"] = "on" }, "not supported"},
		{"rdma", func(v *commonv1.Volume) { v.Transport = "rdma" }, "only tcp"},
		{"disperse redundancy", func(v *commonv1.Volume) {
			v.Type, v.ReplicaCount, v.DisperseCount, v.RedundancyCount = commonv1.VolumeType_DISPERSE, 1, 3, 2
		}, "redundancy"},
		{"distributed with one set", func(v *commonv1.Volume) { v.Type = commonv1.VolumeType_DISTRIBUTED_REPLICATE }, "at least two subvolumes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vol := rep3Volume(nil)
			tt.mutate(vol)
			err := CheckVolume(vol)
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.wantErr)
			require.True(t, errs.Is(err, errs.Invalid))
		})
	}
}

func TestSelfHealNilForDistribute(t *testing.T) {
	vol := rep3Volume(nil)
	vol.Type = commonv1.VolumeType_DISTRIBUTE
	require.Nil(t, SelfHeal(vol, Params{}))
}

func TestSharedBrickCount(t *testing.T) {
	vol := rep3Volume(nil)
	p := Params{FilesystemIDs: map[string]string{"b1": "A", "b2": "A", "b3": "B"}}
	require.Contains(t, string(Brick(vol, vol.Subvolumes[0].Bricks[0], p)), "option shared-brick-count 2\n")
	require.Contains(t, string(Brick(vol, vol.Subvolumes[0].Bricks[2], p)), "option shared-brick-count 1\n")
	require.Contains(t, string(Brick(vol, vol.Subvolumes[0].Bricks[0], Params{})), "option shared-brick-count 1\n")
}
