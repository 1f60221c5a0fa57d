package tests

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// jsonRoute is one operation that takes a JSON body, with a request that
// succeeds when sent as application/json. prepare runs once per request,
// so each gets its own fresh resource.
type jsonRoute struct {
	name    string
	method  string
	want    int
	prepare func(t *testing.T, s *server) (path, token, body string)
}

func jsonRoutes() []jsonRoute {
	return []jsonRoute{
		{"login", "POST", 200, func(t *testing.T, s *server) (string, string, string) {
			return "/users/login", "", `{"username":"admin","password":"admin-pw"}`
		}},
		{"logout", "POST", 200, func(t *testing.T, s *server) (string, string, string) {
			return "/users/logout", s.admin, fmt.Sprintf(`{"token":%q}`, s.login("admin", "admin-pw"))
		}},
		{"changePassword", "POST", 200, func(t *testing.T, s *server) (string, string, string) {
			name := "pw" + randHex(4)
			tok := s.user(name)
			return "/users/password", tok, fmt.Sprintf(`{"old":%q,"new":%q}`, name+"-pw", name+"-pw")
		}},
		{"createUser", "POST", 201, func(t *testing.T, s *server) (string, string, string) {
			return "/users", s.admin, fmt.Sprintf(`{"username":"u%s","password":"pw"}`, randHex(4))
		}},
		{"patchUser", "PATCH", 200, func(t *testing.T, s *server) (string, string, string) {
			name := "p" + randHex(4)
			s.user(name)
			return "/users/" + name, s.admin, `{"permissions":["READ"]}`
		}},
		{"putUser", "PUT", 200, func(t *testing.T, s *server) (string, string, string) {
			name := "p" + randHex(4)
			s.user(name)
			return "/users/" + name, s.admin, fmt.Sprintf(`{"username":%q,"password":"pw","permissions":["READ"]}`, name)
		}},
		{"patchSettings", "PATCH", 200, func(t *testing.T, s *server) (string, string, string) {
			return "/admin/settings", s.admin, `{"default_permissions":[]}`
		}},
		{"putSettings", "PUT", 200, func(t *testing.T, s *server) (string, string, string) {
			return "/admin/settings", s.admin, `{"default_permissions":[]}`
		}},
		{"createShare", "POST", 201, func(t *testing.T, s *server) (string, string, string) {
			return "/files", s.admin, `{"file_name":"a.txt"}`
		}},
		{"patchShare", "PATCH", 200, func(t *testing.T, s *server) (string, string, string) {
			return "/files/" + s.newShare(s.admin, "a.txt"), s.admin, `{"file_name":"b.txt"}`
		}},
		{"putShare", "PUT", 200, func(t *testing.T, s *server) (string, string, string) {
			return "/files/" + s.newShare(s.admin, "a.txt"), s.admin, `{"file_name":"b.txt","owner_name":"admin"}`
		}},
	}
}

