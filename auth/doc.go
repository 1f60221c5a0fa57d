// Package auth issues and verifies Sachet's bearer tokens (HS256 JWTs) and
// hashes and checks passwords with bcrypt.
package auth
