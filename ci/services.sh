#!/usr/bin/env bash
# Prints every service of services/registry.yaml in its order, one line each: its name, then
# the value of each FIELD asked for (one-word fields only: path, port_offset).
#   ci/services.sh                  obsportal
#   ci/services.sh path             obsportal /obsportal
# Plain awk, so the build job's minimal image (bash and git) needs no YAML parser; the
# registry keeps `- name:` as the first line of each entry for this, and
# tests/core/test_service_registry.py checks that this agrees with a YAML parser.
set -euo pipefail
cd "$(dirname "$0")/.."

awk -v fields="$*" '
  function flush(  line, i) {
    if (name == "") return
    line = name
    for (i = 1; i <= count; i++) line = line " " value[wanted[i]]
    print line
  }
  BEGIN { count = split(fields, wanted, " ") }
  /^  - name:/ { flush(); name = $3; split("", value); next }
  /^    [a-z_]+:/ { value[substr($1, 1, length($1) - 1)] = $2 }
  END { flush() }
' services/registry.yaml
