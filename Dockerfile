# One image for every service; the command picks which one runs.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
# The locked runtime dependencies first, by hash: this layer is rebuilt only when the lock changes.
COPY requirements.lock ./
RUN pip install --require-hashes --no-deps -r requirements.lock
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY services ./services
# The project itself, without resolving anything (the lock already holds its dependencies and the build
# backend); pip check fails the build if the lock and pyproject.toml disagree.
RUN pip install --no-deps --no-build-isolation . && pip check \
    && groupadd --gid 10001 app && useradd --uid 10001 --gid 10001 --no-create-home app
# Numeric, so Kubernetes can verify runAsNonRoot without reading /etc/passwd.
USER 10001:10001
EXPOSE 8000
CMD ["python", "-m", "services.execution"]