// TestStrictContentType: a JSON body under any other Content-Type, or
// none, is 415 on every route that takes one; parameters are fine; routes
// without a body need no Content-Type.
func TestStrictContentType(t *testing.T) {
	types := []struct {
		name        string
		contentType string
		ok          bool
	}{
		{"json_ok", "application/json", true},
		{"json_charset_ok", "application/json; charset=utf-8", true},
		{"json_upper_case_ok", "Application/JSON", true},
		{"text_plain_415", "text/plain", false},
		{"text_plain_charset_415", "text/plain;charset=UTF-8", false},
		{"form_urlencoded_415", "application/x-www-form-urlencoded", false},
		{"multipart_415", "multipart/form-data; boundary=x", false},
		{"none_415", "", false},
		{"json_lookalike_415", "application/jsonp", false},
		{"malformed_415", "application/json; charset", false},
	}
	eachDB(t, func(t *testing.T, s *server) {
		for _, rt := range jsonRoutes() {
			for _, ct := range types {
				t.Run(rt.name+"_"+ct.name, func(t *testing.T) {
					t.Parallel()
					s := s.on(t)
					path, token, body := rt.prepare(t, s)
					r, err := s.try(rt.method, path, token, ct.contentType, []byte(body))
					if err != nil {
						t.Fatal(err)
					}
					if ct.ok {
						expect(t, r, rt.want)
						return
					}
					expectMsg(t, r, 415, "application/json")
				})
			}
		}
		t.Run("refused_body_changes_nothing", func(t *testing.T) {
			t.Parallel()
			s := s.on(t)
			id := s.newShare(s.admin, "a.txt")
			r, err := s.try("PATCH", "/files/"+id, s.admin, "text/plain", []byte(`{"file_name":"b.txt"}`))
			if err != nil {
				t.Fatal(err)
			}
			expect(t, r, 415)
			if got := s.getShare(id).FileName; got != "a.txt" {
				t.Errorf("file_name %q after a 415, want a.txt", got)
			}
		})
		t.Run("resource_errors_come_first", func(t *testing.T) {
			t.Parallel()
			s := s.on(t)
			other := s.user("ct-other", "CREATE", "MODIFY", "READ")
			theirs := s.newShare(other, "t.txt")
			locked := s.newShare(s.admin, "l.txt")
			expect(t, s.req("POST", "/files/"+locked+"/lock", s.admin, nil), 200)
			for _, tc := range []struct {
				name, method, path, token string
				want                      int
			}{
				{"no_token_401", "PATCH", "/files/" + theirs, "", 401},
				{"missing_share_404", "PATCH", "/files/" + missingID(), s.admin, 404},
				{"not_owner_403", "PUT", "/files/" + theirs, s.admin, 403},
				{"locked_423", "PATCH", "/files/" + locked, s.admin, 423},
				{"missing_user_404", "PATCH", "/users/nobody-" + randHex(3), s.admin, 404},
			} {
				r, err := s.try(tc.method, tc.path, tc.token, "text/plain", []byte(`{"file_name":"x"}`))
				if err != nil {
					t.Fatal(err)
				}
				if r.Status != tc.want {
					t.Errorf("%s: status %d, want %d: %s", tc.name, r.Status, tc.want, r.Body)
				}
			}
		})
		t.Run("bodyless_routes_need_no_content_type", func(t *testing.T) {
			t.Parallel()
			s := s.on(t)
			id := s.newShare(s.admin, "a.txt")
			for _, path := range []string{"/files/" + id + "/lock", "/files/" + id + "/unlock", "/users/extend"} {
				r, err := s.try("POST", path, s.admin, "", nil)
				if err != nil {
					t.Fatal(err)
				}
				expect(t, r, 200)
			}
		})
		t.Run("empty_optional_body_needs_no_content_type", func(t *testing.T) {
			t.Parallel()
			s := s.on(t)
			r, err := s.try("POST", "/files", s.admin, "", nil)
			if err != nil {
				t.Fatal(err)
			}
			expect(t, r, 201)
		})
	})
}

