//go:build tools

// Package tools pins the snapshot-controller and csi-snapshotter commands
// built by ../build, and the client module whose config/crd/ holds the
// snapshot CRDs that tests/cluster/up installs.
package tools

import (
	_ "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	_ "github.com/kubernetes-csi/external-snapshotter/v8/cmd/csi-snapshotter"
	_ "github.com/kubernetes-csi/external-snapshotter/v8/cmd/snapshot-controller"
)
