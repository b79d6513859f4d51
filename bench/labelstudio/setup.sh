#!/usr/bin/env bash
# Install Label Studio in its own virtualenv (outside the repo), create its database on our
# PostgreSQL and initialise it with an admin user and a legacy API token.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
. "$HERE/env.sh"
if [ ! -x "$LS_VENV/bin/label-studio" ]; then
  python3 -m venv "$LS_VENV"
  "$LS_VENV/bin/pip" install -q "label-studio==$LS_VERSION" uwsgi
fi
psql -h "$POSTGRE_HOST" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='$POSTGRE_NAME'" | grep -q 1 \
  || psql -h "$POSTGRE_HOST" -U postgres -c "CREATE DATABASE $POSTGRE_NAME"
cd "$LS_PKG"
"$LS_VENV/bin/label-studio" init --username "$LS_ADMIN" --password "$LS_ADMIN_PASSWORD" \
  --user-token "$LS_ADMIN_TOKEN" --no-browser --agree-fix-sqlite
# Legacy tokens (Authorization: Token ...) are off by default for new organisations in 1.23;
# turn them on and create the annotators.
"$LS_VENV/bin/python" "$HERE/make_users.py" "${LS_ANNOTATORS:-32}" > "$LABEL_STUDIO_BASE_DATA_DIR/annotators.txt"
echo "annotators and tokens in $LABEL_STUDIO_BASE_DATA_DIR/annotators.txt"
