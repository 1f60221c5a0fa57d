package tests

import (
	"fmt"
	"testing"
)

// dzForm is a chunk as a stock Dropzone.js sends it (chunking: true): its
// own field names and order, the total named dztotalchunkcount, then the
// file part. Changes override fields ("" drops one); fileFirst moves the
// file part before the fields.
func dzForm(dzuuid string, index, chunkSize int, file []byte, data []byte, fileFirst bool, changes map[string]string) []part {
	total := max(1, (len(file)+chunkSize-1)/chunkSize)
	fields := [][2]string{
		{"dzuuid", dzuuid},
		{"dzchunkindex", fmt.Sprint(index)},
		{"dztotalfilesize", fmt.Sprint(len(file))},
		{"dzchunksize", fmt.Sprint(chunkSize)},
		{"dztotalchunkcount", fmt.Sprint(total)},
		{"dzchunkbyteoffset", fmt.Sprint(index * chunkSize)},
	}
	var parts []part
	up := part{name: "upload", value: string(data), file: true}
	if fileFirst {
		parts = append(parts, up)
	}
	seen := map[string]bool{}
	for _, f := range fields {
		seen[f[0]] = true
		v, ok := changes[f[0]]
		if !ok {
			v = f[1]
		} else if v == "" {
			continue
		}
		parts = append(parts, part{name: f[0], value: v})
	}
	for k, v := range changes {
		if !seen[k] && v != "" {
			parts = append(parts, part{name: k, value: v})
		}
	}
	if !fileFirst {
		parts = append(parts, up)
	}
	return parts
}

