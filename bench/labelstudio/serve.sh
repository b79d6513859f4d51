#!/usr/bin/env bash
# Serve Label Studio with uwsgi on 127.0.0.1:$LS_PORT ($LS_PROCESSES processes, 1 thread each),
# as its Docker image does. Writes the master pid to $LABEL_STUDIO_BASE_DATA_DIR/uwsgi.pid.
# Stop: bench/labelstudio/serve.sh stop
set -euo pipefail
. "$(dirname "$0")/env.sh"
PIDFILE="$LABEL_STUDIO_BASE_DATA_DIR/uwsgi.pid"
if [ "${1:-}" = stop ]; then
  [ -f "$PIDFILE" ] && kill -INT "$(cat "$PIDFILE")" && rm -f "$PIDFILE"
  exit 0
fi
cd "$LS_PKG"
exec "$LS_VENV/bin/uwsgi" --http "127.0.0.1:$LS_PORT" --module core.wsgi:application --chdir "$LS_PKG" \
  --master --processes "$LS_PROCESSES" --threads 1 --need-app --die-on-term --lazy-apps \
  --buffer-size 65535 --http-timeout 300 --harakiri 300 --post-buffering 1 --disable-logging \
  --pidfile "$PIDFILE" --env DJANGO_SETTINGS_MODULE=core.settings.label_studio \
  --static-map /static="$LS_PKG/core/static_build" --daemonize "$LABEL_STUDIO_BASE_DATA_DIR/uwsgi.log"
