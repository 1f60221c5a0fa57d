package tests

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
)

// everyPerm is every permission, in serialisation order.
var everyPerm = []string{"CREATE", "MODIFY", "DELETE", "LOCK", "LIST", "ADMIN", "READ"}

// jsonPermList turns a decoded JSON permission list into strings.
func jsonPermList(t testing.TB, v any) []string {
	t.Helper()
	arr, ok := v.([]any)
	if !ok {
		t.Fatalf("permissions %#v is not a JSON array", v)
	}
	out := make([]string, len(arr))
	for i, p := range arr {
		s, ok := p.(string)
		if !ok {
			t.Fatalf("permission %#v is not a string", p)
		}
		out[i] = s
	}
	return out
}

func wantPerms(t testing.TB, what string, got any, want ...string) {
	t.Helper()
	if want == nil {
		want = []string{}
	}
	if g := jsonPermList(t, got); !reflect.DeepEqual(g, want) {
		t.Errorf("%s permissions %q, want %q", what, g, want)
	}
}

// adminGetUser reads a user as admin.
func adminGetUser(t testing.TB, s *server, name string) map[string]any {
	t.Helper()
	return expect(t, s.req("GET", "/users/"+name, s.admin, nil), 200).JSON(t)
}

// adminNewUser creates a user as admin, with password name+"-pw", and
// checks the 201. It does not sign in as them, so no address is familiar
// to them yet (the throttle tests rely on that); s.user also signs in.
func adminNewUser(t testing.TB, s *server, name string, perms ...string) {
	t.Helper()
	if perms == nil {
		perms = []string{}
	}
	expect(t, s.req("POST", "/users", s.admin, map[string]any{"username": name, "password": name + "-pw", "permissions": perms}), 201)
}

