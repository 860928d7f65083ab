package main

import (
	"context"

	"github.com/container-storage-interface/spec/lib/go/csi"
)

// node answers NodeGetInfo only: nothing is staged or published, because no
// kubelet calls the node service here.
type node struct {
	csi.UnimplementedNodeServer
	id string
}

func (n *node) NodeGetInfo(context.Context, *csi.NodeGetInfoRequest) (*csi.NodeGetInfoResponse, error) {
	return &csi.NodeGetInfoResponse{NodeId: n.id}, nil
}

func (n *node) NodeGetCapabilities(context.Context, *csi.NodeGetCapabilitiesRequest) (*csi.NodeGetCapabilitiesResponse, error) {
	return &csi.NodeGetCapabilitiesResponse{}, nil
}
