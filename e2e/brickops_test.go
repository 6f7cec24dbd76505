package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/glusterd-ng/glusterd-ng/e2e/framework"
	"github.com/glusterd-ng/glusterd-ng/libs/testutil"
)

// volumeJSON is the part of a volume the brick tests look at.
type volumeJSON struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	Type         string `json:"type"`
	State        string `json:"state"`
	ReplicaCount int    `json:"replica_count"`
	Subvolumes   []struct {
		Bricks []brickJSON `json:"bricks"`
	} `json:"subvolumes"`
}

type brickJSON struct {
	ID     string `json:"id"`
	PeerID string `json:"peer_id"`
	Host   string `json:"host"`
	Path   string `json:"path"`
}

// bricks lists the volume's bricks in volume order.
func (v volumeJSON) bricks() []brickJSON {
	var out []brickJSON
	for _, sv := range v.Subvolumes {
		out = append(out, sv.Bricks...)
	}
	return out
}

// brickOps is the three-node cluster the brick operation tests share.
type brickOps struct {
	t *testing.T
	c *framework.Cluster
}

// getVolume reads GET /v1/volumes/{name}.
func (b brickOps) getVolume(name string) volumeJSON {
	b.t.Helper()
	code, body := b.c.Do("GET", "/v1/volumes/"+name, "")
	require.Equal(b.t, 200, code, string(body))
	var v volumeJSON
	require.NoError(b.t, json.Unmarshal(body, &v))
	return v
}

// operation runs a volume operation, expects status want, and returns the
// volume it answers with and its transaction.
func (b brickOps) operation(want int, method, path, reqBody string) (volumeJSON, txnJSON) {
	b.t.Helper()
	code, body := b.c.Do(method, path, reqBody)
	require.Equal(b.t, want, code, string(body))
	var out struct {
		Volume        volumeJSON `json:"volume"`
		TransactionID string     `json:"transaction_id"`
	}
	require.NoError(b.t, json.Unmarshal(body, &out))
	return out.Volume, transaction(b.t, b.c, out.TransactionID)
}

// createStarted creates and starts a volume with bricks under dir.
func (b brickOps) createStarted(name, layout, bricks string) volumeJSON {
	b.t.Helper()
	code, body := b.c.Do("POST", "/v1/volumes", fmt.Sprintf(`{"name":%q,%s"bricks":%s,"force":true}`, name, layout, bricks))
	require.Equal(b.t, 201, code, string(body))
	code, body = b.c.Do("POST", "/v1/volumes/"+name+":start", `{}`)
	require.Equal(b.t, 200, code, string(body))
	return b.getVolume(name)
}

// spec is a brick spec on node i (from 0) at path.
func (b brickOps) spec(i int, path string) string {
	return fmt.Sprintf(`{"peer":%q,"path":%q}`, b.c.Nodes[i].Host, path)
}

// online counts the volume's online bricks in its status.
func (b brickOps) online(name string) int {
	code, body := b.c.Do("GET", "/v1/volumes/"+name+"/status", "")
	require.Equal(b.t, 200, code, string(body))
	return bricksOnline(body)
}

// filesOn lists the regular files directly in dir on a brick.
func filesOn(dir string) map[string]bool {
	out := map[string]bool{}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if e.Type().IsRegular() {
			out[e.Name()] = true
		}
	}
	return out
}

