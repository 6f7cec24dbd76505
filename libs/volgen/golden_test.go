package volgen

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	commonv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/common/v1"
)

// layouts are the fixture folders, one per golden volume.
var layouts = []string{"dist3", "rep3", "rep3-options", "arb3", "drep4", "disp3", "ddisp6"}

// KnownDifferences lists generated files that are meant to differ from the
// golden file, with the reason; it is empty because every file matches.
var KnownDifferences = []struct {
	Layout string
	File   string
	Reason string
}{}

// fixturesDir finds <root>/../shared/fixtures/volfiles, root being the
// directory that holds go.work.
func fixturesDir(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	require.NoError(t, err)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("no go.work above the test directory: cannot locate the repository root")
		}
		dir = parent
	}
	fx := filepath.Join(dir, "..", "shared", "fixtures", "volfiles")
	if st, err := os.Stat(fx); err != nil || !st.IsDir() {
		t.Fatalf("golden volfile fixtures missing: expected the folder %s (from the repository root: ../shared/fixtures/volfiles)", fx)
	}
	return fx
}

// fixture is one golden layout turned into the volgen inputs.
type fixture struct {
	dir    string
	name   string
	info   map[string]string
	vol    *commonv1.Volume
	params Params
}

// readKV reads a glusterd store file of key=value lines, keeping line order.
func readKV(t *testing.T, path string) (map[string]string, []string) {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	m := map[string]string{}
	var order []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			continue
		}
		m[k] = v
		order = append(order, k)
	}
	return m, order
}

// loadFixture builds the Volume and Params from a layout's info and bricks/* files.
func loadFixture(t *testing.T, layout string) fixture {
	t.Helper()
	dir := filepath.Join(fixturesDir(t), layout)
	info, order := readKV(t, filepath.Join(dir, "glusterd-vols", "info"))
	atoi := func(k string) uint32 {
		if info[k] == "" {
			return 0
		}
		n, err := strconv.Atoi(info[k])
		require.NoError(t, err, k)
		return uint32(n)
	}
	count, replica, disperse := atoi("count"), atoi("replica_count"), atoi("disperse_count")
	vol := &commonv1.Volume{
		Id:              info["volume-id"],
		ReplicaCount:    replica,
		ArbiterCount:    atoi("arbiter_count"),
		DisperseCount:   disperse,
		RedundancyCount: atoi("redundancy_count"),
		Options:         map[string]string{},
		Transport:       "tcp",
	}
	setSize := uint32(1)
	switch info["type"] {
	case "0":
		vol.Type = commonv1.VolumeType_DISTRIBUTE
	case "2":
		vol.Type, setSize = commonv1.VolumeType_REPLICATE, replica
		if count > replica {
			vol.Type = commonv1.VolumeType_DISTRIBUTED_REPLICATE
		}
	case "4":
		vol.Type, setSize = commonv1.VolumeType_DISPERSE, disperse
		if count > disperse {
			vol.Type = commonv1.VolumeType_DISTRIBUTED_DISPERSE
		}
	default:
		t.Fatalf("%s: unknown volume type %q in info", layout, info["type"])
	}
	p := Params{Username: info["username"], Password: info["password"], FilesystemIDs: map[string]string{}}
	p.QuotaVersion = int(atoi("quota-version"))
	var sub *commonv1.Subvolume
	for _, k := range order {
		switch {
		case strings.HasPrefix(k, "brick-"):
			bf, _ := readKV(t, filepath.Join(dir, "glusterd-vols", "bricks", info[k]))
			b := &commonv1.Brick{Id: bf["brick-id"], PeerId: bf["uuid"], Host: bf["hostname"], Path: bf["path"]}
			p.FilesystemIDs[b.Id] = bf["brick-fsid"]
			if sub == nil || uint32(len(sub.Bricks)) == setSize {
				sub = &commonv1.Subvolume{}
				vol.Subvolumes = append(vol.Subvolumes, sub)
			}
			sub.Bricks = append(sub.Bricks, b)
			b.Arbiter = vol.ArbiterCount == 1 && uint32(len(sub.Bricks)) == setSize
		case strings.Contains(k, "."):
			_, known := Lookup(k)
			require.True(t, known, "%s: info option %q is not in the option table", layout, k)
			vol.Options[k] = info[k]
		}
	}
	vol.Name = strings.TrimSuffix(layout, "-options")
	return fixture{dir: dir, name: vol.Name, info: info, vol: vol, params: p}
}

// golden reads one fixture file.
func golden(t *testing.T, f fixture, rel string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(f.dir, rel))
	require.NoError(t, err)
	return data
}

// compare checks got against want unless the pair is a listed known difference.
func compare(t *testing.T, layout, file string, want, got []byte) {
	t.Helper()
	for _, kd := range KnownDifferences {
		if kd.Layout == layout && kd.File == file {
			t.Logf("%s/%s: known difference: %s", layout, file, kd.Reason)
			return
		}
	}
	require.Equal(t, string(want), string(got), "%s/%s differs from the golden file", layout, file)
}

