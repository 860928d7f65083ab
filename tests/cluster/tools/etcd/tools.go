//go:build tools

// Package tools pins the etcd server command built by ../build.
// go.etcd.io/etcd/server/v3 is itself a main package (main.go calls
// etcdmain.Main(os.Args)), so no wrapper is needed.
package tools

import _ "go.etcd.io/etcd/server/v3"