// TestBrickOpsOnThreeNodes runs add-brick, remove-brick and replace-brick
// on started, mounted volumes of a three-node pool.
func TestBrickOpsOnThreeNodes(t *testing.T) {
	c := pool(t, framework.Options{Nodes: 3})
	ctx := t.Context()

	t.Run("distribute add-brick", func(t *testing.T) {
		b := brickOps{t, c}
		dir := t.TempDir()
		vol := b.createStarted("dist2", "", fmt.Sprintf("[%s,%s]", b.spec(0, dir+"/b1"), b.spec(1, dir+"/b2")))
		m, err := framework.Mount(ctx, t, c.Nodes[0].Host, 0, vol.Name, filepath.Join(t.TempDir(), "m"))
		require.NoError(t, err)
		before, err := framework.WriteFiles(m.Mountpoint, 40, 16<<10)
		require.NoError(t, err)
		// A change committed within ~50 ms of a client's mount has twice (in
		// 16 runs) sent it no FETCHSPEC (see docs/transactions.md, Brick
		// operations): not what this test is about.
		time.Sleep(time.Second)

		t0 := time.Now()
		got, tx := b.operation(200, "POST", "/v1/volumes/dist2/bricks", fmt.Sprintf(`{"bricks":[%s],"force":true}`, b.spec(2, dir+"/b3")))
		t.Logf("add-brick answered in %s", time.Since(t0).Round(time.Millisecond))
		require.Equal(t, "SUCCEEDED", tx.State)
		require.Len(t, tx.Steps, 1, "one prepare step: %+v", tx.Steps)
		require.Equal(t, "prepare-brick", tx.Steps[0].Name)
		require.Equal(t, "DISTRIBUTE", got.Type)
		require.Len(t, got.bricks(), 3)
		require.Equal(t, 3, b.online(vol.Name), "the answer waits until the new brick is online")

		// The client switches to the three-brick graph; what was written stays readable.
		awaitConnected(t, m, t0, filepath.Join(dir, "b3"))
		require.NoError(t, framework.VerifyFiles(m.Mountpoint, before))

		// New directories are spread over every brick: new files land on the new one.
		newDir := mkdirEventually(t, filepath.Join(m.Mountpoint, "after"))
		after, err := framework.WriteFiles(newDir, 60, 4<<10)
		require.NoError(t, err)
		onNew := filesOn(filepath.Join(dir, "b3", "after"))
		t.Logf("of 60 files written into a new directory, %d landed on the new brick", len(onNew))
		require.NotEmpty(t, onNew, "files of a new directory land on the new brick")
		require.NoError(t, framework.VerifyFiles(newDir, after))
		t.Logf("files written into the root after add-brick on the new brick: %d (DHT keeps existing directories' layout until a rebalance)",
			len(filesOn(filepath.Join(dir, "b3"))))
	})

	t.Run("replica 3 add-set", func(t *testing.T) {
		b := brickOps{t, c}
		dir := t.TempDir()
		vol := b.createStarted("rep3", `"replica_count":3,`, brickList(c, dir, 3))
		m, err := framework.Mount(ctx, t, c.Nodes[0].Host, 0, vol.Name, filepath.Join(t.TempDir(), "m"))
		require.NoError(t, err)
		before, err := framework.WriteFiles(m.Mountpoint, 30, 16<<10)
		require.NoError(t, err)

		set := fmt.Sprintf("[%s,%s,%s]", b.spec(0, dir+"/s2b1"), b.spec(1, dir+"/s2b2"), b.spec(2, dir+"/s2b3"))
		t0 := time.Now()
		got, tx := b.operation(200, "POST", "/v1/volumes/rep3/bricks", `{"bricks":`+set+`,"force":true}`)
		t.Logf("add-brick answered in %s", time.Since(t0).Round(time.Millisecond))
		require.Equal(t, "SUCCEEDED", tx.State)
		require.Len(t, tx.Steps, 3, "three prepare steps, no heal marks for a new set: %+v", tx.Steps)
		require.Equal(t, "DISTRIBUTED_REPLICATE", got.Type)
		require.Len(t, got.Subvolumes, 2)
		require.Equal(t, 6, b.online(vol.Name))
		awaitConnected(t, m, t0, dir+"/s2b1", dir+"/s2b2", dir+"/s2b3")
		require.NoError(t, framework.VerifyFiles(m.Mountpoint, before))
		newDir := mkdirEventually(t, filepath.Join(m.Mountpoint, "after"))
		after, err := framework.WriteFiles(newDir, 60, 4<<10)
		require.NoError(t, err)
		set2 := []map[string]bool{filesOn(dir + "/s2b1/after"), filesOn(dir + "/s2b2/after"), filesOn(dir + "/s2b3/after")}
		t.Logf("of 60 files in a new directory, %d landed on the new set", len(set2[0]))
		require.NotEmpty(t, set2[0], "new files land on the new set")
		require.Equal(t, set2[0], set2[1], "the new set's bricks hold the same files")
		require.Equal(t, set2[0], set2[2], "the new set's bricks hold the same files")
		require.NoError(t, framework.VerifyFiles(newDir, after))

		// remove-brick of the new set: data would need migrating, so 412 without force.
		s2 := got.Subvolumes[1].Bricks[0].ID
		code, body := c.Do("DELETE", "/v1/volumes/rep3/bricks/"+s2, "")
		require.Equal(t, 412, code, string(body))
		require.Contains(t, string(body), "rebalance")
		require.Contains(t, string(body), "not implemented")
		require.Contains(t, string(body), "force")
		t.Logf("remove-brick without force: %s", body)
		// Removing the first set would also renumber the second one's bricks.
		code, body = c.Do("DELETE", "/v1/volumes/rep3/bricks/"+got.Subvolumes[0].Bricks[0].ID, "")
		require.Equal(t, 412, code, string(body))
		require.Contains(t, string(body), "renumbers 3 brick(s)")
		require.Equal(t, 6, len(b.getVolume("rep3").bricks()), "nothing changed")

		// With force the set goes, without migration; its processes stop.
		got, tx = b.operation(200, "DELETE", "/v1/volumes/rep3/bricks/"+s2+"?force=true", "")
		require.Equal(t, "SUCCEEDED", tx.State)
		require.Empty(t, tx.Steps)
		require.Equal(t, "REPLICATE", got.Type)
		require.Len(t, got.bricks(), 3)
		code, body = c.Do("GET", "/v1/volumes/rep3/status", "")
		require.Equal(t, 200, code)
		var st struct {
			Bricks []struct {
				Path string `json:"path"`
				Pid  int    `json:"pid"`
			} `json:"bricks"`
		}
		require.NoError(t, json.Unmarshal(body, &st))
		require.Len(t, st.Bricks, 3, "%s", body)
		for _, br := range st.Bricks {
			require.NotContains(t, br.Path, "s2b", "removed bricks are gone from the status")
		}
		require.Empty(t, framework.PidsByCmdline(dir+"/s2b"), "the removed bricks' processes stopped")
		// Their data stays on the bricks; the first set's files are still read through the volume.
		require.NotEmpty(t, filesOn(dir+"/s2b1/after"))
		require.NoError(t, framework.VerifyFiles(m.Mountpoint, before))
	})

	t.Run("replica 2 to 3", func(t *testing.T) {
		b := brickOps{t, c}
		dir := t.TempDir()
		vol := b.createStarted("rep2", `"replica_count":2,`, brickList(c, dir, 2))
		m, err := framework.Mount(ctx, t, c.Nodes[0].Host, 0, vol.Name, filepath.Join(t.TempDir(), "m"))
		require.NoError(t, err)
		sums, err := framework.WriteFiles(m.Mountpoint, 40, 32<<10)
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll(filepath.Join(m.Mountpoint, "d1", "d2"), 0o755))
		subSums, err := framework.WriteFiles(filepath.Join(m.Mountpoint, "d1", "d2"), 10, 4<<10)
		require.NoError(t, err)

		t0 := time.Now()
		got, tx := b.operation(200, "POST", "/v1/volumes/rep2/bricks", fmt.Sprintf(`{"bricks":[%s],"replica_count":3,"force":true}`, b.spec(2, dir+"/b3")))
		t.Logf("add-brick replica 3 answered in %s", time.Since(t0).Round(time.Millisecond))
		require.Equal(t, "SUCCEEDED", tx.State)
		require.Equal(t, []string{"prepare-brick", "mark-brick-for-heal", "heal-full", "heal-full"}, stepNames(tx), "%+v", tx.Steps)
		require.Equal(t, "rep2-client-2", tx.Steps[1].Args["client"])
		requireStepsDone(t, tx)
		require.Equal(t, "REPLICATE", got.Type)
		require.Equal(t, 3, got.ReplicaCount)
		require.Equal(t, 3, b.online(vol.Name))

		newBrick := filepath.Join(dir, "b3")
		awaitHealed(t, []string{filepath.Join(dir, "b1"), filepath.Join(dir, "b2"), newBrick}, newBrick, sums, subSums)
		require.NoError(t, framework.VerifyFiles(m.Mountpoint, sums))

		// With two sets, raising the replica count would renumber the second set.
		dir2 := t.TempDir()
		b.createStarted("rep2x2", `"replica_count":2,`, brickList(c, dir2, 4))
		code, body := c.Do("POST", "/v1/volumes/rep2x2/bricks", fmt.Sprintf(`{"bricks":[%s,%s],"replica_count":3}`, b.spec(2, dir2+"/n1"), b.spec(1, dir2+"/n2")))
		require.Equal(t, 412, code, string(body))
		require.Contains(t, string(body), "renumbers 2 brick(s)")
	})

	t.Run("replica 3 replace-brick", func(t *testing.T) {
		b := brickOps{t, c}
		dir := t.TempDir()
		vol := b.createStarted("rb3", `"replica_count":3,`, brickList(c, dir, 3))
		m, err := framework.Mount(ctx, t, c.Nodes[0].Host, 0, vol.Name, filepath.Join(t.TempDir(), "m"))
		require.NoError(t, err)
		sums, err := framework.WriteFiles(m.Mountpoint, 60, 64<<10)
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll(filepath.Join(m.Mountpoint, "d1", "d2"), 0o755))
		subSums, err := framework.WriteFiles(filepath.Join(m.Mountpoint, "d1", "d2"), 20, 4<<10)
		require.NoError(t, err)

		old := vol.Subvolumes[0].Bricks[2]
		newBrick := filepath.Join(dir, "b3-new")
		t0 := time.Now()
		got, tx := b.operation(200, "POST", "/v1/volumes/rb3/bricks/"+old.ID+":replace",
			fmt.Sprintf(`{"new_brick":%s,"force":true}`, b.spec(2, newBrick)))
		t.Logf("replace-brick answered in %s", time.Since(t0).Round(time.Millisecond))
		require.Equal(t, "SUCCEEDED", tx.State)
		require.Equal(t, []string{"prepare-brick", "mark-brick-for-heal", "heal-full", "heal-full"}, stepNames(tx), "%+v", tx.Steps)
		require.Equal(t, "rb3-client-2", tx.Steps[1].Args["client"])
		requireStepsDone(t, tx)
		nb := got.Subvolumes[0].Bricks[2]
		require.NotEqual(t, old.ID, nb.ID)
		require.Equal(t, newBrick, nb.Path)
		require.Equal(t, 3, b.online(vol.Name))
		require.Empty(t, framework.PidsByCmdline("\x00"+old.Path+"\x00"), "the old brick's process stopped")

		t1 := time.Now()
		awaitHealed(t, []string{filepath.Join(dir, "b1"), filepath.Join(dir, "b2"), newBrick}, newBrick, sums, subSums)
		t.Logf("the new brick healed %d files and 2 directories in %s", len(sums)+len(subSums), time.Since(t1).Round(100*time.Millisecond))
		// The mount never stopped working.
		require.NoError(t, framework.VerifyFiles(m.Mountpoint, sums))
		require.NoError(t, framework.VerifyFiles(filepath.Join(m.Mountpoint, "d1", "d2"), subSums))
	})

	t.Run("disperse replace-brick", func(t *testing.T) {
		b := brickOps{t, c}
		dir := t.TempDir()
		vol := b.createStarted("ec3", `"disperse_count":3,"redundancy_count":1,`, brickList(c, dir, 3))
		m, err := framework.Mount(ctx, t, c.Nodes[0].Host, 0, vol.Name, filepath.Join(t.TempDir(), "m"))
		require.NoError(t, err)
		sums, err := framework.WriteFiles(m.Mountpoint, 30, 64<<10)
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll(filepath.Join(m.Mountpoint, "d1", "d2"), 0o755))
		subSums, err := framework.WriteFiles(filepath.Join(m.Mountpoint, "d1", "d2"), 10, 4<<10)
		require.NoError(t, err)

		old := vol.Subvolumes[0].Bricks[2]
		newBrick := filepath.Join(dir, "b3-new")
		t0 := time.Now()
		got, tx := b.operation(200, "POST", "/v1/volumes/ec3/bricks/"+old.ID+":replace", fmt.Sprintf(`{"new_brick":%s,"force":true}`, b.spec(2, newBrick)))
		require.Equal(t, "SUCCEEDED", tx.State)
		require.Equal(t, []string{"prepare-brick", "heal-full", "heal-full"}, stepNames(tx), "disperse needs no mark: %+v", tx.Steps)
		requireStepsDone(t, tx)
		require.Equal(t, newBrick, got.Subvolumes[0].Bricks[2].Path)

		// The new brick gets a fragment of every file, as large as the others'.
		t1 := time.Now()
		other := filepath.Join(dir, "b1")
		var missing []string
		testutil.Await(t, 2*time.Minute, func() bool {
			missing = nil
			for name := range sums {
				a, errA := os.Stat(filepath.Join(newBrick, name))
				o, errO := os.Stat(filepath.Join(other, name))
				if errA != nil || errO != nil || a.Size() != o.Size() {
					missing = append(missing, name)
				}
			}
			for name := range subSums {
				if _, err := os.Stat(filepath.Join(newBrick, "d1", "d2", name)); err != nil {
					missing = append(missing, "d1/d2/"+name)
				}
			}
			p1, _ := framework.PendingHeals(other)
			p2, _ := framework.PendingHeals(newBrick)
			return len(missing) == 0 && len(p1) == 0 && len(p2) == 0
		}, "the new brick holds a fragment of every file: missing %v", &missing)
		t.Logf("the new disperse brick healed %d files %s after the answer", len(sums)+len(subSums), time.Since(t1).Round(100*time.Millisecond))
		// With another brick killed (its node restarts it a second later),
		// reads through the mount need the new brick's fragments.
		awaitConnected(t, m, t0, newBrick)
		pids := framework.PidsByCmdline("\x00" + filepath.Join(dir, "b2") + "\x00")
		require.Len(t, pids, 1)
		require.NoError(t, syscall.Kill(pids[0], syscall.SIGKILL))
		require.NoError(t, framework.VerifyFiles(m.Mountpoint, sums))
		require.NoError(t, framework.VerifyFiles(filepath.Join(m.Mountpoint, "d1", "d2"), subSums))
	})
}

