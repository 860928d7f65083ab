//go:build tools

// Package tools pins the runc command built by ../build.
package tools

import _ "github.com/opencontainers/runc"
