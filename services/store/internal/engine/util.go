package engine

import (
	"errors"
	"fmt"

	storev1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/store/v1"

	"github.com/glusterd-ng/glusterd-ng/libs/errs"
)

func cloneResource(r *storev1.Resource) *storev1.Resource {
	return r.CloneVT()
}

// prefixErr names the operation of a multi-operation Apply an error is about,
// keeping the error's kind.
func prefixErr(n, i int, what string, err error) error {
	if n <= 1 {
		return err
	}
	var e *errs.Error
	if !errors.As(err, &e) {
		return err
	}
	label := fmt.Sprintf("operation %d", i)
	if what != "" {
		label += " (" + what + ")"
	}
	return &errs.Error{Kind: e.Kind, Field: e.Field, Message: label + ": " + e.Message, Cause: e.Cause}
}