func TestUsersCreate(t *testing.T) {
	eachKeyedDB(t, func(t *testing.T, s *server) {
		t.Run("Created201", func(t *testing.T) {
			s := s.on(t)
			before := time.Now().UTC().Add(-2 * time.Second)
			r := expect(t, s.req("POST", "/users", s.admin, map[string]any{"username": "alice", "password": "alice-pw", "permissions": []string{"CREATE", "READ"}}), 201)
			m := r.JSON(t)
			if m["status"] != "success" || m["url"] != "/users/alice" {
				t.Fatalf("create body %s, want status success, url /users/alice", r.Body)
			}
			if loc := r.Header.Get("Location"); loc != "/users/alice" {
				t.Errorf("Location %q, want /users/alice", loc)
			}
			u := adminGetUser(t, s, "alice")
			if u["username"] != "alice" {
				t.Errorf("username %v", u["username"])
			}
			if _, ok := u["password"]; ok {
				t.Error("the password is shown")
			}
			for k := range u {
				if strings.Contains(strings.ToLower(k), "hash") {
					t.Errorf("field %q is shown", k)
				}
			}
			wantPerms(t, "alice", u["permissions"], "CREATE", "READ")
			rd, _ := u["register_date"].(string)
			when, err := time.Parse(time.RFC3339Nano, rd)
			if err != nil {
				t.Fatalf("register_date %q: %v", rd, err)
			}
			if when.Before(before) || when.After(time.Now().Add(2*time.Second)) {
				t.Errorf("register_date %v is not now", when)
			}
			if !strings.HasSuffix(rd, "Z") {
				t.Errorf("register_date %q is not UTC", rd)
			}
			s.login("alice", "alice-pw")
		})

		t.Run("NamesOfEveryAllowedCharacter201", func(t *testing.T) {
			s := s.on(t)
			for _, name := range []string{"a", "Z", "0", "a.b_c-D9", "...", "-x-", "_", strings.Repeat("n", 64)} {
				r := s.req("POST", "/users", s.admin, map[string]any{"username": name, "password": "pw"})
				if r.Status != 201 {
					t.Errorf("username %q: status %d, want 201; %s", name, r.Status, r.Body)
					continue
				}
				if r.JSON(t)["url"] != "/users/"+name {
					t.Errorf("username %q: url %v", name, r.JSON(t)["url"])
				}
				s.login(name, "pw")
			}
			adminGetUser(t, s, strings.Repeat("n", 64))
			adminGetUser(t, s, "a.b_c-D9")
		})

		t.Run("PermissionsOmitted201", func(t *testing.T) {
			s := s.on(t)
			expect(t, s.req("POST", "/users", s.admin, map[string]any{"username": "noperm", "password": "pw"}), 201)
			wantPerms(t, "noperm", adminGetUser(t, s, "noperm")["permissions"])
		})

		t.Run("PermissionsEmpty201", func(t *testing.T) {
			s := s.on(t)
			adminNewUser(t, s, "emptyperm")
			wantPerms(t, "emptyperm", adminGetUser(t, s, "emptyperm")["permissions"])
		})

		t.Run("Duplicate409", func(t *testing.T) {
			s := s.on(t)
			adminNewUser(t, s, "dup", "READ")
			r := expect(t, s.req("POST", "/users", s.admin, map[string]any{"username": "dup", "password": "other", "permissions": []string{"ADMIN"}}), 409)
			wantFailMsg(t, r)
			wantPerms(t, "dup", adminGetUser(t, s, "dup")["permissions"], "READ")
			s.login("dup", "dup-pw")
			expect(t, s.req("POST", "/users", s.admin, map[string]any{"username": "admin", "password": "x"}), 409)
			s.login("admin", "admin-pw")
		})

		for _, name := range []string{"login", "logout", "extend", "password"} {
			t.Run("Reserved_"+name+"_400", func(t *testing.T) {
				s := s.on(t)
				wantFailMsg(t, expect(t, s.req("POST", "/users", s.admin, map[string]any{"username": name, "password": "pw"}), 400))
			})
		}

		badNames := []struct{ name, username string }{
			{"EmptyName400", ""},
			{"Name65Chars400", strings.Repeat("n", 65)},
			{"NameWithSpace400", "a b"},
			{"NameWithSlash400", "a/b"},
			{"NameWithBackslash400", `a\b`},
			{"NameWithNUL400", "a\x00b"},
			{"NameWithNewline400", "a\nb"},
			{"NameWithAt400", "a@b"},
			{"NameNonASCII400", "zoë"},
			{"NameWithPercent400", "a%2Fb"},
		}
		for _, tc := range badNames {
			t.Run(tc.name, func(t *testing.T) {
				s := s.on(t)
				wantFailMsg(t, expect(t, s.req("POST", "/users", s.admin, map[string]any{"username": tc.username, "password": "pw"}), 400), "username")
			})
		}

		badBodies := []struct{ name, body string }{
			{"MissingUsername400", `{"password":"pw","permissions":[]}`},
			{"MissingPassword400", `{"username":"nopw","permissions":[]}`},
			{"EmptyPassword400", `{"username":"emptypw","password":""}`},
			{"Password73Bytes400", `{"username":"longpw","password":"` + strings.Repeat("p", 73) + `"}`},
			{"Password73BytesMultibyte400", `{"username":"longpw2","password":"` + strings.Repeat("é", 36) + `x"}`},
			{"PasswordWithNUL400", `{"username":"nulpw","password":"a\u0000b"}`},
			{"NumberUsername400", `{"username":5,"password":"pw"}`},
			{"NumberPassword400", `{"username":"numpw","password":5}`},
			{"NullPassword400", `{"username":"nullpw","password":null}`},
			{"UnknownPermission400", `{"username":"unk","password":"pw","permissions":["CREATE","SUPERUSER"]}`},
			{"PermissionsNotArray400", `{"username":"pna","password":"pw","permissions":"CREATE"}`},
			{"PermissionNotString400", `{"username":"pns","password":"pw","permissions":[1]}`},
			{"PermissionBitMask400", `{"username":"pbm","password":"pw","permissions":127}`},
			{"NotJSON400", `username=x&password=y`},
			{"JSONArray400", `[{"username":"arr","password":"pw"}]`},
			{"JSONString400", `"hurr durr"`},
			{"EmptyBody400", ``},
			{"TrailingGarbage400", `{"username":"trail","password":"pw"} x`},
			{"TwoObjects400", `{"username":"trail2","password":"pw"}{}`},
		}
		for _, tc := range badBodies {
			t.Run(tc.name, func(t *testing.T) {
				s := s.on(t)
				wantFailMsg(t, expect(t, s.req("POST", "/users", s.admin, tc.body), 400))
			})
		}
		t.Run("RejectedUsersNotCreated", func(t *testing.T) {
			s := s.on(t)
			for _, name := range []string{"nopw", "emptypw", "longpw", "longpw2", "nulpw", "numpw", "nullpw", "unk", "pna", "pns", "pbm", "trail", "trail2"} {
				expect(t, s.req("GET", "/users/"+name, s.admin, nil), 403)
			}
		})

		t.Run("Password72Bytes201", func(t *testing.T) {
			s := s.on(t)
			pw := strings.Repeat("é", 36)
			expect(t, s.req("POST", "/users", s.admin, map[string]any{"username": "pw72", "password": pw}), 201)
			s.login("pw72", pw)
			expect(t, s.req("POST", "/users/login", "", map[string]string{"username": "pw72", "password": pw + "x"}), 401)
		})

		t.Run("DuplicatePermissionsCollapse201", func(t *testing.T) {
			s := s.on(t)
			adminNewUser(t, s, "dupperm", "READ", "CREATE", "READ", "ADMIN", "CREATE", "READ")
			wantPerms(t, "dupperm", adminGetUser(t, s, "dupperm")["permissions"], "CREATE", "ADMIN", "READ")
		})

		orders := [][]string{
			{"READ", "ADMIN", "LIST", "LOCK", "DELETE", "MODIFY", "CREATE"},
			{"LIST", "CREATE", "READ", "MODIFY", "ADMIN", "DELETE", "LOCK"},
			{"ADMIN", "LOCK", "READ", "CREATE", "LIST", "MODIFY", "DELETE"},
		}
		for i, in := range orders {
			t.Run(fmt.Sprintf("PermissionOrder%d", i), func(t *testing.T) {
				s := s.on(t)
				name := fmt.Sprintf("order%d", i)
				adminNewUser(t, s, name, in...)
				wantPerms(t, name, adminGetUser(t, s, name)["permissions"], everyPerm...)
				tok := s.login(name, name+"-pw")
				wantPerms(t, name+" whoami", expect(t, s.req("GET", "/whoami", tok, nil), 200).JSON(t)["permissions"], everyPerm...)
			})
		}
		t.Run("PermissionOrderSubset", func(t *testing.T) {
			s := s.on(t)
			adminNewUser(t, s, "subset", "READ", "LOCK", "MODIFY")
			wantPerms(t, "subset", adminGetUser(t, s, "subset")["permissions"], "MODIFY", "LOCK", "READ")
		})

		t.Run("UnknownFields400", func(t *testing.T) {
			s := s.on(t)
			body := map[string]any{"username": "extra", "password": "pw", "permissions": []string{"READ"}, "favourite_colour": "blue", "nested": map[string]any{"a": []int{1}}}
			wantFailMsg(t, expect(t, s.req("POST", "/users", s.admin, body), 400), `unknown field "favourite_colour"`)
		})

		t.Run("ReadOnlyRegisterDate400", func(t *testing.T) {
			s := s.on(t)
			body := map[string]any{"username": "rodate", "password": "pw", "permissions": []string{}, "register_date": "1999-01-01T00:00:00Z"}
			wantFailMsg(t, expect(t, s.req("POST", "/users", s.admin, body), 400), "register_date", "read-only")
		})

		t.Run("ContentTypeOmitted415", func(t *testing.T) {
			s := s.on(t)
			expect(t, s.req("POST", "/users", s.admin, `{"username":"noct","password":"pw"}`, "Content-Type", ""), 415)
		})
	})
}

