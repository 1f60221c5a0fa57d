package tests

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func sha256hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// checksumData is a file of n bytes cut into chunks of size cs, with
// content that differs by seed.
func checksumData(n, cs int, seed byte) (file []byte, parts [][]byte) {
	file = make([]byte, n)
	for i := range file {
		file[i] = byte(i*7) ^ seed
	}
	for off := 0; off < n; off += cs {
		parts = append(parts, file[off:min(off+cs, n)])
	}
	return file, parts
}

// heldChunks is the upload status's held ranges; nil when there are none
// or the server has no such upload (404).
func (s *server) heldChunks(t *testing.T, shareID, token, dz string) []any {
	t.Helper()
	r := s.req("GET", statusPath(shareID, dz), token, nil)
	if r.Status == 404 {
		return nil
	}
	m := expect(t, r, 200).JSON(t)
	held, _ := m["chunks"].([]any)
	if len(held) == 0 {
		return nil
	}
	return held
}

// TestUploadChunkChecksum: dzchunksha256 is checked before a chunk is
// acknowledged; a mismatch is 400 and keeps nothing, whether the chunk
// would have been appended in order or stored on its own, and whether
// the index was held before or not.
func TestUploadChunkChecksum(t *testing.T) {
	eachDB(t, func(t *testing.T, s *server) {
		alice := s.user("alice", "CREATE", "MODIFY", "READ")
		wrong := strings.Repeat("ab", 32)

		t.Run("MismatchKeepsNothingThenRightChunkCompletes", func(t *testing.T) {
			for _, c := range []struct {
				name  string
				order []int // the order chunks are sent in; the bad one first at each index
			}{
				{"InOrder", []int{0, 1, 2}},    // chunk 0 would be appended
				{"OutOfOrder", []int{2, 0, 1}}, // chunk 2 would be stored on its own
			} {
				t.Run(c.name, func(t *testing.T) {
					file, parts := checksumData(3000, 1024, 3)
					id := s.newShare(alice, "f.bin")
					dz := "chunk-sum-" + c.name
					var held []int
					for n, i := range c.order {
						bad := chunk{UUID: dz, Index: i, Total: 3, Data: parts[i], Extra: map[string]string{"dzchunksha256": wrong}}
						r := expect(t, s.sendChunk("POST", id, alice, bad), 400)
						if msg := r.Message(); !strings.Contains(msg, "dzchunksha256") || !strings.Contains(msg, sha256hex(parts[i])) {
							t.Errorf("mismatch message %q names neither the field nor the chunk's digest", msg)
						}
						// Nothing of the bad chunk is held.
						got := s.heldChunks(t, id, alice, dz)
						if want := ranges(held); !reflect.DeepEqual(got, want) {
							t.Fatalf("after a bad chunk %d: held %v, want %v", i, got, want)
						}
						good := chunk{UUID: dz, Index: i, Total: 3, Data: parts[i], Extra: map[string]string{"dzchunksha256": sha256hex(parts[i])}}
						want := 200
						if n == len(c.order)-1 {
							want = 201
						}
						expect(t, s.sendChunk("POST", id, alice, good), want)
						held = append(held, i)
					}
					if got := expect(t, s.content(id, alice), 200).Body; !bytes.Equal(got, file) {
						t.Fatalf("content differs from the file (%d bytes, want %d)", len(got), len(file))
					}
					if got, want := expect(t, s.req("GET", "/files/"+id, alice, nil), 200).JSON(t)["sha256"], sha256hex(file); got != want {
						t.Errorf("share sha256 = %v, want %v", got, want)
					}
				})
			}
		})

		t.Run("BadResendKeepsHeldChunk", func(t *testing.T) {
			file, parts := checksumData(2500, 1000, 9)
			id := s.newShare(alice, "g.bin")
			const dz = "resend"
			expect(t, s.sendChunk("POST", id, alice, chunk{UUID: dz, Index: 0, Total: 3, Data: parts[0]}), 200)
			expect(t, s.sendChunk("POST", id, alice, chunk{UUID: dz, Index: 2, Total: 3, Data: parts[2]}), 200)
			// Re-sends of both (appended and stored-alone) with a corrupted body.
			for _, i := range []int{0, 2} {
				corrupt := append([]byte("X"), parts[i][1:]...)
				expect(t, s.sendChunk("POST", id, alice, chunk{UUID: dz, Index: i, Total: 3, Data: corrupt,
					Extra: map[string]string{"dzchunksha256": sha256hex(parts[i])}}), 400)
			}
			if got, want := s.heldChunks(t, id, alice, dz), ranges([]int{0, 2}); !reflect.DeepEqual(got, want) {
				t.Fatalf("held %v, want %v", got, want)
			}
			expect(t, s.sendChunk("POST", id, alice, chunk{UUID: dz, Index: 1, Total: 3, Data: parts[1],
				Extra: map[string]string{"dzchunksha256": strings.ToUpper(sha256hex(parts[1]))}}), 201)
			if got := expect(t, s.content(id, alice), 200).Body; !bytes.Equal(got, file) {
				t.Fatal("content differs from the file")
			}
		})

		t.Run("LargeChunk", func(t *testing.T) {
			// Over 5 MiB: on S3 a multipart part rather than a staged object.
			file, parts := checksumData(6<<20+5, 6<<20, 1)
			id := s.newShare(alice, "big.bin")
			const dz = "large"
			bad := append([]byte{}, parts[0]...)
			bad[len(bad)/2] ^= 1
			expect(t, s.sendChunk("POST", id, alice, chunk{UUID: dz, Index: 0, Total: 2, Data: bad,
				Extra: map[string]string{"dzchunksha256": sha256hex(parts[0])}}), 400)
			if got := s.heldChunks(t, id, alice, dz); len(got) != 0 {
				t.Fatalf("held %v after a bad chunk, want none", got)
			}
			expect(t, s.sendChunk("POST", id, alice, chunk{UUID: dz, Index: 1, Total: 2, Data: parts[1],
				Extra: map[string]string{"dzchunksha256": sha256hex(parts[1])}}), 200)
			expect(t, s.sendChunk("POST", id, alice, chunk{UUID: dz, Index: 0, Total: 2, Data: parts[0],
				Extra: map[string]string{"dzchunksha256": sha256hex(parts[0])}}), 201)
			if got := expect(t, s.content(id, alice), 200).Body; !bytes.Equal(got, file) {
				t.Fatal("content differs from the file")
			}
		})

		t.Run("Refused", func(t *testing.T) {
			id := s.newShare(alice, "h.bin")
			data := []byte("hello")
			for _, c := range []struct {
				name string
				c    chunk
			}{
				{"AfterFilePart", chunk{UUID: "r", Index: 0, Total: 2, Data: data, FileFirst: true,
					Extra: map[string]string{"dzchunksha256": sha256hex(data)}}},
				{"TooShort", chunk{UUID: "r", Index: 0, Total: 2, Data: data, Extra: map[string]string{"dzchunksha256": sha256hex(data)[1:]}}},
				{"NotHex", chunk{UUID: "r", Index: 0, Total: 2, Data: data, Extra: map[string]string{"dzchunksha256": strings.Repeat("zz", 32)}}},
				{"Empty", chunk{UUID: "r", Index: 0, Total: 2, Data: data, Extra: map[string]string{"dzchunksha256": ""}}},
				{"FileSumNotHex", chunk{UUID: "r", Index: 0, Total: 2, Data: data, Extra: map[string]string{"dzfilesha256": "sha256:" + sha256hex(data)}}},
			} {
				t.Run(c.name, func(t *testing.T) {
					r := expect(t, s.sendChunk("POST", id, alice, c.c), 400)
					if msg := r.Message(); !strings.Contains(msg, "sha256") {
						t.Errorf("message %q does not name the field", msg)
					}
				})
			}
			if got := s.heldChunks(t, id, alice, "r"); len(got) != 0 {
				t.Fatalf("held %v after refused chunks, want none", got)
			}
		})
	})
}

