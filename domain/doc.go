// Package domain holds Sachet's domain types — users, shares, uploads,
// permissions — and the small error vocabulary every layer speaks. It knows
// nothing of HTTP, SQL or files.
package domain