func TestUsersGet(t *testing.T) {
	eachKeyedDB(t, func(t *testing.T, s *server) {
		gus := s.user("gus", "CREATE", "MODIFY", "DELETE", "LOCK", "LIST", "READ") // all but ADMIN
		s.user("hal")

		t.Run("Self200", func(t *testing.T) {
			s := s.on(t)
			m := expect(t, s.req("GET", "/users/gus", gus, nil), 200).JSON(t)
			if m["username"] != "gus" {
				t.Errorf("username %v", m["username"])
			}
			wantPerms(t, "gus", m["permissions"], "CREATE", "MODIFY", "DELETE", "LOCK", "LIST", "READ")
			if _, err := time.Parse(time.RFC3339Nano, fmt.Sprint(m["register_date"])); err != nil {
				t.Errorf("register_date: %v", err)
			}
			if _, ok := m["password"]; ok {
				t.Error("the password is shown")
			}
		})

		t.Run("SelfWithoutPermissions200", func(t *testing.T) {
			s := s.on(t)
			tok := s.login("hal", "hal-pw")
			wantPerms(t, "hal", expect(t, s.req("GET", "/users/hal", tok, nil), 200).JSON(t)["permissions"])
		})

		t.Run("OtherAsNonAdmin403", func(t *testing.T) {
			s := s.on(t)
			wantFailMsg(t, expect(t, s.req("GET", "/users/hal", gus, nil), 403))
			wantFailMsg(t, expect(t, s.req("GET", "/users/admin", gus, nil), 403))
		})

		t.Run("MissingAsNonAdmin403", func(t *testing.T) {
			s := s.on(t)
			a := expect(t, s.req("GET", "/users/nobody", gus, nil), 403)
			b := expect(t, s.req("GET", "/users/hal", gus, nil), 403)
			if a.Message() != b.Message() {
				t.Errorf("missing user says %q, existing says %q: names can be probed", a.Message(), b.Message())
			}
		})

		t.Run("SelfCaseVariantAsNonAdmin403", func(t *testing.T) {
			s := s.on(t)
			r := s.req("GET", "/users/GUS", gus, nil)
			if r.Status == 200 && r.JSON(t)["username"] != "gus" {
				t.Fatalf("GET /users/GUS as gus: %s", r.Body)
			}
			if r.Status != 200 && r.Status != 403 {
				t.Fatalf("GET /users/GUS as gus: status %d, want 403 (or 200 if names are case-insensitive)", r.Status)
			}
		})

		t.Run("OtherAsAdmin200", func(t *testing.T) {
			s := s.on(t)
			m := adminGetUser(t, s, "gus")
			if m["username"] != "gus" {
				t.Errorf("username %v", m["username"])
			}
			wantPerms(t, "admin", adminGetUser(t, s, "admin")["permissions"], everyPerm...)
		})

		// API.md §Users: a user that does not exist is 403 for admins too,
		// as the reference server answers (the web UI shows "Invalid user"
		// only on 403, and a blank page on 404).
		t.Run("MissingAsAdmin403", func(t *testing.T) {
			s := s.on(t)
			wantFailMsg(t, expect(t, s.req("GET", "/users/nobody", s.admin, nil), 403))
			expect(t, s.req("GET", "/users/"+strings.Repeat("x", 300), s.admin, nil), 403)
			expect(t, s.req("GET", "/users/a%20b", s.admin, nil), 403)
		})

		t.Run("AnonymousWithAdmin200", func(t *testing.T) {
			s := s.on(t)
			s.setAnon("ADMIN")
			defer s.setAnon()
			if m := expect(t, s.req("GET", "/users/gus", "", nil), 200).JSON(t); m["username"] != "gus" {
				t.Errorf("username %v", m["username"])
			}
			expect(t, s.req("GET", "/users/nobody", "", nil), 403)
		})

		t.Run("BadToken401", func(t *testing.T) {
			s := s.on(t)
			expect(t, s.req("GET", "/users/gus", "garbage", nil), 401)
		})
	})
}

