# One image for web and workers; the gpu-worker target adds the training stack.
FROM node:20-bookworm-slim AS frontend
WORKDIR /app/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY frontend/ ./
RUN npm run build

FROM python:3.11-slim-bookworm AS web
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 HF_HUB_OFFLINE=1
WORKDIR /app
COPY requirements/ requirements/
# The locks pin the whole tree (`make lock`); torch==2.13.0 from PyPI alone is its CUDA build.
RUN pip install -r requirements/web.lock
COPY . .
COPY --from=frontend /app/frontend/dist frontend/dist
RUN SECRET_KEY=collectstatic-at-build-time-only-never-served python manage.py collectstatic --no-input -v 0
EXPOSE 8000

FROM web AS gpu-worker
RUN pip install -r requirements/training.lock && pip install --no-deps -r requirements/no-deps.txt
