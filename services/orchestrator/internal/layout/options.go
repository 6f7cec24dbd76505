package layout

import (
	"errors"
	"maps"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/glusterd-ng/glusterd-ng/libs/errs"
	"github.com/glusterd-ng/glusterd-ng/libs/volgen"
	commonv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/common/v1"
)

// ResetAll is the key ResetOption takes to reset every option.
const ResetAll = "all"

// notVolumeOptions are keys of the option table that gluster does not let
// `volume set` or `volume reset` change, with the reason.
var notVolumeOptions = map[string]string{
	"features.quota":             "quota is switched with gluster's quota command, not as a volume option, and glusterd-ng does not manage quota yet",
	"features.inode-quota":       "quota is switched with gluster's quota command, not as a volume option, and glusterd-ng does not manage quota yet",
	"features.quota-deem-statfs": "it needs quota, which glusterd-ng does not manage yet",
	"features.bitrot":            "bit-rot detection is switched with gluster's bitrot command, not as a volume option, and glusterd-ng does not manage it yet",
	"features.scrub":             "the scrubber is driven by gluster's bitrot command, not as a volume option, and glusterd-ng does not manage it yet",
	"features.scrub-freq":        "the scrubber is driven by gluster's bitrot command, not as a volume option, and glusterd-ng does not manage it yet",
	"features.scrub-throttle":    "the scrubber is driven by gluster's bitrot command, not as a volume option, and glusterd-ng does not manage it yet",
	// Cluster-wide options (gluster's `volume set all`).
	"cluster.server-quorum-ratio":    "it is a cluster-wide option, not valid for a single volume",
	"cluster.enable-shared-storage":  "it is a cluster-wide option, not valid for a single volume",
	"cluster.brick-multiplex":        "it is a cluster-wide option, not valid for a single volume",
	"cluster.brick-graceful-cleanup": "it is a cluster-wide option, not valid for a single volume",
	"cluster.max-bricks-per-process": "it is a cluster-wide option, not valid for a single volume",
	"cluster.daemon-log-level":       "it is a cluster-wide option, not valid for a single volume",
}

// protectedOptions are the options gluster resets only with force.
var protectedOptions = []string{
	"geo-replication.indexing", "geo-replication.ignore-pid-check", "features.bitrot", "features.scrub",
}

// neverResetOptions are the options gluster's reset leaves alone, force or not.
var neverResetOptions = []string{"features.quota", "features.inode-quota"}

// checkOption checks one option a request sets: a known key gluster lets a
// volume set, and a non-empty value of the form the key accepts. The error
// is about the request field "options".
func checkOption(key, value string) error {
	const field = "options"
	if key == "" {
		return errs.InvalidField(field, "an option key must not be empty")
	}
	if why, ok := notVolumeOptions[key]; ok {
		return errs.InvalidField(field, "volume option %q cannot be set: %s", key, why)
	}
	if err := volgen.Validate(key, value); err != nil {
		var e *errs.Error
		if errors.As(err, &e) {
			return &errs.Error{Kind: e.Kind, Field: field, Message: field + ": " + e.Message}
		}
		return err
	}
	if value == "" {
		return errs.InvalidField(field, "volume option %q: the value must not be empty; reset the option to go back to its default", key)
	}
	return nil
}

// mergeOptions returns base with opts laid over it after checking every one
// of opts, in key order so the first error is always the same.
func mergeOptions(base, opts map[string]string) (map[string]string, error) {
	out := maps.Clone(base)
	if out == nil {
		out = map[string]string{}
	}
	for _, k := range slices.Sorted(maps.Keys(opts)) {
		if err := checkOption(k, opts[k]); err != nil {
			return nil, err
		}
		out[k] = opts[k]
	}
	return out, nil
}

// cloneVolume returns a deep copy of vol, or an error for a missing volume.
func cloneVolume(vol *commonv1.Volume) (*commonv1.Volume, error) {
	if vol == nil {
		return nil, errs.New(errs.Internal, "layout: volume is missing")
	}
	return proto.Clone(vol).(*commonv1.Volume), nil
}

// SetOptions returns a copy of vol with opts set, after checking each key
// (unknown keys are refused naming the close ones), each value (the error
// names the form the key accepts) and that the volfile generator supports
// the result (features.shard and the like are refused).
func SetOptions(vol *commonv1.Volume, opts map[string]string) (*commonv1.Volume, error) {
	out, err := cloneVolume(vol)
	if err != nil {
		return nil, err
	}
	if len(opts) == 0 {
		return nil, errs.InvalidField("options", "at least one option is needed")
	}
	if out.Options, err = mergeOptions(out.GetOptions(), opts); err != nil {
		return nil, err
	}
	if err := volgen.CheckVolume(out); err != nil {
		return nil, err
	}
	return out, nil
}

// ResetOption returns a copy of vol with key back at its default: removed
// from the options, or set to the value a new volume of the type carries
// (volgen.DefaultOptions). Key "all" (ResetAll) resets every option. A
// protected option (geo-replication.indexing, …) is reset only with force:
// alone it is refused (Precondition), with "all" it is kept. Resetting an
// option that is not set changes nothing.
func ResetOption(vol *commonv1.Volume, key string, force bool) (*commonv1.Volume, error) {
	out, err := cloneVolume(vol)
	if err != nil {
		return nil, err
	}
	defaults := volgen.DefaultOptions(out.GetType())
	if key == ResetAll {
		opts := defaults
		for k, v := range out.GetOptions() {
			if slices.Contains(neverResetOptions, k) || (!force && slices.Contains(protectedOptions, k)) {
				opts[k] = v
			}
		}
		out.Options = opts
		return out, nil
	}
	if err := checkResetKey(key); err != nil {
		return nil, err
	}
	if _, set := out.GetOptions()[key]; set && !force && slices.Contains(protectedOptions, key) {
		return nil, errs.New(errs.Precondition, "%q is protected; use force to reset it", key)
	}
	if out.Options == nil {
		out.Options = map[string]string{}
	}
	if v, ok := defaults[key]; ok {
		out.Options[key] = v
	} else {
		delete(out.Options, key)
	}
	return out, nil
}

// checkResetKey refuses a key that is unknown or not a volume's to reset;
// the error is about the request field "key".
func checkResetKey(key string) error {
	const field = "key"
	if key == "" {
		return errs.InvalidField(field, "must not be empty")
	}
	if why, ok := notVolumeOptions[key]; ok {
		return errs.InvalidField(field, "volume option %q cannot be reset: %s", key, why)
	}
	if _, ok := volgen.Lookup(key); !ok {
		msg := "unknown volume option " + strconv.Quote(key)
		if s := volgen.Suggest(key); len(s) > 0 {
			q := make([]string, len(s))
			for i, k := range s {
				q[i] = strconv.Quote(k)
			}
			msg += "; did you mean " + strings.Join(q, ", ") + "?"
		}
		return errs.InvalidField(field, "%s", msg)
	}
	return nil
}
