#!/usr/bin/env bash
# Import boundaries (docs/STYLE.md): a service never imports another service,
# libs never import services or the gateway, e2e imports no service internals.
set -euo pipefail
mod=github.com/glusterd-ng/glusterd-ng
fail=0
while read -r pkg imports; do
  for imp in $imports; do
    case "$pkg" in
      $mod/services/*)
        own=${pkg#$mod/services/}; own=${own%%/*}
        case "$imp" in
          $mod/services/$own|$mod/services/$own/*) ;;
          $mod/services/*) echo "boundary: $pkg imports $imp (a service never imports another service)"; fail=1 ;;
          $mod/gateway*) echo "boundary: $pkg imports $imp (services do not import the gateway)"; fail=1 ;;
        esac ;;
      $mod/libs/*)
        case "$imp" in
          $mod/services/*|$mod/gateway*|$mod/cli/*) echo "boundary: $pkg imports $imp (libs hold no service logic)"; fail=1 ;;
        esac ;;
      $mod/e2e*)
        case "$imp" in
          $mod/services/*/internal*) echo "boundary: $pkg imports $imp (e2e uses no service internals)"; fail=1 ;;
        esac ;;
    esac
  done
done < <(go list -f '{{.ImportPath}} {{join .Imports " "}}' ./... ./e2e/...)
exit $fail
