package tests

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Chunks that arrive in order are appended to their upload's assembly file
// (blobs/assembly) as they stream in, and at completion that file becomes
// the content: the bytes are written once. These tests check the bytes and
// that no second copy was made: the content file is the assembly file's
// inode.
//
// On S3 the same holds through the bucket (obFiles): chunks of 5 MiB or
// more sent in order are parts of the upload's multipart upload (its
// "assembly"), and completing it makes the content in place, at the
// upload's own key: the content's blob id is the multipart upload's.

// asmFiles lists blobs/<dir> with each file's identity: its inode, or on
// S3 the blob id (of a blob, or the key of a multipart upload).
func asmFiles(t testing.TB, s *server, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, name := range obFiles(t, s, dir) {
		if onS3() {
			id := name
			if rest, ok := strings.CutPrefix(name, "u/"); ok {
				id, _, _ = strings.Cut(rest, "/")
			}
			out[name] = id
			continue
		}
		fi, err := os.Stat(filepath.Join(s.Cfg.DataDir, "blobs", dir, name))
		if err != nil {
			continue
		}
		out[name] = fmt.Sprint("inode ", fi.Sys().(*syscall.Stat_t).Ino)
	}
	return out
}

// blobInode is the identity (asmFiles) of the file serving the share's
// content.
func blobInode(t testing.TB, s *server, blobsBefore map[string]string) string {
	t.Helper()
	var ino string
	n := 0
	for name, i := range asmFiles(t, s, "blobs") {
		if _, old := blobsBefore[name]; !old {
			ino = i
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d new content files, want 1", n)
	}
	return ino
}

// asmMinChunk is the smallest chunk that goes onto the assembly: any on
// the filesystem, S3's smallest part on S3.
func asmMinChunk(fileSize int) int {
	if onS3() {
		return max(fileSize, 5<<20)
	}
	return fileSize
}

func sendAll(t *testing.T, s *server, method, id, dzuuid string, c [][]byte, order []int) {
	t.Helper()
	for k, i := range order {
		want := 200
		if k == len(order)-1 {
			want = 201
		}
		expect(t, s.sendChunk(method, id, s.admin, chunk{UUID: dzuuid, Index: i, Total: len(c), Data: c[i]}), want)
	}
}

func TestAssemblyInOrder(t *testing.T) {
	eachDB(t, func(t *testing.T, s *server) {
		s = s.on(t)
		for _, method := range []string{"POST", "PUT"} {
			var id string
			if method == "POST" {
				id = s.newShare(s.admin, "f.bin")
			} else {
				id = s.newShare(s.admin, "g.bin")
				s.upload("POST", id, s.admin, randBytes(100), 1000)
			}
			n := asmMinChunk(300_000)
			data := randBytes(5*n + 777)
			c := split(data, n)
			blobs := asmFiles(t, s, "blobs")
			asmBefore := asmFiles(t, s, "assembly")
			for i := 0; i < len(c)-1; i++ {
				expect(t, s.sendChunk(method, id, s.admin, chunk{UUID: "in-order", Index: i, Total: len(c), Data: c[i]}), 200)
			}
			var asmIno, asmName string
			for name, ino := range asmFiles(t, s, "assembly") {
				if _, old := asmBefore[name]; !old {
					asmName, asmIno = name, ino
				}
			}
			if asmName == "" {
				t.Fatal("no assembly file for an upload sent in order")
			}
			if size := obPartialBytes(t, s); size != int64(len(data)-len(c[len(c)-1])) {
				t.Fatalf("assembly %s: %d bytes; want the %d bytes of the chunks sent", asmName, size, len(data)-len(c[len(c)-1]))
			}
			if n := len(obFiles(t, s, "chunks")); n != 0 {
				t.Errorf("%d chunk files for chunks sent in order", n)
			}
			expect(t, s.sendChunk(method, id, s.admin, chunk{UUID: "in-order", Index: len(c) - 1, Total: len(c), Data: c[len(c)-1]}), 201)
			s.checkContent(id, data)
			if got := s.getShare(id); got.SHA256 == nil || *got.SHA256 != sha256Hex(data) {
				t.Errorf("sha256 %v, want %s", got.SHA256, sha256Hex(data))
			}
			if ino := blobInode(t, s, blobs); ino != asmIno {
				t.Errorf("%s: the content file (%s) is not the assembly file (%s): the chunks were copied", method, ino, asmIno)
			}
			if l := obFiles(t, s, "assembly"); len(l) != 0 {
				t.Errorf("assembly files left after completion: %v", l)
			}
			obNoStrayFiles(t, s)
		}
		if n := len(obFiles(t, s, "blobs")); n != 2 {
			t.Errorf("%d content files for 2 shares (the replaced one not removed?)", n)
		}
	})
}

// TestAssemblyMixedOrder: chunks in order go to the assembly file, the
// others to chunk files; the content is right whatever the mix.
func TestAssemblyMixedOrder(t *testing.T) {
	eachDB(t, func(t *testing.T, s *server) {
		s = s.on(t)
		for _, order := range [][]int{
			{0, 1, 3, 2, 4},    // out of order, then 2 catches up in order
			{0, 2, 1, 3, 4},    // 1 in order after 0; 2 earlier in a file
			{4, 3, 2, 1, 0},    // all out of order but 0
			{1, 0, 2, 3, 4},    // 1 first, then 0 in order
			{0, 1, 2, 4, 3},    // the last-but-one last
			{2, 0, 1, 1, 3, 4}, // a re-send of an appended chunk, same bytes
		} {
			id := s.newShare(s.admin, "m.bin")
			data := randBytes(4*1000 + 3)
			c := split(data, 1000)
			sendAll(t, s, "POST", id, "mixed", c, order)
			s.checkContent(id, data)
		}
		obNoStrayFiles(t, s)
		if l := obFiles(t, s, "assembly"); len(l) != 0 {
			t.Errorf("assembly files left after completion: %v", l)
		}
		if l := obFiles(t, s, "chunks"); len(l) != 0 {
			t.Errorf("chunk files left after completion: %v", l)
		}
	})
}

// TestAssemblyResentAppended: a chunk already appended to the assembly file
// is re-sent with other bytes (and another size): the re-sent bytes win.
func TestAssemblyResentAppended(t *testing.T) {
	eachDB(t, func(t *testing.T, s *server) {
		s = s.on(t)
		for _, resend := range []int{0, 1, 2} { // first, middle, last appended
			id := s.newShare(s.admin, "r.bin")
			c := split(randBytes(4*1000), 1000)
			for i := 0; i < 3; i++ {
				expect(t, s.sendChunk("POST", id, s.admin, chunk{UUID: "re", Index: i, Total: 4, Data: c[i]}), 200)
			}
			c[resend] = randBytes(1500)
			expect(t, s.sendChunk("POST", id, s.admin, chunk{UUID: "re", Index: resend, Total: 4, Data: c[resend]}), 200)
			expect(t, s.sendChunk("POST", id, s.admin, chunk{UUID: "re", Index: 3, Total: 4, Data: c[3]}), 201)
			s.checkContent(id, bytes.Join(c, nil))
		}
		// Re-sent while still the chunk the assembly expects next: it is
		// appended again over the stale one.
		id := s.newShare(s.admin, "r2.bin")
		c := split(randBytes(2*1000), 1000)
		expect(t, s.sendChunk("POST", id, s.admin, chunk{UUID: "re2", Index: 0, Total: 2, Data: c[0]}), 200)
		c[0] = randBytes(700)
		expect(t, s.sendChunk("POST", id, s.admin, chunk{UUID: "re2", Index: 0, Total: 2, Data: c[0]}), 200)
		expect(t, s.sendChunk("POST", id, s.admin, chunk{UUID: "re2", Index: 1, Total: 2, Data: c[1]}), 201)
		s.checkContent(id, bytes.Join(c, nil))
		obNoStrayFiles(t, s)
		if l := obFiles(t, s, "assembly"); len(l) != 0 {
			t.Errorf("assembly files left after completion: %v", l)
		}
	})
}

// TestAssemblyDisconnectThenRetry: a chunk streaming onto the assembly file
// when its client goes away is cut back off; sending it again carries on,
// and the content is still the assembly file, not a copy.
func TestAssemblyDisconnectThenRetry(t *testing.T) {
	eachDB(t, func(t *testing.T, s *server) {
		id := s.newShare(s.admin, "d.bin")
		first := asmMinChunk(1 << 20)
		c := [][]byte{randBytes(first), randBytes(first + 3<<20), randBytes(1000)}
		data := bytes.Join(c, nil)
		expect(t, s.sendChunk("POST", id, s.admin, chunk{UUID: "dc", Index: 0, Total: 3, Data: c[0]}), 200)
		asm := asmFiles(t, s, "assembly")
		if len(asm) != 1 {
			t.Fatalf("assembly files: %v", asm)
		}
		conn := obDial(t, s)
		head, body, _ := obChunkRequest(s, "POST", id, s.admin, "dc", 1, 3, c[1])
		conn.Write(head)
		conn.Write(body[:3<<20])
		obWaitPartial(t, s, int64(first))
		conn.Close()
		obEventually(t, 5*time.Second, "the assembly file was not cut back after the client left", func() bool { return obPartialBytes(t, s) == int64(first) })
		if sh := s.getShare(id); sh.Initialized {
			t.Fatal("initialized by an interrupted chunk")
		}
		blobs := asmFiles(t, s, "blobs")
		expect(t, s.sendChunk("POST", id, s.admin, chunk{UUID: "dc", Index: 1, Total: 3, Data: c[1]}), 200)
		expect(t, s.sendChunk("POST", id, s.admin, chunk{UUID: "dc", Index: 2, Total: 3, Data: c[2]}), 201)
		s.checkContent(id, data)
		for _, ino := range asm {
			if got := blobInode(t, s, blobs); got != ino {
				t.Errorf("content %s, assembly %s: copied after the retry", got, ino)
			}
		}
		obNoStrayFiles(t, s)
	})
}
