#!/bin/sh
# Read each secret from the file its *_FILE variable names (Docker secrets), then run
# trackrecord with the arguments given (trackrecord reads *_FILE itself too, on a host install).
# A *_FILE that cannot be read, or set beside its variable, stops here (exit 2), as trackrecord would.
set -eu
for name in TRACKRECORD_SMTP_PASSWORD TRACKRECORD_DASHBOARD_TOKEN TRACKRECORD_FLEX_TOKEN; do
  eval "file=\${${name}_FILE:-}"
  if [ -n "$file" ]; then
    eval "value=\${${name}:-}"
    if [ -n "$value" ]; then
      echo "error: \$${name} and \$${name}_FILE are both set: set only one" >&2
      exit 2
    fi
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