// TestStrictUnknownFields: a field the schema does not declare is 400,
// naming it, and changes nothing.
func TestStrictUnknownFields(t *testing.T) {
	eachDB(t, func(t *testing.T, s *server) {
		s.user("uf-user")
		cases := []struct {
			name, method, path, body, field string
		}{
			{"create_share_typo", "POST", "/files", `{"file_nmae":"x"}`, "file_nmae"},
			{"patch_share_typo", "PATCH", "/files/{id}", `{"file_nmae":"x"}`, "file_nmae"},
			{"patch_share_wrong_case", "PATCH", "/files/{id}", `{"FILE_NAME":"x"}`, "FILE_NAME"},
			{"put_share_extra", "PUT", "/files/{id}", `{"file_name":"x","owner_name":"admin","colour":"blue"}`, "colour"},
			{"create_user_extra", "POST", "/users", `{"username":"uf-new","password":"pw","favourite_colour":"blue"}`, "favourite_colour"},
			{"patch_user_typo", "PATCH", "/users/uf-user", `{"permission":["READ"]}`, "permission"},
			{"put_user_extra", "PUT", "/users/uf-user", `{"username":"uf-user","password":"pw","permissions":[],"admin":true}`, "admin"},
			{"patch_settings_typo", "PATCH", "/admin/settings", `{"default_permission":["READ"]}`, "default_permission"},
			{"put_settings_extra", "PUT", "/admin/settings", `{"default_permissions":[],"x":1}`, "x"},
			{"login_extra", "POST", "/users/login", `{"username":"admin","password":"admin-pw","remember":true}`, "remember"},
			{"logout_extra", "POST", "/users/logout", `{"token":"t","everywhere":true}`, "everywhere"},
			{"password_extra", "POST", "/users/password", `{"old":"admin-pw","new":"admin-pw","confirm":"admin-pw"}`, "confirm"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				s := s.on(t)
				id := s.newShare(s.admin, "a.txt")
				path := strings.ReplaceAll(tc.path, "{id}", id)
				r := s.req(tc.method, path, s.admin, tc.body)
				expectMsg(t, r, 400, fmt.Sprintf("unknown field %q", tc.field))
				if sh := s.getShare(id); sh.FileName != "a.txt" || sh.OwnerName == nil || *sh.OwnerName != "admin" {
					t.Errorf("a refused body changed the share: %+v owner %s", sh, strp(sh.OwnerName))
				}
			})
		}
		t.Run("refused_user_body_changes_nothing", func(t *testing.T) {
			t.Parallel()
			s := s.on(t)
			expect(t, s.req("PATCH", "/users/uf-user", s.admin, `{"permissions":["READ"],"colour":"blue"}`), 400)
			wantPerms(t, "uf-user", adminGetUser(t, s, "uf-user")["permissions"])
			expect(t, s.req("POST", "/users", s.admin, `{"username":"uf-new2","password":"pw","x":1}`), 400)
			if r := s.req("GET", "/users/uf-new2", s.admin, nil); r.Status == 200 {
				t.Error("a refused POST /users created the user")
			}
		})
		t.Run("resource_errors_come_first", func(t *testing.T) {
			t.Parallel()
			s := s.on(t)
			locked := s.newShare(s.admin, "l.txt")
			expect(t, s.req("POST", "/files/"+locked+"/lock", s.admin, nil), 200)
			expect(t, s.req("PATCH", "/files/"+missingID(), s.admin, `{"file_nmae":"x"}`), 404)
			expect(t, s.req("PATCH", "/files/"+locked, s.admin, `{"file_nmae":"x"}`), 423)
			expect(t, s.req("PATCH", "/users/nobody-uf", s.admin, `{"permission":[]}`), 404)
		})
	})
}

