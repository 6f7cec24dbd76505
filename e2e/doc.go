// Package e2e holds the end-to-end tests that run a whole cluster in
// containers (testcontainers-go); they need a Docker engine and run with `make e2e`.
package e2e