// TestUploadDropzoneFields: a stock Dropzone.js's chunk form is accepted
// as it is (dztotalchunkcount for dztotalchunks), its size fields are
// checked, and a chunk they contradict is refused (400) and not kept.
func TestUploadDropzoneFields(t *testing.T) {
	eachDB(t, func(t *testing.T, s *server) {
		const n = 1000
		file := randBytes(2500) // chunks of 1000, 1000, 500
		chunkOf := func(i int) []byte { return file[i*n : min((i+1)*n, len(file))] }

		accepted := []struct {
			name      string
			file      []byte
			fileFirst bool
			changes   map[string]string
		}{
			{"stock_dropzone_fields", file, false, nil},
			{"stock_dropzone_fields_after_file", file, true, nil},
			{"both_total_names_agreeing", file, false, map[string]string{"dztotalchunks": "3"}},
			{"only_dztotalchunks", file, false, map[string]string{"dztotalchunkcount": "", "dztotalchunks": "3"}},
			{"without_dzchunksize", file, false, map[string]string{"dzchunksize": ""}},
			{"without_size_fields", file, false, map[string]string{"dzchunksize": "", "dztotalfilesize": "", "dzchunkbyteoffset": ""}},
			{"empty_file", []byte{}, false, nil},
			{"one_short_chunk", file[:10], false, nil},
		}
		for _, tc := range accepted {
			t.Run(tc.name+"_completes", func(t *testing.T) {
				t.Parallel()
				s := s.on(t)
				id := s.newShare(s.admin, "dz.bin")
				total := max(1, (len(tc.file)+n-1)/n)
				for i := 0; i < total; i++ {
					data := tc.file[i*n : min((i+1)*n, len(tc.file))]
					r := s.sendParts("POST", id, s.admin, dzForm("dz-"+tc.name, i, n, tc.file, data, tc.fileFirst, tc.changes)...)
					expect(t, r, map[bool]int{true: 201, false: 200}[i == total-1])
				}
				s.checkContent(id, tc.file)
			})
		}

		refused := []struct {
			name      string
			index     int
			data      []byte
			fileFirst bool
			changes   map[string]string
			mention   string
		}{
			{"total_names_disagree", 0, chunkOf(0), false, map[string]string{"dztotalchunks": "4"}, "disagree"},
			{"offset_not_index_times_size", 1, chunkOf(1), false, map[string]string{"dzchunkbyteoffset": "999"}, "dzchunkbyteoffset"},
			{"count_not_from_sizes", 1, chunkOf(1), false, map[string]string{"dztotalchunkcount": "4"}, "dztotalchunkcount"},
			{"count_not_from_sizes_file_first", 1, chunkOf(1), true, map[string]string{"dztotalchunkcount": "2"}, "dztotalchunkcount"},
			{"chunk_size_zero", 0, chunkOf(0), false, map[string]string{"dzchunksize": "0"}, "dzchunksize"},
			{"offset_past_file", 2, chunkOf(2), false, map[string]string{"dzchunksize": "", "dzchunkbyteoffset": "2501"}, "dzchunkbyteoffset"},
			{"non_last_chunk_short", 0, chunkOf(0)[:999], false, nil, "dzchunksize"},
			{"non_last_chunk_long", 1, append(chunkOf(1), 'x'), false, nil, "dzchunksize"},
			{"non_last_chunk_short_file_first", 0, chunkOf(0)[:1], true, nil, "dzchunksize"},
			{"non_last_chunk_long_file_first", 1, append(chunkOf(1), 'x'), true, nil, "dzchunksize"},
			{"last_chunk_short", 2, chunkOf(2)[:499], false, nil, "dztotalfilesize"},
			{"last_chunk_long", 2, append(chunkOf(2), 'x'), false, nil, "dztotalfilesize"},
			{"last_chunk_empty", 2, []byte{}, false, nil, "dztotalfilesize"},
			{"last_chunk_long_file_first", 2, append(chunkOf(2), 'x'), true, nil, "dztotalfilesize"},
			{"last_chunk_short_without_dzchunksize", 2, chunkOf(2)[:400], false, map[string]string{"dzchunksize": ""}, "dztotalfilesize"},
			{"past_file_end_without_dzchunksize", 1, append(chunkOf(1), file[:600]...), false, map[string]string{"dzchunksize": ""}, "dztotalfilesize"},
			{"unknown_field", 0, chunkOf(0), false, map[string]string{"dzchunkidx": "0"}, `"dzchunkidx"`},
			{"unknown_field_after_file", 0, chunkOf(0), true, map[string]string{"filename": "x"}, `"filename"`},
		}
		for _, tc := range refused {
			for _, method := range []string{"POST", "PUT"} {
				t.Run(method+"_"+tc.name+"_bad_request_not_kept", func(t *testing.T) {
					t.Parallel()
					s := s.on(t)
					id := s.newShare(s.admin, "dz.bin")
					old := []byte("old content")
					if method == "PUT" {
						s.uploadAs("POST", id, s.admin, "first", old, 100, nil)
					}
					up := "dz-" + tc.name
					expectMsg(t, s.sendParts(method, id, s.admin, dzForm(up, tc.index, n, file, tc.data, tc.fileFirst, tc.changes)...), 400, tc.mention)
					// Not kept: every other chunk of the same upload is
					// accepted without completing it, and only a good copy
					// of the refused one completes it.
					for i := 0; i < 3; i++ {
						if i != tc.index {
							expect(t, s.sendParts(method, id, s.admin, dzForm(up, i, n, file, chunkOf(i), false, nil)...), 200)
						}
					}
					if method == "POST" && s.getShare(id).Initialized {
						t.Fatal("the upload completed without the refused chunk")
					}
					if method == "PUT" {
						s.checkContent(id, old)
					}
					expect(t, s.sendParts(method, id, s.admin, dzForm(up, tc.index, n, file, chunkOf(tc.index), false, nil)...), 201)
					s.checkContent(id, file)
				})
			}
		}

		t.Run("unnamed_part_bad_request", func(t *testing.T) {
			t.Parallel()
			s := s.on(t)
			id := s.newShare(s.admin, "dz.bin")
			body := "--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--\r\n"
			r, err := s.try("POST", "/files/"+id+"/content", s.admin, "multipart/form-data; boundary=b", []byte(body))
			if err != nil {
				t.Fatal(err)
			}
			expectMsg(t, r, 400, "no name")
		})
		t.Run("unknown_file_part_bad_request", func(t *testing.T) {
			t.Parallel()
			s := s.on(t)
			id := s.newShare(s.admin, "dz.bin")
			parts := append(dzForm("dz-file", 0, n, file[:10], file[:10], false, nil), part{name: "file", value: "x", file: true})
			expectMsg(t, s.sendParts("POST", id, s.admin, parts...), 400, `"file"`)
			if s.getShare(id).Initialized {
				t.Fatal("a refused request initialized the share")
			}
		})
	})
}