// TestStrictReadOnlyShare: a share's read-only fields are accepted only
// with the values the share has, so what was GOT can be sent back; another
// value is 400 naming the field and how to change it.
func TestStrictReadOnlyShare(t *testing.T) {
	eachDB(t, func(t *testing.T, s *server) {
		empty := s.newShare(s.admin, "empty.txt")
		full := s.newShare(s.admin, "full.txt")
		s.upload("POST", full, s.admin, []byte("hello, world"), 5)

		t.Run("got_body_sent_back", func(t *testing.T) {
			for _, id := range []string{empty, full} {
				for _, method := range []string{"PATCH", "PUT"} {
					s := s.on(t)
					got := expect(t, s.req("GET", "/files/"+id, s.admin, nil), 200).Body
					expect(t, s.req(method, "/files/"+id, s.admin, got), 200)
					if again := expect(t, s.req("GET", "/files/"+id, s.admin, nil), 200).Body; string(again) != string(got) {
						t.Errorf("%s of the GOT body changed the share:\n%s\n%s", method, got, again)
					}
				}
			}
		})
		t.Run("same_instant_other_spelling", func(t *testing.T) {
			s := s.on(t)
			cd, err := time.Parse(time.RFC3339Nano, s.getShare(empty).CreateDate)
			if err != nil {
				t.Fatal(err)
			}
			other := cd.In(time.FixedZone("", 2*3600)).Format(time.RFC3339Nano)
			expect(t, s.req("PATCH", "/files/"+empty, s.admin, map[string]any{"create_date": other}), 200)
		})

		sha := sha256Hex([]byte("hello, world"))
		cases := []struct {
			name   string
			id     string
			field  string
			value  any
			status int
			says   string // part of the message: how to change it
		}{
			{"share_id_same_ok", empty, "share_id", empty, 200, ""},
			{"share_id_other_rejected", empty, "share_id", missingID(), 400, "never changes"},
			{"locked_same_ok", empty, "locked", false, 200, ""},
			{"locked_true_rejected", empty, "locked", true, 400, "/lock"},
			{"initialized_same_ok", full, "initialized", true, 200, ""},
			{"initialized_true_rejected", empty, "initialized", true, 400, "upload"},
			{"initialized_false_rejected", full, "initialized", false, 400, "upload"},
			{"create_date_other_rejected", empty, "create_date", "2000-01-01T00:00:00Z", 400, "created"},
			{"size_null_ok_when_empty", empty, "size", nil, 200, ""},
			{"size_rejected_when_empty", empty, "size", 3, 400, "content"},
			{"size_same_ok", full, "size", 12, 200, ""},
			{"size_other_rejected", full, "size", 13, 400, "content"},
			{"size_null_rejected_when_full", full, "size", nil, 400, "content"},
			{"sha256_same_ok", full, "sha256", sha, 200, ""},
			{"sha256_other_rejected", full, "sha256", strings.Repeat("0", 64), 400, "content"},
			{"sha256_null_ok_when_empty", empty, "sha256", nil, 200, ""},
			{"locked_wrong_type_rejected", empty, "locked", "yes", 400, ""},
			{"size_wrong_type_rejected", full, "size", "12", 400, ""},
		}
		for _, tc := range cases {
			for _, method := range []string{"PATCH", "PUT"} {
				t.Run(method+"_"+tc.name, func(t *testing.T) {
					t.Parallel()
					s := s.on(t)
					before := s.getShare(tc.id)
					body := map[string]any{tc.field: tc.value, "file_name": before.FileName, "owner_name": before.OwnerName}
					r := s.req(method, "/files/"+tc.id, s.admin, body)
					if tc.status == 200 {
						expect(t, r, 200)
						return
					}
					expectMsg(t, r, tc.status, tc.field, tc.says)
					if after := s.getShare(tc.id); !reflect.DeepEqual(after, before) {
						t.Errorf("a refused body changed the share: %+v, was %+v", after, before)
					}
				})
			}
		}
		t.Run("rename_with_got_fields_renames", func(t *testing.T) {
			t.Parallel()
			s := s.on(t)
			id := s.newShare(s.admin, "old.txt")
			var m map[string]any
			if err := json.Unmarshal(expect(t, s.req("GET", "/files/"+id, s.admin, nil), 200).Body, &m); err != nil {
				t.Fatal(err)
			}
			m["file_name"] = "new.txt"
			expect(t, s.req("PUT", "/files/"+id, s.admin, m), 200)
			if got := s.getShare(id).FileName; got != "new.txt" {
				t.Errorf("file_name %q, want new.txt", got)
			}
		})
		t.Run("resource_errors_come_first", func(t *testing.T) {
			t.Parallel()
			s := s.on(t)
			other := s.user("ro-other", "CREATE", "MODIFY", "READ")
			theirs := s.newShare(other, "t.txt")
			expect(t, s.req("PATCH", "/files/"+missingID(), s.admin, `{"locked":true}`), 404)
			expect(t, s.req("PATCH", "/files/"+theirs, s.admin, `{"locked":true}`), 403)
		})
	})
}

// TestStrictReadOnlyCreate: a new share is the caller's and has the state
// of every new share; a creation body may say so, and nothing else.
func TestStrictReadOnlyCreate(t *testing.T) {
	eachDB(t, func(t *testing.T, s *server) {
		alice := s.user("ro-alice", "CREATE", "READ")
		s.user("ro-bob")
		cases := []struct {
			name   string
			token  string
			body   string
			status int
			field  string
		}{
			{"owner_self_ok", alice, `{"file_name":"f","owner_name":"ro-alice"}`, 201, ""},
			// API.md: the owner is the caller whatever the body says.
			{"owner_other_ignored", alice, `{"file_name":"f","owner_name":"ro-bob"}`, 201, ""},
			{"owner_null_ignored_for_users", alice, `{"file_name":"f","owner_name":null}`, 201, ""},
			{"new_share_state_ok", alice, `{"initialized":false,"locked":false,"size":null,"sha256":null}`, 201, ""},
			{"initialized_rejected", alice, `{"initialized":true}`, 400, "initialized"},
			{"locked_rejected", alice, `{"locked":true}`, 400, "locked"},
			{"size_rejected", alice, `{"size":5}`, 400, "size"},
			{"share_id_rejected", alice, fmt.Sprintf(`{"share_id":%q}`, missingID()), 400, "share_id"},
			{"create_date_rejected", alice, `{"create_date":"2000-01-01T00:00:00Z"}`, 400, "create_date"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				s := s.on(t)
				r := s.req("POST", "/files", tc.token, tc.body)
				if tc.status != 201 {
					expectMsg(t, r, tc.status, tc.field, "read-only")
					return
				}
				expect(t, r, 201)
				id := strings.TrimPrefix(r.JSON(t)["url"].(string), "/files/")
				if sh := s.getShare(id); sh.OwnerName == nil || *sh.OwnerName != "ro-alice" {
					t.Errorf("owner %s, want ro-alice", strp(sh.OwnerName))
				}
			})
		}
		t.Run("anonymous_owner_null_ok", func(t *testing.T) {
			s := s.on(t)
			s.setAnon("CREATE")
			defer s.setAnon()
			expect(t, s.req("POST", "/files", "", `{"file_name":"anon","owner_name":null}`), 201)
			r := expect(t, s.req("POST", "/files", "", `{"file_name":"anon","owner_name":"admin"}`), 201)
			id := strings.TrimPrefix(r.JSON(t)["url"].(string), "/files/")
			if sh := s.getShare(id); sh.OwnerName != nil {
				t.Errorf("owner %s, want null: the body's owner_name is ignored", strp(sh.OwnerName))
			}
		})
	})
}