func TestUsersUpdate(t *testing.T) {
	eachKeyedDB(t, func(t *testing.T, s *server) {
		t.Run("PatchPermissions200", func(t *testing.T) {
			s := s.on(t)
			tok := s.user("pp", "READ")
			rd := adminGetUser(t, s, "pp")["register_date"]
			wantEnvelope(t, expect(t, s.req("PATCH", "/users/pp", s.admin, map[string]any{"permissions": []string{"READ", "LIST", "CREATE", "LIST"}}), 200), "success", "User updated.")
			u := adminGetUser(t, s, "pp")
			wantPerms(t, "pp", u["permissions"], "CREATE", "LIST", "READ")
			if u["register_date"] != rd {
				t.Errorf("register_date changed from %v to %v", rd, u["register_date"])
			}
			s.login("pp", "pp-pw") // password unchanged
			// The user's existing token now carries the new permissions.
			wantPerms(t, "pp whoami", expect(t, s.req("GET", "/whoami", tok, nil), 200).JSON(t)["permissions"], "CREATE", "LIST", "READ")
			expect(t, s.req("PATCH", "/users/pp", s.admin, map[string]any{"permissions": []string{}}), 200)
			wantPerms(t, "pp", adminGetUser(t, s, "pp")["permissions"])
		})

		t.Run("PatchPassword200", func(t *testing.T) {
			s := s.on(t)
			adminNewUser(t, s, "ppw", "LIST")
			expect(t, s.req("PATCH", "/users/ppw", s.admin, map[string]any{"password": "fresh"}), 200)
			s.login("ppw", "fresh")
			expect(t, s.req("POST", "/users/login", "", map[string]string{"username": "ppw", "password": "ppw-pw"}), 401)
			wantPerms(t, "ppw", adminGetUser(t, s, "ppw")["permissions"], "LIST")
		})

		t.Run("PatchSameUsername200", func(t *testing.T) {
			s := s.on(t)
			adminNewUser(t, s, "same", "LIST")
			expect(t, s.req("PATCH", "/users/same", s.admin, map[string]any{"username": "same", "permissions": []string{"READ"}}), 200)
			wantPerms(t, "same", adminGetUser(t, s, "same")["permissions"], "READ")
		})

		t.Run("PatchEmptyObject200", func(t *testing.T) {
			s := s.on(t)
			adminNewUser(t, s, "noop", "LOCK")
			expect(t, s.req("PATCH", "/users/noop", s.admin, `{}`), 200)
			wantPerms(t, "noop", adminGetUser(t, s, "noop")["permissions"], "LOCK")
			s.login("noop", "noop-pw")
		})

		t.Run("PatchDifferentUsername400", func(t *testing.T) {
			s := s.on(t)
			adminNewUser(t, s, "ren")
			wantFailMsg(t, expect(t, s.req("PATCH", "/users/ren", s.admin, map[string]any{"username": "renamed"}), 400), "username")
			wantFailMsg(t, expect(t, s.req("PUT", "/users/ren", s.admin, map[string]any{"username": "renamed", "password": "pw", "permissions": []string{}}), 400), "username")
			adminGetUser(t, s, "ren")
			expect(t, s.req("GET", "/users/renamed", s.admin, nil), 403)
			// Nor onto an existing name.
			expect(t, s.req("PATCH", "/users/ren", s.admin, map[string]any{"username": "admin"}), 400)
			s.login("ren", "ren-pw")
		})

		t.Run("PatchPasswordLimits400", func(t *testing.T) {
			s := s.on(t)
			adminNewUser(t, s, "lim")
			for _, pw := range []string{"", strings.Repeat("p", 73), "a\x00b"} {
				wantFailMsg(t, expect(t, s.req("PATCH", "/users/lim", s.admin, map[string]any{"password": pw}), 400), "password")
				wantFailMsg(t, expect(t, s.req("PUT", "/users/lim", s.admin, map[string]any{"username": "lim", "password": pw, "permissions": []string{}}), 400), "password")
			}
			s.login("lim", "lim-pw")
		})

		t.Run("PatchPassword72Bytes200", func(t *testing.T) {
			s := s.on(t)
			adminNewUser(t, s, "lim72")
			pw := strings.Repeat("q", 72)
			expect(t, s.req("PATCH", "/users/lim72", s.admin, map[string]any{"password": pw}), 200)
			s.login("lim72", pw)
			expect(t, s.req("POST", "/users/login", "", map[string]string{"username": "lim72", "password": pw + "q"}), 401)
		})

		t.Run("PutFull200", func(t *testing.T) {
			s := s.on(t)
			adminNewUser(t, s, "putme", "READ")
			rd := adminGetUser(t, s, "putme")["register_date"]
			wantEnvelope(t, expect(t, s.req("PUT", "/users/putme", s.admin, map[string]any{"username": "putme", "password": "put-pw", "permissions": []string{"LOCK", "DELETE"}}), 200), "success", "User updated.")
			u := adminGetUser(t, s, "putme")
			wantPerms(t, "putme", u["permissions"], "DELETE", "LOCK")
			if u["register_date"] != rd {
				t.Errorf("register_date changed from %v to %v", rd, u["register_date"])
			}
			s.login("putme", "put-pw")
			expect(t, s.req("POST", "/users/login", "", map[string]string{"username": "putme", "password": "putme-pw"}), 401)
			expect(t, s.req("PUT", "/users/putme", s.admin, map[string]any{"username": "putme", "password": "put-pw", "permissions": []string{}}), 200)
			wantPerms(t, "putme", adminGetUser(t, s, "putme")["permissions"])
		})

		t.Run("PutWhatWasGot200", func(t *testing.T) {
			// A client PUTs back what it GOT, plus a password: read-only
			// register_date is accepted unchanged.
			s := s.on(t)
			adminNewUser(t, s, "roundtrip", "READ", "LIST")
			u := adminGetUser(t, s, "roundtrip")
			rd := u["register_date"]
			u["password"] = "rt-pw"
			expect(t, s.req("PUT", "/users/roundtrip", s.admin, u), 200)
			u2 := adminGetUser(t, s, "roundtrip")
			wantPerms(t, "roundtrip", u2["permissions"], "LIST", "READ")
			if u2["register_date"] != rd {
				t.Errorf("register_date changed from %v to %v", rd, u2["register_date"])
			}
			s.login("roundtrip", "rt-pw")
		})

		t.Run("ReadOnlyRegisterDateChanged400", func(t *testing.T) {
			s := s.on(t)
			adminNewUser(t, s, "rodate2")
			rd := adminGetUser(t, s, "rodate2")["register_date"]
			wantFailMsg(t, expect(t, s.req("PATCH", "/users/rodate2", s.admin, map[string]any{"register_date": "1999-01-01T00:00:00Z", "permissions": []string{"READ"}}), 400), "register_date")
			wantFailMsg(t, expect(t, s.req("PUT", "/users/rodate2", s.admin, map[string]any{"username": "rodate2", "password": "pw", "permissions": []string{"READ"}, "register_date": "1999-01-01T00:00:00Z"}), 400), "register_date")
			u := adminGetUser(t, s, "rodate2")
			if u["register_date"] != rd {
				t.Errorf("register_date changed from %v to %v", rd, u["register_date"])
			}
			wantPerms(t, "rodate2", u["permissions"])
		})

		t.Run("UnknownFields400", func(t *testing.T) {
			s := s.on(t)
			adminNewUser(t, s, "unkf")
			wantFailMsg(t, expect(t, s.req("PATCH", "/users/unkf", s.admin, map[string]any{"permissions": []string{"READ"}, "shoe_size": 44}), 400), `unknown field "shoe_size"`)
			wantFailMsg(t, expect(t, s.req("PUT", "/users/unkf", s.admin, map[string]any{"username": "unkf", "password": "pw", "permissions": []string{"LIST"}, "shoe_size": 44}), 400), `unknown field "shoe_size"`)
			wantPerms(t, "unkf", adminGetUser(t, s, "unkf")["permissions"])
		})

		adminNewUser(t, s, "target", "READ")
		putMissing := []struct{ name, body string }{
			{"PutMissingUsername400", `{"password":"pw","permissions":[]}`},
			{"PutMissingPassword400", `{"username":"target","permissions":[]}`},
			{"PutMissingPermissions400", `{"username":"target","password":"pw"}`},
			{"PutEmptyObject400", `{}`},
		}
		for _, tc := range putMissing {
			t.Run(tc.name, func(t *testing.T) {
				s := s.on(t)
				wantFailMsg(t, expect(t, s.req("PUT", "/users/target", s.admin, tc.body), 400))
			})
		}
		badBodies := []struct{ name, body string }{
			{"HurrDurr400", `"hurr durr"`},
			{"Array400", `[1]`},
			{"PermissionsString400", `{"permissions": "x"}`},
			{"PermissionsNumber400", `{"permissions": 5}`},
			{"PermissionNotString400", `{"permissions": [1]}`},
			{"UnknownPermission400", `{"permissions": ["READ","ROOT"]}`},
			{"LowercaseOnlyPermission400", `{"permissions": ["sudo"]}`},
			{"PasswordNumber400", `{"password": 5}`},
			{"UsernameNumber400", `{"username": 5}`},
			{"NotJSON400", `permissions=READ`},
			{"TruncatedJSON400", `{"permissions": [`},
			{"Null400", `null`},
			{"EmptyBody400", ``},
		}
		for _, method := range []string{"PATCH", "PUT"} {
			for _, tc := range badBodies {
				t.Run(method+"_"+tc.name, func(t *testing.T) {
					s := s.on(t)
					body := tc.body
					if method == "PUT" && strings.HasPrefix(body, `{"`) {
						// Make every other field right, so the named one is at fault.
						body = `{"username":"target","password":"pw","permissions":[],` + strings.TrimPrefix(body, "{")
					}
					wantFailMsg(t, expect(t, s.req(method, "/users/target", s.admin, body), 400))
				})
			}
		}
		t.Run("TargetUnchanged", func(t *testing.T) {
			s := s.on(t)
			wantPerms(t, "target", adminGetUser(t, s, "target")["permissions"], "READ")
			s.login("target", "target-pw")
		})

		for _, method := range []string{"PATCH", "PUT"} {
			t.Run(method+"_Missing404", func(t *testing.T) {
				s := s.on(t)
				good := map[string]any{"username": "ghost", "password": "pw", "permissions": []string{"READ"}}
				wantFailMsg(t, expect(t, s.req(method, "/users/ghost", s.admin, good), 404))
				expect(t, s.req("GET", "/users/ghost", s.admin, nil), 403)
			})
			// The order of checks puts 404 before 400.
			for _, tc := range append(badBodies, putMissing...) {
				t.Run(method+"_Missing404Before_"+tc.name, func(t *testing.T) {
					s := s.on(t)
					wantFailMsg(t, expect(t, s.req(method, "/users/ghost", s.admin, tc.body), 404))
				})
			}
			t.Run(method+"_MissingRenamed404", func(t *testing.T) {
				s := s.on(t)
				expect(t, s.req(method, "/users/ghost", s.admin, map[string]any{"username": "other", "password": "pw", "permissions": []string{}}), 404)
			})
		}
	})
}

