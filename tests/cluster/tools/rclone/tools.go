//go:build tools

// Package tools pins the rclone command built by ../build.
// github.com/rclone/rclone is itself a main package.
package tools

import _ "github.com/rclone/rclone"
