package layout

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/glusterd-ng/glusterd-ng/libs/errs"
)

func TestValidateVolumeName(t *testing.T) {
	tests := []struct {
		name, want string
	}{
		{"gv0", ""},
		{"_ab", ""},
		{"1", ""},
		{"ALL", ""}, // gluster's reserved words are case-sensitive
		{"replica", ""},
		{"my-vol_2", ""},
		{strings.Repeat("a", 64), ""},
		{"", "name: must not be empty"},
		{strings.Repeat("a", 65), "name: is 65 characters long; the limit is 64"},
		{"a.b", `name: "a.b" contains '.'; volume names must not`},
		{"a..b", `contains '.'`},
		{"my vol", `name: "my vol" has characters outside [A-Za-z0-9_-]`},
		{"a/b", "characters outside"},
		{"vol\u00e9", "characters outside"},
		{"-ab", `name: "-ab" must not start with "-"`},
		{"all", `name: "all" is a word reserved by GlusterFS`},
		{"volume", "reserved"},
		{"end-volume", "reserved"},
		{"force", "reserved"},
		{"snap-max-soft-limit", "reserved"},
		{"activate-on-create", "reserved"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateVolumeName(tt.name)
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			wantErr(t, err, errs.Invalid, "name", tt.want)
		})
	}
}
