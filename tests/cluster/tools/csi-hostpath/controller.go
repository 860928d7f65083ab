package main

import (
	"context"
	"errors"
	"sort"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

type controller struct {
	csi.UnimplementedControllerServer
	store *store
}

// grpcError maps a store error to the CSI status code the sidecars expect.
func grpcError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, errNotFound) {
		return status.Error(codes.NotFound, err.Error())
	}
	return status.Error(codes.Internal, err.Error())
}

func (c *controller) ControllerGetCapabilities(context.Context, *csi.ControllerGetCapabilitiesRequest) (*csi.ControllerGetCapabilitiesResponse, error) {
	var caps []*csi.ControllerServiceCapability
	for _, t := range []csi.ControllerServiceCapability_RPC_Type{
		csi.ControllerServiceCapability_RPC_CREATE_DELETE_VOLUME,
		csi.ControllerServiceCapability_RPC_CREATE_DELETE_SNAPSHOT,
		csi.ControllerServiceCapability_RPC_LIST_SNAPSHOTS,
		csi.ControllerServiceCapability_RPC_CLONE_VOLUME,
	} {
		caps = append(caps, &csi.ControllerServiceCapability{
			Type: &csi.ControllerServiceCapability_Rpc{Rpc: &csi.ControllerServiceCapability_RPC{Type: t}},
		})
	}
	return &csi.ControllerGetCapabilitiesResponse{Capabilities: caps}, nil
}

func (c *controller) CreateVolume(_ context.Context, req *csi.CreateVolumeRequest) (*csi.CreateVolumeResponse, error) {
	id := req.GetName()
	if err := validID(id); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	if len(req.GetVolumeCapabilities()) == 0 {
		return nil, status.Error(codes.InvalidArgument, "no volume capabilities")
	}
	for _, vc := range req.GetVolumeCapabilities() {
		if vc.GetBlock() != nil {
			return nil, status.Error(codes.InvalidArgument, "block volumes are not supported")
		}
	}
	var fill func(string) error
	source := req.GetVolumeContentSource()
	switch {
	case source.GetSnapshot() != nil:
		snap := source.GetSnapshot().GetSnapshotId()
		fill = func(dir string) error { return c.store.restoreSnapshot(snap, dir) }
	case source.GetVolume() != nil:
		vol := source.GetVolume().GetVolumeId()
		fill = func(dir string) error { return c.store.copyVolume(vol, dir) }
	}
	if _, err := c.store.createVolume(id, fill); err != nil {
		return nil, grpcError(err)
	}
	return &csi.CreateVolumeResponse{Volume: &csi.Volume{
		VolumeId:      id,
		CapacityBytes: req.GetCapacityRange().GetRequiredBytes(),
		VolumeContext: req.GetParameters(),
		ContentSource: source,
	}}, nil
}

func (c *controller) DeleteVolume(_ context.Context, req *csi.DeleteVolumeRequest) (*csi.DeleteVolumeResponse, error) {
	if err := validID(req.GetVolumeId()); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return &csi.DeleteVolumeResponse{}, grpcError(c.store.deleteVolume(req.GetVolumeId()))
}

func (c *controller) ValidateVolumeCapabilities(_ context.Context, req *csi.ValidateVolumeCapabilitiesRequest) (*csi.ValidateVolumeCapabilitiesResponse, error) {
	if err := validID(req.GetVolumeId()); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	if !isDir(c.store.volumePath(req.GetVolumeId())) {
		return nil, status.Errorf(codes.NotFound, "volume %s not found", req.GetVolumeId())
	}
	return &csi.ValidateVolumeCapabilitiesResponse{Confirmed: &csi.ValidateVolumeCapabilitiesResponse_Confirmed{
		VolumeContext:      req.GetVolumeContext(),
		VolumeCapabilities: req.GetVolumeCapabilities(),
		Parameters:         req.GetParameters(),
	}}, nil
}

func toCSISnapshot(id string, meta snapshotMeta) *csi.Snapshot {
	return &csi.Snapshot{
		SnapshotId:     id,
		SourceVolumeId: meta.SourceVolumeID,
		SizeBytes:      meta.SizeBytes,
		CreationTime:   timestamppb.New(meta.CreatedAt),
		ReadyToUse:     true,
	}
}

func (c *controller) CreateSnapshot(_ context.Context, req *csi.CreateSnapshotRequest) (*csi.CreateSnapshotResponse, error) {
	id, src := req.GetName(), req.GetSourceVolumeId()
	for _, v := range []string{id, src} {
		if err := validID(v); err != nil {
			return nil, status.Error(codes.InvalidArgument, err.Error())
		}
	}
	meta, existed, err := c.store.createSnapshot(id, src)
	if err != nil {
		return nil, grpcError(err)
	}
	if existed && meta.SourceVolumeID != src {
		return nil, status.Errorf(codes.AlreadyExists, "snapshot %s exists for volume %s", id, meta.SourceVolumeID)
	}
	return &csi.CreateSnapshotResponse{Snapshot: toCSISnapshot(id, meta)}, nil
}

func (c *controller) DeleteSnapshot(_ context.Context, req *csi.DeleteSnapshotRequest) (*csi.DeleteSnapshotResponse, error) {
	if err := validID(req.GetSnapshotId()); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return &csi.DeleteSnapshotResponse{}, grpcError(c.store.deleteSnapshot(req.GetSnapshotId()))
}

// ListSnapshots answers in one page: the test cluster holds few snapshots.
func (c *controller) ListSnapshots(_ context.Context, req *csi.ListSnapshotsRequest) (*csi.ListSnapshotsResponse, error) {
	if req.GetStartingToken() != "" {
		return nil, status.Error(codes.Aborted, "no pages beyond the first")
	}
	all, err := c.store.listSnapshots()
	if err != nil {
		return nil, grpcError(err)
	}
	ids := make([]string, 0, len(all))
	for id, meta := range all {
		if want := req.GetSnapshotId(); want != "" && want != id {
			continue
		}
		if want := req.GetSourceVolumeId(); want != "" && want != meta.SourceVolumeID {
			continue
		}
		ids = append(ids, id)
	}
	sort.Strings(ids)
	resp := &csi.ListSnapshotsResponse{}
	for _, id := range ids {
		resp.Entries = append(resp.Entries, &csi.ListSnapshotsResponse_Entry{Snapshot: toCSISnapshot(id, all[id])})
	}
	return resp, nil
}
