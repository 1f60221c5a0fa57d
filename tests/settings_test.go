package tests

import (
	"io"
	"strconv"
	"strings"
	"testing"
)

// wantOnlyKeys fails unless the object has exactly these keys.
func wantOnlyKeys(t testing.TB, m map[string]any, keys ...string) {
	t.Helper()
	if len(m) != len(keys) {
		t.Errorf("object %v, want exactly the keys %q", m, keys)
	}
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			t.Errorf("object %v lacks %q", m, k)
		}
	}
}

func adminGetSettings(t testing.TB, s *server) map[string]any {
	t.Helper()
	return expect(t, s.req("GET", "/admin/settings", s.admin, nil), 200).JSON(t)
}

func TestSettings(t *testing.T) {
	eachKeyedDB(t, func(t *testing.T, s *server) {
		t.Run("InitialEmpty200", func(t *testing.T) {
			s := s.on(t)
			m := adminGetSettings(t, s)
			wantOnlyKeys(t, m, "default_permissions", "default_quota")
			wantPerms(t, "default", m["default_permissions"])
		})

		t.Run("PutRoundTrip200", func(t *testing.T) {
			s := s.on(t)
			wantEnvelope(t, expect(t, s.req("PUT", "/admin/settings", s.admin, map[string]any{"default_permissions": []string{"READ", "CREATE", "READ"}}), 200), "success", "Settings updated.")
			wantPerms(t, "default", adminGetSettings(t, s)["default_permissions"], "CREATE", "READ")
			wantPerms(t, "anonymous", expect(t, s.req("GET", "/whoami", "", nil), 200).JSON(t)["permissions"], "CREATE", "READ")
			expect(t, s.req("PUT", "/admin/settings", s.admin, map[string]any{"default_permissions": []string{"READ", "ADMIN", "LIST", "LOCK", "DELETE", "MODIFY", "CREATE"}}), 200)
			wantPerms(t, "default", adminGetSettings(t, s)["default_permissions"], everyPerm...)
			expect(t, s.req("PUT", "/admin/settings", s.admin, map[string]any{"default_permissions": []string{}}), 200)
			wantPerms(t, "default", adminGetSettings(t, s)["default_permissions"])
		})

		t.Run("PatchRoundTrip200", func(t *testing.T) {
			s := s.on(t)
			wantEnvelope(t, expect(t, s.req("PATCH", "/admin/settings", s.admin, map[string]any{"default_permissions": []string{"LIST", "LOCK"}}), 200), "success", "Settings updated.")
			wantPerms(t, "default", adminGetSettings(t, s)["default_permissions"], "LOCK", "LIST")
			expect(t, s.req("PATCH", "/admin/settings", s.admin, `{}`), 200)
			wantPerms(t, "default after {}", adminGetSettings(t, s)["default_permissions"], "LOCK", "LIST")
			wantFailMsg(t, expect(t, s.req("PATCH", "/admin/settings", s.admin, map[string]any{"max_upload": 5}), 400), `unknown field "max_upload"`)
			wantPerms(t, "default after an unknown field", adminGetSettings(t, s)["default_permissions"], "LOCK", "LIST")
			expect(t, s.req("PATCH", "/admin/settings", s.admin, map[string]any{"default_permissions": []string{}}), 200)
			wantPerms(t, "default", adminGetSettings(t, s)["default_permissions"])
		})

		t.Run("PutWhatWasGot200", func(t *testing.T) {
			s := s.on(t)
			expect(t, s.req("PUT", "/admin/settings", s.admin, map[string]any{"default_permissions": []string{"READ"}}), 200)
			m := adminGetSettings(t, s)
			expect(t, s.req("PUT", "/admin/settings", s.admin, m), 200)
			wantPerms(t, "default", adminGetSettings(t, s)["default_permissions"], "READ")
			m["server_version"] = "whatever"
			wantFailMsg(t, expect(t, s.req("PUT", "/admin/settings", s.admin, m), 400), `unknown field "server_version"`)
		})

		bad := []struct{ name, body string }{
			{"UnknownCode400", `{"default_permissions":["READ","EVERYTHING"]}`},
			{"LowercaseCode400", `{"default_permissions":["bogus"]}`},
			{"PermissionsString400", `{"default_permissions":"READ"}`},
			{"PermissionsNumber400", `{"default_permissions":64}`},
			{"PermissionNotString400", `{"default_permissions":[1]}`},
			{"HurrDurr400", `"hurr durr"`},
			{"Array400", `[1]`},
			{"ArrayOfCodes400", `["READ"]`},
			{"Number400", `5`},
			{"Null400", `null`},
			{"NotJSON400", `default_permissions=READ`},
			{"TruncatedJSON400", `{"default_permissions":[`},
			{"EmptyBody400", ``},
			{"TrailingGarbage400", `{"default_permissions":["READ"]} x`},
		}
		for _, method := range []string{"PUT", "PATCH"} {
			for _, tc := range bad {
				t.Run(method+"_"+tc.name, func(t *testing.T) {
					s := s.on(t)
					wantFailMsg(t, expect(t, s.req(method, "/admin/settings", s.admin, tc.body), 400))
				})
			}
		}
		t.Run("PUT_MissingField400", func(t *testing.T) {
			s := s.on(t)
			wantFailMsg(t, expect(t, s.req("PUT", "/admin/settings", s.admin, `{}`), 400), "default_permissions")
		})
		t.Run("PUT_NullPermissions400", func(t *testing.T) {
			s := s.on(t)
			wantFailMsg(t, expect(t, s.req("PUT", "/admin/settings", s.admin, `{"default_permissions":null}`), 400))
		})
		t.Run("RejectedLeftUnchanged", func(t *testing.T) {
			s := s.on(t)
			wantPerms(t, "default", adminGetSettings(t, s)["default_permissions"], "READ")
		})

		t.Run("NonAdmin403", func(t *testing.T) {
			s := s.on(t)
			tok := s.user("setuser", "CREATE", "MODIFY", "DELETE", "LOCK", "LIST", "READ")
			wantFailMsg(t, expect(t, s.req("GET", "/admin/settings", tok, nil), 403))
			expect(t, s.req("PUT", "/admin/settings", tok, map[string]any{"default_permissions": everyPerm}), 403)
			expect(t, s.req("PATCH", "/admin/settings", tok, map[string]any{"default_permissions": everyPerm}), 403)
			expect(t, s.req("PUT", "/admin/settings", tok, `"hurr durr"`), 403)
			wantPerms(t, "default", adminGetSettings(t, s)["default_permissions"], "READ")
		})

		t.Run("Anonymous401", func(t *testing.T) {
			s := s.on(t)
			wantFailMsg(t, expect(t, s.req("GET", "/admin/settings", "", nil), 401))
			expect(t, s.req("PUT", "/admin/settings", "", map[string]any{"default_permissions": everyPerm}), 401)
			expect(t, s.req("PATCH", "/admin/settings", "", map[string]any{"default_permissions": everyPerm}), 401)
			expect(t, s.req("PATCH", "/admin/settings", "", `[1]`), 401)
			wantPerms(t, "default", adminGetSettings(t, s)["default_permissions"], "READ")
		})

		t.Run("AnonymousWithAdmin200", func(t *testing.T) {
			s := s.on(t)
			s.setAnon("ADMIN", "READ")
			m := expect(t, s.req("GET", "/admin/settings", "", nil), 200).JSON(t)
			wantPerms(t, "default", m["default_permissions"], "ADMIN", "READ")
			expect(t, s.req("PATCH", "/admin/settings", "", map[string]any{"default_permissions": []string{"READ"}}), 200)
			expect(t, s.req("GET", "/admin/settings", "", nil), 401)
			wantPerms(t, "default", adminGetSettings(t, s)["default_permissions"], "READ")
		})
	})
}