// stepNames lists a transaction's step kinds in order.
func stepNames(tx txnJSON) []string {
	var out []string
	for _, s := range tx.Steps {
		out = append(out, s.Name)
	}
	return out
}

// requireStepsDone checks that every step of tx is done, and logs the
// heal steps' answers.
func requireStepsDone(t *testing.T, tx txnJSON) {
	t.Helper()
	for _, s := range tx.Steps {
		require.Equal(t, "STEP_DONE", s.State, "%s on %s: %+v", s.Name, s.NodeID, s)
		if s.Name == "heal-full" {
			t.Logf("heal-full on node %s: %s", s.NodeID, s.Args["status"])
		}
	}
}

// awaitConnected waits until the mounted client uses a graph with the
// given bricks and is connected to each of them, and logs how long after
// since that was. The portmap sends clients the new graph when the record
// changes, before the new bricks have started, so the clients first fail
// to reach them and connect at their next retry (every 3 s); a directory
// created before then is not spread over them.
func awaitConnected(t *testing.T, m *framework.Mounted, since time.Time, bricks ...string) {
	t.Helper()
	testutil.Await(t, 30*time.Second, func() bool {
		_, _ = os.ReadDir(m.Mountpoint)
		lg, graph := m.Log(), m.ActiveGraph()
		for _, b := range bricks {
			if !strings.Contains(graph, "option remote-subvolume "+b+"\n") || !strings.Contains(lg, "{remote_subvol="+b+"}") {
				return false
			}
		}
		return true
	}, "the mounted client switched to the graph with %v and connected to them", bricks)
	t.Logf("the mounted client reached the new brick(s) %s after the request", time.Since(since).Round(10*time.Millisecond))
}

