//go:build tools

// Package tools pins the crictl command built by ../build.
package tools

import _ "sigs.k8s.io/cri-tools/cmd/crictl"
