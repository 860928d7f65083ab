//go:build tools

// Package tools pins the MinIO server command built by ../build.
// github.com/minio/minio is itself a main package.
package tools

import _ "github.com/minio/minio"