func TestWhoami(t *testing.T) {
	eachKeyedDB(t, func(t *testing.T, s *server) {
		t.Run("AnonymousInitial200", func(t *testing.T) {
			s := s.on(t)
			r := expect(t, s.req("GET", "/whoami", "", nil), 200)
			m := r.JSON(t)
			wantOnlyKeys(t, m, "username", "permissions", "quota", "used_bytes")
			if v, ok := m["username"]; !ok || v != nil {
				t.Errorf("username %v, want null", v)
			}
			wantPerms(t, "anonymous", m["permissions"])
		})

		t.Run("AnonymousWithPermissions200", func(t *testing.T) {
			s := s.on(t)
			s.setAnon("READ", "LIST", "CREATE")
			defer s.setAnon()
			m := expect(t, s.req("GET", "/whoami", "", nil), 200).JSON(t)
			if m["username"] != nil {
				t.Errorf("username %v, want null", m["username"])
			}
			wantPerms(t, "anonymous", m["permissions"], "CREATE", "LIST", "READ")
		})

		t.Run("User200", func(t *testing.T) {
			s := s.on(t)
			tok := s.user("wendy", "READ", "CREATE")
			m := expect(t, s.req("GET", "/whoami", tok, nil), 200).JSON(t)
			wantOnlyKeys(t, m, "username", "permissions", "quota", "used_bytes")
			if m["username"] != "wendy" {
				t.Errorf("username %v", m["username"])
			}
			wantPerms(t, "wendy", m["permissions"], "CREATE", "READ")
		})

		t.Run("UserWithoutPermissions200", func(t *testing.T) {
			s := s.on(t)
			tok := s.user("nobody-much")
			m := expect(t, s.req("GET", "/whoami", tok, nil), 200).JSON(t)
			if m["username"] != "nobody-much" {
				t.Errorf("username %v", m["username"])
			}
			wantPerms(t, "nobody-much", m["permissions"])
		})

		t.Run("UserPermissionsAreNotAnonymous200", func(t *testing.T) {
			// A user's own permissions, not the anonymous ones added in.
			s := s.on(t)
			tok := s.user("solo", "LOCK")
			s.setAnon("READ", "LIST")
			defer s.setAnon()
			wantPerms(t, "solo", expect(t, s.req("GET", "/whoami", tok, nil), 200).JSON(t)["permissions"], "LOCK")
		})

		t.Run("Admin200", func(t *testing.T) {
			s := s.on(t)
			m := expect(t, s.req("GET", "/whoami", s.admin, nil), 200).JSON(t)
			if m["username"] != "admin" {
				t.Errorf("username %v", m["username"])
			}
			wantPerms(t, "admin", m["permissions"], everyPerm...)
		})

		t.Run("BadToken401", func(t *testing.T) {
			s := s.on(t)
			wantFailMsg(t, expect(t, s.req("GET", "/whoami", "garbage", nil), 401))
		})
	})
}