// mkdirEventually creates dir through a mount that has just taken up a
// graph with new bricks, retrying while DHT still has the parent's layout
// from before they were reachable (mkdir fails with EIO), and logs how long
// that lasted.
func mkdirEventually(t *testing.T, dir string) string {
	t.Helper()
	t0 := time.Now()
	for tries := 1; ; tries++ {
		err := os.Mkdir(dir, 0o755)
		if err == nil {
			if tries > 1 {
				t.Logf("mkdir through the mount succeeded at try %d, after %s", tries, time.Since(t0).Round(10*time.Millisecond))
			}
			return dir
		}
		if time.Since(t0) > 20*time.Second {
			require.NoError(t, err, "mkdir through the mount for 20s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// awaitHealed waits until the heal indexes of bricks drain and newBrick
// holds every file of sums (at its root) and subSums (in d1/d2), byte for
// byte.
func awaitHealed(t *testing.T, bricks []string, newBrick string, sums, subSums map[string]string) {
	t.Helper()
	t0 := time.Now()
	for {
		var pending []int
		total := 0
		for _, br := range bricks {
			p, err := framework.PendingHeals(br)
			require.NoError(t, err)
			pending = append(pending, len(p))
			total += len(p)
		}
		bad := framework.VerifyFiles(newBrick, sums)
		if bad == nil {
			bad = framework.VerifyFiles(filepath.Join(newBrick, "d1", "d2"), subSums)
		}
		if bad == nil && total == 0 {
			t.Logf("healed in %s: %d files on the new brick, byte for byte", time.Since(t0).Round(100*time.Millisecond), len(sums)+len(subSums))
			return
		}
		if time.Since(t0) > 3*time.Minute {
			t.Fatalf("the new brick is not healed after 3m: pending heal entries per brick %v; %d of %d files on it; %v",
				pending, len(filesOn(newBrick))+len(filesOn(filepath.Join(newBrick, "d1", "d2"))), len(sums)+len(subSums), bad)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
