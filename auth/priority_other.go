//go:build !linux

package auth

func lowerPriority(int) {}

// Niceable reports whether lowerPriority has an effect here.
const Niceable = false
