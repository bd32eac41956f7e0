# Partner Portal: one image for web (gunicorn), the Celery worker and beat.
# Build: docker build -t partner-portal .   (docker compose up builds it for you)
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=portal.settings.prod \
    WEB_CONCURRENCY=2

WORKDIR /app

# Dependencies first, so a code change does not reinstall them. The lock pins
# every package by hash; all of them ship wheels, so no compiler is needed.
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock

COPY . .

# Static files are baked into the image (served by WhiteNoise). Production
# settings insist on SECRET_KEY and ALLOWED_HOSTS; these values exist only for
# this build step and are not kept in the image.
RUN SECRET_KEY=build-only-not-a-secret ALLOWED_HOSTS=localhost \
    python manage.py collectstatic --noinput

RUN useradd --system --uid 10001 --user-group --home-dir /app --no-create-home portal \
    && mkdir -p /app/media \
    && chown portal:portal /app/media
USER portal

EXPOSE 8000

# gunicorn.conf.py: gthread workers, WEB_CONCURRENCY processes (2 unless
# overridden) of GUNICORN_THREADS threads (4), and the limits on the request line
# and headers. No HEALTHCHECK here: the image also runs the Celery worker and beat;
# the web service's is in docker-compose.yml (/livez, docs/operations.md).
CMD ["gunicorn", "-c", "gunicorn.conf.py", "portal.wsgi:application", "--bind", "0.0.0.0:8000", "--access-logfile", "-"]
