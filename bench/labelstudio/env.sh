# Shared settings for the Label Studio side of the benchmark. Source it: `. bench/labelstudio/env.sh`.
# Label Studio lives in its own virtualenv outside the repository; nothing of it is committed.
export LS_VENV=${LS_VENV:-/tmp/ls-venv}
export LS_VERSION=${LS_VERSION:-1.23.2}
export LS_PORT=${LS_PORT:-8032}
export LS_PROCESSES=${LS_PROCESSES:-4}
export LS_ADMIN=${LS_ADMIN:-bench-admin@example.com}
export LS_ADMIN_PASSWORD=${LS_ADMIN_PASSWORD:-bench-password-1}
export LS_ADMIN_TOKEN=${LS_ADMIN_TOKEN:-0123456789abcdef0123456789abcdef01234567}
# Same PostgreSQL as ours, its own database.
export DJANGO_DB=default
export POSTGRE_NAME=${POSTGRE_NAME:-labelstudio}
export POSTGRE_USER=postgres
export POSTGRE_PASSWORD=""
export POSTGRE_HOST=127.0.0.1
export POSTGRE_PORT=5432
export LABEL_STUDIO_BASE_DATA_DIR=${LABEL_STUDIO_BASE_DATA_DIR:-/tmp/ls-data}
export DEBUG=false
export LOG_LEVEL=WARNING
export LS_PKG="$LS_VENV/lib/python3.11/site-packages/label_studio"
export SECRET_KEY=${LS_SECRET_KEY:-ls-bench-not-secret}
export LATEST_VERSION_CHECK=false