func TestGoldenVolfiles(t *testing.T) {
	for _, layout := range layouts {
		t.Run(layout, func(t *testing.T) {
			f := loadFixture(t, layout)
			vol := f.vol
			require.NoError(t, CheckVolume(vol))

			trusted := f.params
			trusted.Trusted = true
			got := Client(vol, trusted)
			compare(t, layout, ClientVolfileName(vol, true), golden(t, f, "glusterd-vols/"+ClientVolfileName(vol, true)), got)
			compare(t, layout, "served/client-"+f.name+".vol", golden(t, f, "served/client-"+f.name+".vol"), got)
			compare(t, layout, "served/client-slash-"+f.name+".vol", golden(t, f, "served/client-slash-"+f.name+".vol"), got)
			require.Equal(t, got, Client(vol, trusted), "client volfile must be deterministic")

			compare(t, layout, ClientVolfileName(vol, false), golden(t, f, "glusterd-vols/"+ClientVolfileName(vol, false)), Client(vol, f.params))

			for _, b := range bricks(vol) {
				id := BrickVolfileID(vol, b)
				got := Brick(vol, b, f.params)
				compare(t, layout, id+".vol", golden(t, f, "glusterd-vols/"+id+".vol"), got)
				compare(t, layout, "served/brick."+id+".vol", golden(t, f, "served/brick."+id+".vol"), got)
				require.Equal(t, got, Brick(vol, b, f.params), "brick volfile must be deterministic")
			}

			shdPath := filepath.Join(f.dir, "glusterd-vols", SelfHealVolfileName(vol))
			if _, err := os.Stat(shdPath); err != nil {
				require.Nil(t, SelfHeal(vol, f.params), "no shd volfile in the fixture, none expected")
				return
			}
			got = SelfHeal(vol, f.params)
			compare(t, layout, SelfHealVolfileName(vol), golden(t, f, "glusterd-vols/"+SelfHealVolfileName(vol)), got)
			compare(t, layout, "served/shd."+f.name+".vol", golden(t, f, "served/shd."+f.name+".vol"), got)
		})
	}
}

func TestBrickVolfileIDMatchesProcessCmdlines(t *testing.T) {
	re := regexp.MustCompile(`glusterfsd .*--volfile-id (\S+) .*--brick-name (\S+)`)
	for _, layout := range layouts {
		t.Run(layout, func(t *testing.T) {
			f := loadFixture(t, layout)
			ids := map[string]string{}
			for _, m := range re.FindAllStringSubmatch(string(golden(t, f, "process-cmdlines.txt")), -1) {
				ids[m[2]] = m[1]
			}
			require.Len(t, ids, len(bricks(f.vol)))
			for _, b := range bricks(f.vol) {
				require.Equal(t, ids[b.Path], BrickVolfileID(f.vol, b), "brick %s", b.Path)
			}
		})
	}
}

// substitution renames everything node- and volume-specific in a fixture.
type substitution struct {
	host, name, id, user, pass, workDir string
	brickPath                           func(i int) string
}

// apply rewrites golden text the way the README describes: paths (plain and
// dashed) first, then the whole-word host, ids, credentials, the working
// directory and the volume name.
func (s substitution) apply(f fixture, text string) string {
	bs := bricks(f.vol)
	for i := len(bs) - 1; i >= 0; i-- {
		text = strings.ReplaceAll(text, bs[i].Path, s.brickPath(i))
		text = strings.ReplaceAll(text, DashedPath(bs[i].Path), DashedPath(s.brickPath(i)))
	}
	text = regexp.MustCompile(`\bvm\b`).ReplaceAllString(text, s.host)
	text = strings.ReplaceAll(text, f.vol.Id, s.id)
	text = strings.ReplaceAll(text, f.params.Username, s.user)
	text = strings.ReplaceAll(text, f.params.Password, s.pass)
	text = strings.ReplaceAll(text, DefaultWorkDir+"/", s.workDir+"/")
	return strings.ReplaceAll(text, f.name, s.name)
}

func TestGoldenVolfilesWithOtherNames(t *testing.T) {
	s := substitution{
		host:    "gluster-node-7.example.net",
		name:    "media_archive",
		id:      "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
		user:    "11111111-2222-3333-4444-555555555555",
		pass:    "66666666-7777-8888-9999-aaaaaaaaaaaa",
		workDir: "/srv/glusterd-ng/state",
		brickPath: func(i int) string {
			return "/srv/gluster/disk" + strconv.Itoa(i+1) + "/export"
		},
	}
	for _, layout := range layouts {
		t.Run(layout, func(t *testing.T) {
			orig := loadFixture(t, layout)
			vol := loadFixture(t, layout).vol
			vol.Name, vol.Id = s.name, s.id
			for i, b := range bricks(vol) {
				b.Host, b.Path = s.host, s.brickPath(i)
			}
			p := orig.params
			p.Username, p.Password, p.WorkDir = s.user, s.pass, s.workDir
			require.NoError(t, CheckVolume(vol))

			want := func(rel string) []byte { return []byte(s.apply(orig, string(golden(t, orig, rel)))) }
			renamed := string(want("glusterd-vols/" + ClientVolfileName(orig.vol, true)))
			require.NotContains(t, renamed, "/tmp/golden", "the substitution must reach every brick path")
			require.Contains(t, renamed, "remote-host "+s.host)
			trusted := p
			trusted.Trusted = true
			compare(t, layout, "renamed trusted client", want("glusterd-vols/"+ClientVolfileName(orig.vol, true)), Client(vol, trusted))
			compare(t, layout, "renamed client", want("glusterd-vols/"+ClientVolfileName(orig.vol, false)), Client(vol, p))
			ob := bricks(orig.vol)
			for i, b := range bricks(vol) {
				require.Equal(t, s.apply(orig, BrickVolfileID(orig.vol, ob[i])), BrickVolfileID(vol, b))
				compare(t, layout, "renamed brick "+b.Path, want("glusterd-vols/"+BrickVolfileID(orig.vol, ob[i])+".vol"), Brick(vol, b, p))
			}
			if SelfHeal(orig.vol, orig.params) != nil {
				compare(t, layout, "renamed shd", want("glusterd-vols/"+SelfHealVolfileName(orig.vol)), SelfHeal(vol, p))
			}
		})
	}
}