func TestUsersDelete(t *testing.T) {
	eachKeyedDB(t, func(t *testing.T, s *server) {
		t.Run("Deleted200Then404", func(t *testing.T) {
			s := s.on(t)
			tok := s.user("del", "READ")
			wantEnvelope(t, expect(t, s.req("DELETE", "/users/del", s.admin, nil), 200), "success", "User deleted.")
			wantFailMsg(t, expect(t, s.req("GET", "/users/del", s.admin, nil), 403))
			wantFailMsg(t, expect(t, s.req("DELETE", "/users/del", s.admin, nil), 404))
			expect(t, s.req("GET", "/whoami", tok, nil), 401)
			expect(t, s.req("POST", "/users/login", "", map[string]string{"username": "del", "password": "del-pw"}), 401)
			for _, u := range pageAllUsers(t, s, 100) {
				if u["username"] == "del" {
					t.Error("the deleted user is still listed")
				}
			}
		})

		t.Run("Missing404", func(t *testing.T) {
			s := s.on(t)
			wantFailMsg(t, expect(t, s.req("DELETE", "/users/nobody", s.admin, nil), 404))
		})

		t.Run("RecreatedIsNew201", func(t *testing.T) {
			s := s.on(t)
			adminNewUser(t, s, "phoenix", "ADMIN")
			expect(t, s.req("DELETE", "/users/phoenix", s.admin, nil), 200)
			expect(t, s.req("POST", "/users", s.admin, map[string]any{"username": "phoenix", "password": "reborn"}), 201)
			wantPerms(t, "phoenix", adminGetUser(t, s, "phoenix")["permissions"])
			s.login("phoenix", "reborn")
			expect(t, s.req("POST", "/users/login", "", map[string]string{"username": "phoenix", "password": "phoenix-pw"}), 401)
		})

		t.Run("OwnerOfShares409", func(t *testing.T) {
			s := s.on(t)
			tok := s.user("owner", "CREATE")
			id1 := s.newShare(tok, "one.txt")
			id2 := s.newShare(tok, "two.txt")
			r := expect(t, s.req("DELETE", "/users/owner", s.admin, nil), 409)
			wantFailMsg(t, r, "2")
			expect(t, s.req("GET", "/whoami", tok, nil), 200)
			adminGetUser(t, s, "owner")
			expect(t, s.req("DELETE", "/files/"+id1, s.admin, nil), 200)
			wantFailMsg(t, expect(t, s.req("DELETE", "/users/owner", s.admin, nil), 409), "1")
			expect(t, s.req("DELETE", "/files/"+id2, s.admin, nil), 200)
			expect(t, s.req("DELETE", "/users/owner", s.admin, nil), 200)
			expect(t, s.req("GET", "/whoami", tok, nil), 401)
		})

		t.Run("SelfAsAdmin200", func(t *testing.T) {
			s := s.on(t)
			tok := s.user("selfdel", "ADMIN")
			expect(t, s.req("DELETE", "/users/selfdel", tok, nil), 200)
			expect(t, s.req("GET", "/whoami", tok, nil), 401)
		})
	})
}