// ---- routing, CORS and JSON limits ----

func TestEnvelopeRouting(t *testing.T) {
	eachKeyedDB(t, func(t *testing.T, s *server) {
		unknown := []struct{ method, path string }{
			{"GET", "/nope"},
			{"POST", "/nope"},
			{"GET", "/api/users"},
			{"GET", "/users/admin/extra"},
			{"GET", "/whoami/x"},
			{"DELETE", "/admin"},
			{"GET", "/admin/settings/x"},
			{"GET", "/users/plain/extra"},
			{"DELETE", "/users/plain/extra"},
			{"PATCH", "/users/plain/extra"},
		}
		plain := s.user("plain", "READ")
		for _, u := range unknown {
			t.Run("UnknownRoute404_"+u.method+strings.ReplaceAll(u.path, "/", "_"), func(t *testing.T) {
				s := s.on(t)
				for who, tok := range map[string]string{"anonymous": "", "admin": s.admin, "plain user": plain} {
					r := s.req(u.method, u.path, tok, nil)
					if r.Status != 404 {
						t.Errorf("%s: status %d, want 404; body %.200s", who, r.Status, r.Body)
						continue
					}
					wantFailMsg(t, r)
				}
			})
		}

		wrong := []struct {
			method, path string
			allow        []string
		}{
			{"DELETE", "/whoami", []string{"GET"}},
			{"POST", "/whoami", []string{"GET"}},
			{"PUT", "/whoami", []string{"GET"}},
			{"POST", "/admin/settings", []string{"GET", "PUT", "PATCH"}},
			{"DELETE", "/admin/settings", []string{"GET", "PUT", "PATCH"}},
			{"DELETE", "/users", []string{"GET", "POST"}},
			{"PUT", "/users", []string{"GET", "POST"}},
			{"POST", "/users/admin", []string{"GET", "PUT", "PATCH", "DELETE"}},
		}
		for _, w := range wrong {
			t.Run("WrongMethod405_"+w.method+strings.ReplaceAll(w.path, "/", "_"), func(t *testing.T) {
				s := s.on(t)
				for _, tok := range []string{"", s.admin} {
					r := expect(t, s.req(w.method, w.path, tok, nil), 405)
					wantFailMsg(t, r)
					allow := strings.ToUpper(strings.Join(r.Header.Values("Allow"), ","))
					if allow == "" {
						t.Fatalf("405 without an Allow header")
					}
					for _, m := range w.allow {
						if !csvHas(allow, m) {
							t.Errorf("Allow %q lacks %s", allow, m)
						}
					}
					if csvHas(allow, w.method) {
						t.Errorf("Allow %q lists the refused method %s", allow, w.method)
					}
				}
			})
		}

		t.Run("ErrorsAreJSON", func(t *testing.T) {
			s := s.on(t)
			for _, r := range []reply{
				s.req("GET", "/nope", "", nil),
				s.req("DELETE", "/whoami", "", nil),
				s.req("GET", "/users", "", nil),
				s.req("POST", "/users/login", "", "{"),
			} {
				if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
					t.Errorf("error Content-Type %q", ct)
				}
				wantFailMsg(t, r)
			}
		})
	})
}