// TestStrictReadOnlyUser: register_date and username are accepted only
// unchanged on PATCH and PUT, and register_date not at all on creation.
func TestStrictReadOnlyUser(t *testing.T) {
	eachDB(t, func(t *testing.T, s *server) {
		s.user("ro-user", "READ")
		got := adminGetUser(t, s, "ro-user")
		cases := []struct {
			name   string
			method string
			body   map[string]any
			status int
			field  string
		}{
			{"patch_got_body_ok", "PATCH", got, 200, ""},
			{"patch_register_date_other_rejected", "PATCH", map[string]any{"register_date": "2000-01-01T00:00:00Z"}, 400, "register_date"},
			{"patch_username_other_rejected", "PATCH", map[string]any{"username": "someone"}, 400, "username"},
			{"put_register_date_same_ok", "PUT", map[string]any{"username": "ro-user", "password": "ro-user-pw", "permissions": []string{"READ"}, "register_date": got["register_date"]}, 200, ""},
			{"put_register_date_other_rejected", "PUT", map[string]any{"username": "ro-user", "password": "x", "permissions": []string{}, "register_date": "2000-01-01T00:00:00Z"}, 400, "register_date"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				s := s.on(t)
				r := s.req(tc.method, "/users/ro-user", s.admin, tc.body)
				if tc.status == 200 {
					expect(t, r, 200)
				} else {
					expectMsg(t, r, tc.status, tc.field, "read-only")
				}
				wantPerms(t, "ro-user", adminGetUser(t, s, "ro-user")["permissions"], "READ")
				s.login("ro-user", "ro-user-pw")
			})
		}
		t.Run("create_register_date_rejected", func(t *testing.T) {
			s := s.on(t)
			r := s.req("POST", "/users", s.admin, map[string]any{"username": "ro-new", "password": "pw", "register_date": got["register_date"]})
			expectMsg(t, r, 400, "register_date", "read-only")
		})
		t.Run("missing_user_404_first", func(t *testing.T) {
			s := s.on(t)
			expect(t, s.req("PATCH", "/users/ro-nobody", s.admin, map[string]any{"register_date": "2000-01-01T00:00:00Z"}), 404)
		})
	})
}

// TestStrictSpec: openapi.yaml says what the gate does, so generated
// clients see it: every JSON request body refuses unknown fields
// (additionalProperties: false) and every operation taking one declares 415.
func TestStrictSpec(t *testing.T) {
	doc, _, err := loadSpec()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.RequestBody == nil || op.RequestBody.Value.Content.Get("application/json") == nil {
				continue
			}
			n++
			name := method + " " + path + " (" + op.OperationID + ")"
			if op.Responses.Status(415) == nil {
				t.Errorf("%s takes a JSON body but does not declare 415", name)
			}
			sch := op.RequestBody.Value.Content.Get("application/json").Schema.Value
			if ap := sch.AdditionalProperties.Has; ap == nil || *ap {
				t.Errorf("%s: its JSON body schema allows unknown fields; declare additionalProperties: false", name)
			}
		}
	}
	if n == 0 {
		t.Fatal("no operation with a JSON body: the walk found nothing")
	}
}