// pageAllUsers pages forward through GET /users as admin.
func pageAllUsers(t testing.TB, s *server, perPage int) []map[string]any {
	t.Helper()
	var out []map[string]any
	for page := 1; page < 1000; {
		m := expect(t, s.req("GET", fmt.Sprintf("/users?page=%d&per_page=%d", page, perPage), s.admin, nil), 200).JSON(t)
		data, _ := m["data"].([]any)
		for _, d := range data {
			out = append(out, d.(map[string]any))
		}
		next, ok := m["next"].(float64)
		if !ok {
			return out
		}
		if int(next) != page+1 {
			t.Fatalf("page %d: next = %v", page, m["next"])
		}
		page = int(next)
	}
	t.Fatal("paging never ends")
	return nil
}

func TestUsersList(t *testing.T) {
	eachKeyedDB(t, func(t *testing.T, s *server) {
		names := []string{"u7", "u3", "u5", "u1", "u6", "u2", "u4"}
		for _, n := range names {
			adminNewUser(t, s, n, "READ")
		}
		total := len(names) + 1 // and admin

		page := func(t *testing.T, s *server, q string) map[string]any {
			t.Helper()
			return expect(t, s.req("GET", "/users"+q, s.admin, nil), 200).JSON(t)
		}
		wantLinks := func(t *testing.T, m map[string]any, n int, next, prev any, pages int) {
			t.Helper()
			data, ok := m["data"].([]any)
			if !ok {
				t.Fatalf("data is %T", m["data"])
			}
			if len(data) != n {
				t.Errorf("%d items, want %d", len(data), n)
			}
			if fmt.Sprint(m["next"]) != fmt.Sprint(next) || fmt.Sprint(m["prev"]) != fmt.Sprint(prev) || m["pages"] != float64(pages) {
				t.Errorf("next %v prev %v pages %v; want next %v prev %v pages %d", m["next"], m["prev"], m["pages"], next, prev, pages)
			}
			for k := range m {
				if k != "data" && k != "next" && k != "prev" && k != "pages" {
					t.Errorf("unexpected field %q", k)
				}
			}
		}

		t.Run("Defaults200", func(t *testing.T) {
			s := s.on(t)
			m := page(t, s, "")
			wantLinks(t, m, total, nil, nil, 1)
			for _, d := range m["data"].([]any) {
				u := d.(map[string]any)
				if _, ok := u["password"]; ok {
					t.Errorf("user %v shows its password", u["username"])
				}
				if u["username"] == "admin" {
					wantPerms(t, "admin", u["permissions"], everyPerm...)
				} else {
					wantPerms(t, fmt.Sprint(u["username"]), u["permissions"], "READ")
				}
			}
		})

		t.Run("ThreePerPage200", func(t *testing.T) {
			s := s.on(t)
			wantLinks(t, page(t, s, "?per_page=3"), 3, 2, nil, 3)
			wantLinks(t, page(t, s, "?page=1&per_page=3"), 3, 2, nil, 3)
			wantLinks(t, page(t, s, "?page=2&per_page=3"), 3, 3, 1, 3)
			wantLinks(t, page(t, s, "?page=3&per_page=3"), 2, nil, 2, 3)
		})

		t.Run("PastTheEndEmpty200", func(t *testing.T) {
			s := s.on(t)
			wantLinks(t, page(t, s, "?page=4&per_page=3"), 0, nil, 3, 3)
			wantLinks(t, page(t, s, "?page=1000&per_page=3"), 0, nil, 3, 3)
			wantLinks(t, page(t, s, "?page=2147483647&per_page=100"), 0, nil, 1, 1)
			wantLinks(t, page(t, s, "?page=2"), 0, nil, 1, 1)
		})

		t.Run("ExactlyFull200", func(t *testing.T) {
			s := s.on(t)
			wantLinks(t, page(t, s, "?per_page=8"), 8, nil, nil, 1)
			wantLinks(t, page(t, s, "?per_page=4&page=2"), 4, nil, 1, 2)
			wantLinks(t, page(t, s, "?per_page=1&page=8"), 1, nil, 7, 8)
			wantLinks(t, page(t, s, "?per_page=100"), total, nil, nil, 1)
		})

		t.Run("EveryUserOnceInOrder", func(t *testing.T) {
			s := s.on(t)
			for _, per := range []int{1, 2, 3, 5, 100} {
				got := pageAllUsers(t, s, per)
				seen := map[string]int{}
				for _, u := range got {
					seen[fmt.Sprint(u["username"])]++
				}
				for _, n := range append([]string{"admin"}, names...) {
					if seen[n] != 1 {
						t.Errorf("per_page=%d: %s seen %d times", per, n, seen[n])
					}
				}
				if len(got) != total {
					t.Errorf("per_page=%d: %d users, want %d", per, len(got), total)
				}
				type key struct {
					at   time.Time
					name string
				}
				keys := make([]key, len(got))
				for i, u := range got {
					at, err := time.Parse(time.RFC3339Nano, fmt.Sprint(u["register_date"]))
					if err != nil {
						t.Fatalf("register_date: %v", err)
					}
					keys[i] = key{at, fmt.Sprint(u["username"])}
				}
				if !sort.SliceIsSorted(keys, func(i, j int) bool {
					if !keys[i].at.Equal(keys[j].at) {
						return keys[i].at.Before(keys[j].at)
					}
					return keys[i].name < keys[j].name
				}) {
					t.Errorf("per_page=%d: not ordered by register_date then username: %v", per, keys)
				}
				if got[0]["username"] != "admin" {
					t.Errorf("per_page=%d: first user %v, want admin (registered first)", per, got[0]["username"])
				}
			}
		})

		t.Run("BackwardVisitsSameUsers", func(t *testing.T) {
			s := s.on(t)
			forward := pageAllUsers(t, s, 3)
			var backward []map[string]any
			m := page(t, s, "?page=4&per_page=3")
			for prev, ok := m["prev"].(float64); ok; prev, ok = m["prev"].(float64) {
				m = page(t, s, fmt.Sprintf("?page=%d&per_page=3", int(prev)))
				data := m["data"].([]any)
				for i := len(data) - 1; i >= 0; i-- {
					backward = append(backward, data[i].(map[string]any))
				}
			}
			if len(backward) != len(forward) {
				t.Fatalf("backward %d users, forward %d", len(backward), len(forward))
			}
			for i := range forward {
				if forward[i]["username"] != backward[len(backward)-1-i]["username"] {
					t.Fatalf("backward order differs at %d", i)
				}
			}
		})

		bad := []struct{ name, q string }{
			{"PageZero400", "?page=0"},
			{"PageNegative400", "?page=-1"},
			{"PerPageZero400", "?per_page=0"},
			{"PerPageNegative400", "?per_page=-5"},
			{"PerPage101_400", "?per_page=101"},
			{"PageAbc400", "?page=abc"},
			{"PerPageAbc400", "?per_page=abc"},
			{"PageHuge400", "?page=100000000000000000000"},
			{"PerPageHuge400", "?per_page=100000000000000000000"},
			{"PageTooBigForInt32_400", "?page=2147483648"},
			{"PageFloat400", "?page=1.5"},
			{"PageEmpty400", "?page="},
			{"PerPageEmpty400", "?per_page="},
			{"PageHex400", "?page=0x2"},
		}
		for _, tc := range bad {
			t.Run(tc.name, func(t *testing.T) {
				s := s.on(t)
				wantFailMsg(t, expect(t, s.req("GET", "/users"+tc.q, s.admin, nil), 400))
			})
		}

		t.Run("BadPageAnonymous401", func(t *testing.T) {
			s := s.on(t)
			expect(t, s.req("GET", "/users?page=abc", "", nil), 401)
		})

		t.Run("BadPageNonAdmin403", func(t *testing.T) {
			s := s.on(t)
			tok := s.login("u1", "u1-pw")
			expect(t, s.req("GET", "/users?page=abc", tok, nil), 403)
		})
	})
}