// csvHas reports whether a comma-separated header value lists item
// (case-insensitively).
func csvHas(list, item string) bool {
	for _, v := range strings.Split(list, ",") {
		if strings.EqualFold(strings.TrimSpace(v), item) {
			return true
		}
	}
	return false
}

func TestEnvelopeCORS(t *testing.T) {
	eachKeyedDB(t, func(t *testing.T, s *server) {
		const origin = "http://example.com"
		allowsOrigin := func(t *testing.T, r reply) {
			t.Helper()
			if o := r.Header.Get("Access-Control-Allow-Origin"); o != "*" && o != origin {
				t.Errorf("Access-Control-Allow-Origin %q, want * or %s", o, origin)
			}
		}
		exposes := func(t *testing.T, r reply) {
			t.Helper()
			allowsOrigin(t, r)
			exp := strings.Join(r.Header.Values("Access-Control-Expose-Headers"), ",")
			for _, h := range []string{"Content-Disposition", "ETag", "Location", "Content-Range"} {
				if !csvHas(exp, h) {
					t.Errorf("Access-Control-Expose-Headers %q lacks %s", exp, h)
				}
			}
		}

		// What real browser clients ask for: fetch() callers with tokens,
		// ranges and conditions, and a stock Dropzone.js, which sets
		// X-Requested-With and Cache-Control on every chunk.
		requested := []string{"Authorization", "Content-Type", "Range", "If-Range", "If-Match", "If-None-Match",
			"If-Modified-Since", "If-Unmodified-Since", "X-Requested-With", "Cache-Control"}
		for _, path := range []string{"/users", "/users/login", "/users/admin", "/admin/settings", "/whoami", "/files",
			"/files/9ae90f06-a751-409c-a9fe-8277575b9914/content", "/files/9ae90f06-a751-409c-a9fe-8277575b9914/lock",
			"/files/not-a-uuid", "/no/such/route", "/docs", "/openapi.json"} {
			t.Run("Preflight2xx"+strings.ReplaceAll(path, "/", "_"), func(t *testing.T) {
				s := s.on(t)
				r := s.req("OPTIONS", path, "", nil,
					"Origin", origin,
					"Access-Control-Request-Method", "PUT",
					"Access-Control-Request-Headers", strings.ToLower(strings.Join(requested, ",")))
				if r.Status != 200 && r.Status != 204 {
					t.Fatalf("preflight status %d, want 200 or 204; %s", r.Status, r.Body)
				}
				allowsOrigin(t, r)
				methods := strings.Join(r.Header.Values("Access-Control-Allow-Methods"), ",")
				for _, m := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"} {
					if !csvHas(methods, m) {
						t.Errorf("Access-Control-Allow-Methods %q lacks %s", methods, m)
					}
				}
				headers := strings.Join(r.Header.Values("Access-Control-Allow-Headers"), ",")
				for _, h := range requested {
					if !csvHas(headers, h) {
						t.Errorf("Access-Control-Allow-Headers %q lacks %s", headers, h)
					}
				}
				if n, err := strconv.Atoi(r.Header.Get("Access-Control-Max-Age")); err != nil || n <= 0 {
					t.Errorf("Access-Control-Max-Age %q, want a positive number of seconds", r.Header.Get("Access-Control-Max-Age"))
				}
			})
		}

		t.Run("PreflightWithBadTokenStill2xx", func(t *testing.T) {
			// Browsers send no credentials on a preflight, but a proxy might.
			s := s.on(t)
			r := s.req("OPTIONS", "/users", "garbage", nil,
				"Origin", origin, "Access-Control-Request-Method", "DELETE")
			if r.Status != 200 && r.Status != 204 {
				t.Fatalf("preflight status %d", r.Status)
			}
			allowsOrigin(t, r)
		})

		t.Run("NormalResponse200", func(t *testing.T) {
			s := s.on(t)
			exposes(t, expect(t, s.req("GET", "/whoami", s.admin, nil, "Origin", origin), 200))
			exposes(t, expect(t, s.req("POST", "/users", s.admin, map[string]any{"username": "corsy", "password": "pw"}, "Origin", origin), 201))
			exposes(t, expect(t, s.req("POST", "/users/login", "", map[string]string{"username": "corsy", "password": "pw"}, "Origin", origin), 200))
		})

		t.Run("ErrorResponses", func(t *testing.T) {
			s := s.on(t)
			exposes(t, expect(t, s.req("GET", "/users", "", nil, "Origin", origin), 401))
			exposes(t, expect(t, s.req("GET", "/whoami", "garbage", nil, "Origin", origin), 401))
			exposes(t, expect(t, s.req("POST", "/users/login", "", `{`, "Origin", origin), 400))
			exposes(t, expect(t, s.req("GET", "/users/nobody", s.admin, nil, "Origin", origin), 403))
			exposes(t, expect(t, s.req("GET", "/nope", "", nil, "Origin", origin), 404))
			exposes(t, expect(t, s.req("DELETE", "/whoami", "", nil, "Origin", origin), 405))
		})
	})
}

