// Command csi-hostpath is a CSI driver for the test cluster that keeps each
// volume as a directory on the local disk and each snapshot as a tar archive of
// one, the way the upstream CSI hostpath driver does:
//
//	<datadir>/<volume-id>/          a volume's data
//	<datadir>/<snapshot-id>.snap    a snapshot: tar of the volume's directory
//	<datadir>/<snapshot-id>.json    its source volume, time and size
//
// Snapshots are pax-format tars, so they keep what a real snapshot keeps:
// nanosecond mtimes, modes, numeric owners and extended attributes.
//
// It serves the Identity and Controller services (volumes, snapshots, clones)
// over a unix socket, for the real external-provisioner and csi-snapshotter
// sidecars, and the Node service, which bind-mounts <datadir>/<volume-id> on
// the kubelet's target path. With --kubelet-registration-dir it registers
// itself with the kubelet through the plugin registration socket, as the
// upstream node-driver-registrar would. The test pod runner (no kubelet) binds
// the volume directories itself.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
)

const version = "0.2.0"

func main() {
	endpoint := flag.String("endpoint", "", "unix:///path/to/csi.sock to serve on")
	driver := flag.String("drivername", "hostpath.csi.k8s.io", "CSI driver name")
	nodeID := flag.String("nodeid", "", "node ID reported by NodeGetInfo")
	dataDir := flag.String("datadir", "", "directory that holds volumes and snapshots")
	regDir := flag.String("kubelet-registration-dir", "", "the kubelet's plugins_registry directory to register in (none: do not register)")
	flag.Parse()
	if *dataDir == "" || *nodeID == "" || !strings.HasPrefix(*endpoint, "unix://") {
		log.Fatal("need --endpoint=unix:///..., --nodeid and --datadir")
	}
	if err := run(*endpoint, *driver, *nodeID, *dataDir, *regDir); err != nil {
		log.Fatal(err)
	}
}

func run(endpoint, driver, nodeID, dataDir, regDir string) error {
	store, err := newStore(dataDir)
	if err != nil {
		return err
	}
	sock := strings.TrimPrefix(endpoint, "unix://")
	if err := os.Remove(sock); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("removing stale socket %s: %w", sock, err)
	}
	lis, err := net.Listen("unix", sock)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", sock, err)
	}
	server := grpc.NewServer(grpc.UnaryInterceptor(logCalls))
	csi.RegisterIdentityServer(server, &identity{name: driver})
	csi.RegisterControllerServer(server, &controller{store: store})
	csi.RegisterNodeServer(server, &node{id: nodeID, store: store})

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	var reg *grpc.Server
	if regDir != "" {
		reg = grpc.NewServer(grpc.UnaryInterceptor(logCalls))
		regLis, err := serveRegistration(reg, regDir, driver, sock)
		if err != nil {
			return err
		}
		// The socket goes when the server stops, so the kubelet deregisters us.
		go func() {
			if err := reg.Serve(regLis); err != nil {
				log.Printf("registration server: %v", err)
			}
		}()
		log.Printf("registering with the kubelet through %s", regLis.Addr())
	}
	go func() {
		<-ctx.Done()
		if reg != nil {
			reg.Stop()
		}
		server.GracefulStop()
	}()
	log.Printf("%s %s serving on %s, node %s, data in %s", driver, version, sock, nodeID, dataDir)
	return server.Serve(lis)
}

// logCalls logs each call and its error, so a test failure can be read from
// the driver's log.
func logCalls(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	resp, err := handler(ctx, req)
	if err != nil {
		log.Printf("%s: %v", info.FullMethod, err)
	} else if !strings.HasSuffix(info.FullMethod, "/Probe") {
		log.Printf("%s: ok", info.FullMethod)
	}
	return resp, err
}
