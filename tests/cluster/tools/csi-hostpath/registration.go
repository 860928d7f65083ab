package main

import (
	"context"
	"fmt"
	"log"
	"net"
	"os"
	"path/filepath"

	"google.golang.org/grpc"
	registerapi "k8s.io/kubelet/pkg/apis/pluginregistration/v1"
)

// registration answers the kubelet's plugin watcher on
// <kubelet root>/plugins_registry/<driver>-reg.sock, which is what the
// upstream node-driver-registrar does (its module is refused by the module
// proxy here): the kubelet asks for the plugin's type, name and CSI endpoint,
// then calls NodeGetInfo on that endpoint and records the driver in the
// node's CSINode object.
type registration struct {
	registerapi.UnimplementedRegistrationServer
	driver   string
	endpoint string
}

func (r *registration) GetInfo(context.Context, *registerapi.InfoRequest) (*registerapi.PluginInfo, error) {
	return &registerapi.PluginInfo{
		Type:              registerapi.CSIPlugin,
		Name:              r.driver,
		Endpoint:          r.endpoint,
		SupportedVersions: []string{"1.0.0"},
	}, nil
}

func (r *registration) NotifyRegistrationStatus(_ context.Context, s *registerapi.RegistrationStatus) (*registerapi.RegistrationStatusResponse, error) {
	if s.GetPluginRegistered() {
		log.Printf("registered with the kubelet as %s", r.driver)
	} else {
		log.Printf("the kubelet refused the registration of %s: %s", r.driver, s.GetError())
	}
	return &registerapi.RegistrationStatusResponse{}, nil
}

// serveRegistration listens on dir/<driver>-reg.sock and serves the
// registration API on server's listener until server stops.
func serveRegistration(server *grpc.Server, dir, driver, csiSocket string) (net.Listener, error) {
	sock := filepath.Join(dir, driver+"-reg.sock")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	if err := os.Remove(sock); err != nil && !os.IsNotExist(err) {
		return nil, fmt.Errorf("removing stale socket %s: %w", sock, err)
	}
	lis, err := net.Listen("unix", sock)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", sock, err)
	}
	registerapi.RegisterRegistrationServer(server, &registration{driver: driver, endpoint: csiSocket})
	return lis, nil
}
