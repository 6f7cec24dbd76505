package portmap

import (
	"testing"

	"google.golang.org/grpc"

	"github.com/glusterd-ng/glusterd-ng/services/store"
)

// storeServer runs a real store against the package's Consul for a test.
func storeServer(t *testing.T) (string, *grpc.ClientConn) {
	s, conn := store.TestServer(t, consul.HTTPAddr, nil)
	return s.Addr(), conn
}