// nested returns JSON nested depth levels deep.
func jsonNested(depth int, open, close, inner string) string {
	return strings.Repeat(open, depth) + inner + strings.Repeat(close, depth)
}

// unsizedBody hides a reader's length, so the body is sent chunked.
type unsizedBody struct{ io.Reader }

func TestEnvelopeJSONLimits(t *testing.T) {
	eachKeyedDB(t, func(t *testing.T, s *server) {
		deep := []struct{ name, body string }{
			{"DeepArray", jsonNested(10000, "[", "]", "")},
			{"DeepObject", jsonNested(10000, `{"a":`, "}", "1")},
			{"DeepInField", `{"username":"deep","password":"pw","permissions":` + jsonNested(10000, "[", "]", "") + `}`},
			{"DeepUnknownField", `{"username":"deep2","password":"pw","x":` + jsonNested(10000, `{"a":`, "}", "1") + `}`},
			{"DeepUnclosed", strings.Repeat("[", 100000)},
			{"VeryDeep", jsonNested(200000, "[", "]", "")},
		}
		targets := []struct{ method, path string }{
			{"POST", "/users"},
			{"POST", "/users/login"},
			{"PATCH", "/users/admin"},
			{"PUT", "/admin/settings"},
			{"PUT", "/users/admin"},
			{"PATCH", "/admin/settings"},
			{"POST", "/users/logout"},
			{"POST", "/users/password"},
		}
		for _, d := range deep {
			t.Run(d.name+"400", func(t *testing.T) {
				s := s.on(t)
				for _, tg := range targets {
					r := s.req(tg.method, tg.path, s.admin, d.body)
					if r.Status != 400 {
						t.Errorf("%s %s: status %d, want 400; %.200s", tg.method, tg.path, r.Status, r.Body)
					}
				}
				expect(t, s.req("GET", "/users/deep", s.admin, nil), 403)
				expect(t, s.req("GET", "/users/deep2", s.admin, nil), 403)
				expect(t, s.req("GET", "/whoami", s.admin, nil), 200)
			})
		}

		big := `{"username":"big","password":"pw","permissions":[],"pad":"` + strings.Repeat("x", 2<<20) + `"}`
		for i, tg := range targets[:4] {
			t.Run("TwoMiB413_"+tg.method+strings.ReplaceAll(tg.path, "/", "_"), func(t *testing.T) {
				s := s.on(t)
				wantFailMsg(t, expect(t, s.req(tg.method, tg.path, s.admin, big), 413))
			})
			if i%2 == 1 {
				continue
			}
			t.Run("TwoMiBChunked413_"+tg.method+strings.ReplaceAll(tg.path, "/", "_"), func(t *testing.T) {
				s := s.on(t)
				wantFailMsg(t, expect(t, s.req(tg.method, tg.path, s.admin, unsizedBody{strings.NewReader(big)}), 413))
			})
		}
		t.Run("TwoMiBNotCreated", func(t *testing.T) {
			s := s.on(t)
			expect(t, s.req("GET", "/users/big", s.admin, nil), 403)
		})
		t.Run("TwoMiBAnonymous401", func(t *testing.T) {
			// Authentication is judged before the body.
			s := s.on(t)
			expect(t, s.req("POST", "/users", "", big), 401)
		})
		t.Run("TwoMiBNonAdmin403", func(t *testing.T) {
			s := s.on(t)
			tok := s.user("small", "READ")
			expect(t, s.req("POST", "/users", tok, big), 403)
		})
		t.Run("TwoMiBMissingUser404", func(t *testing.T) {
			s := s.on(t)
			expect(t, s.req("PATCH", "/users/ghost", s.admin, big), 404)
		})
		t.Run("ModestBodyWithPadding201", func(t *testing.T) {
			s := s.on(t)
			// Padded with whitespace: an unknown field would be refused.
			body := `{"username":"padded","password":"pw"` + strings.Repeat(" ", 100<<10) + `}`
			expect(t, s.req("POST", "/users", s.admin, body), 201)
		})
		t.Run("ServerStillWell", func(t *testing.T) {
			s := s.on(t)
			r := expect(t, s.req("GET", "/whoami", s.admin, nil), 200)
			if r.JSON(t)["username"] != "admin" {
				t.Fatal("whoami after the abuse")
			}
		})
	})
}
