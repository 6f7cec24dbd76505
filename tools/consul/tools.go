//go:build tools

// Package consul pins the Consul server build (MPL-2.0) used by make run and the tests.
package consul

import _ "github.com/hashicorp/consul"