// TestUploadFileChecksum: dzfilesha256 is checked against the joined
// content before the 201; a mismatch is 400, the share's content stays as
// it was, and the upload is dropped.
func TestUploadFileChecksum(t *testing.T) {
	eachDB(t, func(t *testing.T, s *server) {
		alice := s.user("alice", "CREATE", "MODIFY", "READ")
		wrong := strings.Repeat("0f", 32)

		// send sends every chunk in order; sums says which chunks carry
		// which dzfilesha256. It returns the last reply.
		send := func(t *testing.T, method, id, dz string, parts [][]byte, sums map[int]string, dropzone bool) reply {
			t.Helper()
			var r reply
			size := 0
			for _, p := range parts {
				size += len(p)
			}
			for i, p := range parts {
				extra := map[string]string{"dzchunksha256": sha256hex(p)}
				if sum, ok := sums[i]; ok {
					extra["dzfilesha256"] = sum
				}
				if dropzone {
					extra["dzchunksize"] = fmt.Sprint(len(parts[0]))
					extra["dztotalfilesize"] = fmt.Sprint(size)
					extra["dzchunkbyteoffset"] = fmt.Sprint(i * len(parts[0]))
				}
				r = s.sendChunk(method, id, alice, chunk{UUID: dz, Index: i, Total: len(parts), Data: p, Extra: extra})
				if i < len(parts)-1 {
					expect(t, r, 200)
				}
			}
			return r
		}

		t.Run("Matches", func(t *testing.T) {
			for _, c := range []struct {
				name     string
				on       []int // chunks that carry the sum
				dropzone bool
			}{
				{"OnLastChunk", []int{2}, false},
				{"OnFirstChunkOnly", []int{0}, false},
				{"OnEveryChunk", []int{0, 1, 2}, false},
				{"WithDropzoneFields", []int{2}, true},
			} {
				t.Run(c.name, func(t *testing.T) {
					file, parts := checksumData(2100, 1000, 5)
					id := s.newShare(alice, "m.bin")
					sums := map[int]string{}
					for _, i := range c.on {
						sums[i] = sha256hex(file)
					}
					expect(t, send(t, "POST", id, "ok", parts, sums, c.dropzone), 201)
					if got := expect(t, s.content(id, alice), 200).Body; !bytes.Equal(got, file) {
						t.Fatal("content differs from the file")
					}
				})
			}
		})

		t.Run("MismatchOnFirstContent", func(t *testing.T) {
			for _, c := range []struct {
				name string
				on   int
			}{{"SentWithLastChunk", 2}, {"SentWithFirstChunk", 0}} {
				t.Run(c.name, func(t *testing.T) {
					file, parts := checksumData(2100, 1000, 7)
					id := s.newShare(alice, "n.bin")
					r := expect(t, send(t, "POST", id, "bad", parts, map[int]string{c.on: wrong}, false), 400)
					if msg := r.Message(); !strings.Contains(msg, "dzfilesha256") || !strings.Contains(msg, sha256hex(file)) {
						t.Errorf("message %q names neither the field nor the file's digest", msg)
					}
					// No content, and the upload is gone.
					expect(t, s.content(id, alice), 404)
					sh := expect(t, s.req("GET", "/files/"+id, alice, nil), 200).JSON(t)
					if sh["initialized"] != false || sh["sha256"] != nil {
						t.Errorf("share after a refused upload: %v", sh)
					}
					expect(t, s.req("GET", statusPath(id, "bad"), alice, nil), 404)
					// The same dzuuid starts afresh.
					expect(t, send(t, "POST", id, "bad", parts, map[int]string{2: sha256hex(file)}, false), 201)
					if got := expect(t, s.content(id, alice), 200).Body; !bytes.Equal(got, file) {
						t.Fatal("content differs from the file")
					}
				})
			}
		})

		t.Run("MismatchOnReplaceKeepsContent", func(t *testing.T) {
			old, oldParts := checksumData(1500, 1000, 11)
			id := s.newShare(alice, "o.bin")
			expect(t, send(t, "POST", id, "first", oldParts, map[int]string{1: sha256hex(old)}, false), 201)
			_, parts := checksumData(2100, 1000, 13)
			expect(t, send(t, "PUT", id, "second", parts, map[int]string{2: wrong}, false), 400)
			if got := expect(t, s.content(id, alice), 200).Body; !bytes.Equal(got, old) {
				t.Fatal("the share's content changed after a refused replacement")
			}
			if got, want := expect(t, s.req("GET", "/files/"+id, alice, nil), 200).JSON(t)["sha256"], sha256hex(old); got != want {
				t.Errorf("share sha256 = %v, want %v", got, want)
			}
			expect(t, s.req("GET", statusPath(id, "second"), alice, nil), 404)
		})

		t.Run("DisagreeingSums", func(t *testing.T) {
			file, parts := checksumData(2100, 1000, 17)
			id := s.newShare(alice, "p.bin")
			expect(t, s.sendChunk("POST", id, alice, chunk{UUID: "d", Index: 0, Total: 3, Data: parts[0],
				Extra: map[string]string{"dzfilesha256": sha256hex(file)}}), 200)
			r := expect(t, s.sendChunk("POST", id, alice, chunk{UUID: "d", Index: 1, Total: 3, Data: parts[1],
				Extra: map[string]string{"dzfilesha256": wrong}}), 400)
			if msg := r.Message(); !strings.Contains(msg, "dzfilesha256") {
				t.Errorf("message %q does not name the field", msg)
			}
			// The refused chunk was not kept; the upload goes on.
			if got, want := s.heldChunks(t, id, alice, "d"), ranges([]int{0}); !reflect.DeepEqual(got, want) {
				t.Fatalf("held %v, want %v", got, want)
			}
			expect(t, s.sendChunk("POST", id, alice, chunk{UUID: "d", Index: 1, Total: 3, Data: parts[1]}), 200)
			expect(t, s.sendChunk("POST", id, alice, chunk{UUID: "d", Index: 2, Total: 3, Data: parts[2]}), 201)
			if got := expect(t, s.content(id, alice), 200).Body; !bytes.Equal(got, file) {
				t.Fatal("content differs from the file")
			}
		})
	})
}

// ranges is the upload status's form of a set of chunk indexes:
// [[first, last], ...], in order.
func ranges(idx []int) []any {
	sorted := slices.Clone(idx)
	slices.Sort(sorted)
	var out []any
	for i := 0; i < len(sorted); {
		j := i
		for j+1 < len(sorted) && sorted[j+1] == sorted[j]+1 {
			j++
		}
		out = append(out, []any{float64(sorted[i]), float64(sorted[j])})
		i = j + 1
	}
	return out
}
