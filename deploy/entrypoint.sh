#!/bin/sh
# Read each secret from the file its *_FILE variable names (Docker secrets), then run
# trackrecord with the arguments given. A *_FILE that cannot be read stops here (exit 2).
set -eu
for name in TRACKRECORD_SMTP_PASSWORD TRACKRECORD_DASHBOARD_TOKEN TRACKRECORD_FLEX_TOKEN; do
  eval "file=\${${name}_FILE:-}"
  if [ -n "$file" ]; then
    if [ ! -r "$file" ]; then
      echo "error: ${name}_FILE=$file is not a readable file" >&2
      exit 2
    fi
    value=$(cat "$file")
    export "$name=$value"
    unset "${name}_FILE"
  fi
done
exec trackrecord "$@"