func TestUsersPermissionGates(t *testing.T) {
	eachKeyedDB(t, func(t *testing.T, s *server) {
		adminNewUser(t, s, "victim", "READ")
		// Everything but ADMIN.
		almost := s.user("almost", "CREATE", "MODIFY", "DELETE", "LOCK", "LIST", "READ")

		type call struct {
			method, path string
			body         any
		}
		good := []call{
			{"GET", "/users", nil},
			{"POST", "/users", map[string]any{"username": "newbie", "password": "pw", "permissions": []string{}}},
			{"PATCH", "/users/victim", map[string]any{"permissions": []string{"ADMIN"}}},
			{"PUT", "/users/victim", map[string]any{"username": "victim", "password": "pw", "permissions": []string{"ADMIN"}}},
			{"DELETE", "/users/victim", nil},
			{"PATCH", "/users/nobody", map[string]any{"permissions": []string{"ADMIN"}}},
			{"DELETE", "/users/nobody", nil},
			{"GET", "/admin/settings", nil},
			{"PUT", "/admin/settings", map[string]any{"default_permissions": []string{"ADMIN"}}},
			{"PATCH", "/admin/settings", map[string]any{"default_permissions": []string{"ADMIN"}}},
		}
		// Bad bodies too: permission comes before the body.
		badBody := []call{
			{"POST", "/users", `"hurr durr"`},
			{"PATCH", "/users/victim", `[1]`},
			{"PUT", "/users/victim", `{}`},
			{"PUT", "/admin/settings", `[1]`},
			{"PATCH", "/admin/settings", `{"default_permissions":"x"}`},
			{"GET", "/users?page=0", nil},
		}
		calls := append(good, badBody...)

		t.Run("Anonymous401", func(t *testing.T) {
			s := s.on(t)
			for _, c := range calls {
				r := s.req(c.method, c.path, "", c.body)
				if r.Status != 401 {
					t.Errorf("anonymous %s %s: status %d, want 401; %.200s", c.method, c.path, r.Status, r.Body)
				}
			}
		})

		t.Run("AnonymousWithAllButAdmin401", func(t *testing.T) {
			s := s.on(t)
			s.setAnon("CREATE", "MODIFY", "DELETE", "LOCK", "LIST", "READ")
			defer s.setAnon()
			for _, c := range calls {
				if r := s.req(c.method, c.path, "", c.body); r.Status != 401 {
					t.Errorf("anonymous %s %s: status %d, want 401; %.200s", c.method, c.path, r.Status, r.Body)
				}
			}
		})

		t.Run("UserWithoutAdmin403", func(t *testing.T) {
			s := s.on(t)
			for _, c := range calls {
				r := s.req(c.method, c.path, almost, c.body)
				if r.Status != 403 {
					t.Errorf("%s %s without ADMIN: status %d, want 403; %.200s", c.method, c.path, r.Status, r.Body)
				}
			}
			// Not even on oneself.
			expect(t, s.req("PATCH", "/users/almost", almost, map[string]any{"permissions": everyPerm}), 403)
			expect(t, s.req("DELETE", "/users/almost", almost, nil), 403)
		})

		t.Run("NothingChanged", func(t *testing.T) {
			s := s.on(t)
			wantPerms(t, "victim", adminGetUser(t, s, "victim")["permissions"], "READ")
			expect(t, s.req("GET", "/users/newbie", s.admin, nil), 403)
			wantPerms(t, "settings", expect(t, s.req("GET", "/admin/settings", s.admin, nil), 200).JSON(t)["default_permissions"])
			wantPerms(t, "almost", adminGetUser(t, s, "almost")["permissions"], "CREATE", "MODIFY", "DELETE", "LOCK", "LIST", "READ")
		})

		t.Run("AnonymousWithAdmin", func(t *testing.T) {
			s := s.on(t)
			s.setAnon("ADMIN")
			m := expect(t, s.req("GET", "/users", "", nil), 200).JSON(t)
			if n := len(m["data"].([]any)); n != 3 {
				t.Errorf("anonymous admin lists %d users, want 3", n)
			}
			r := expect(t, s.req("POST", "/users", "", map[string]any{"username": "byanon", "password": "pw", "permissions": []string{"READ"}}), 201)
			if r.Header.Get("Location") != "/users/byanon" {
				t.Errorf("Location %q", r.Header.Get("Location"))
			}
			s.login("byanon", "pw")
			expect(t, s.req("PATCH", "/users/byanon", "", map[string]any{"permissions": []string{"LIST"}}), 200)
			wantPerms(t, "byanon", adminGetUser(t, s, "byanon")["permissions"], "LIST")
			expect(t, s.req("GET", "/admin/settings", "", nil), 200)
			expect(t, s.req("DELETE", "/users/byanon", "", nil), 200)
			// A user without ADMIN is still refused though anonymous has it.
			expect(t, s.req("GET", "/users", almost, nil), 403)
			// Anonymous can take its own ADMIN away.
			expect(t, s.req("PUT", "/admin/settings", "", map[string]any{"default_permissions": []string{}}), 200)
			expect(t, s.req("GET", "/users", "", nil), 401)
		})
	})
}
