package api

import "strings"

// secretPathPrefixes are routes whose next path segment is a bearer
// secret (an upload request's token): whoever reads the access log must
// not be able to use it.
var secretPathPrefixes = []string{"/requests/"}

// logPath is the request path as the access log shows it, secrets
// replaced by "REDACTED".
func logPath(p string) string {
	for _, pre := range secretPathPrefixes {
		if rest, ok := strings.CutPrefix(p, pre); ok && rest != "" {
			_, tail, found := strings.Cut(rest, "/")
			if found {
				return pre + "REDACTED/" + tail
			}
			return pre + "REDACTED"
		}
	}
	return p
}
