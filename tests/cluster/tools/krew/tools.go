//go:build tools

// Package tools pins the krew command built by ../build.
package tools

import _ "sigs.k8s.io/krew/cmd/krew"
