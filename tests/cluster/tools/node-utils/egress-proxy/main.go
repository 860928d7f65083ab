// Command egress-proxy is the kube-apiserver's way into the test node's
// network namespace. The apiserver runs on the host's loopback; the kubelet,
// pods and Service IPs live in a network namespace of their own. The
// apiserver's EgressSelectorConfiguration sends its "cluster" traffic (kubelet
// logs, exec and port-forward; Service-backed webhooks) as HTTP CONNECT over a
// unix socket, which crosses namespaces. This program, started inside the
// node's namespace, accepts those CONNECTs and dials the target from there, the
// way the konnectivity server does in HTTPConnect mode.
package main

import (
	"bufio"
	"flag"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	socket := flag.String("socket", "", "unix socket to accept CONNECT requests on")
	flag.Parse()
	if *socket == "" {
		log.Fatal("need --socket")
	}
	if err := os.Remove(*socket); err != nil && !os.IsNotExist(err) {
		log.Fatalf("removing stale socket: %v", err)
	}
	lis, err := net.Listen("unix", *socket)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.Chmod(*socket, 0o600); err != nil {
		log.Fatal(err)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-sig
		_ = lis.Close()
	}()
	log.Printf("egress-proxy: CONNECT on %s", *socket)
	for {
		conn, err := lis.Accept()
		if err != nil {
			log.Printf("egress-proxy: %v; exiting", err)
			return
		}
		go serve(conn)
	}
}

// serve answers one CONNECT and then copies bytes both ways until either side
// closes.
func serve(conn net.Conn) {
	defer conn.Close()
	br := bufio.NewReader(conn)
	req, err := http.ReadRequest(br)
	if err != nil {
		log.Printf("reading request: %v", err)
		return
	}
	if req.Method != http.MethodConnect {
		_, _ = io.WriteString(conn, "HTTP/1.1 405 Method Not Allowed\r\n\r\n")
		return
	}
	target, err := net.DialTimeout("tcp", req.Host, 10*time.Second)
	if err != nil {
		log.Printf("CONNECT %s: %v", req.Host, err)
		_, _ = io.WriteString(conn, "HTTP/1.1 502 Bad Gateway\r\n\r\n")
		return
	}
	defer target.Close()
	if _, err := io.WriteString(conn, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		return
	}
	done := make(chan struct{}, 2)
	go func() {
		// Bytes the client sent after its request are already buffered in br.
		_, _ = io.Copy(target, br)
		if tc, ok := target.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		done <- struct{}{}
	}()
	go func() {
		_, _ = io.Copy(conn, target)
		if uc, ok := conn.(*net.UnixConn); ok {
			_ = uc.CloseWrite()
		}
		done <- struct{}{}
	}()
	<-done
	<-done
}
