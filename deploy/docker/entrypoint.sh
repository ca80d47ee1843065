#!/bin/sh
# The zapq image's entry point (deploy/docker/Dockerfile): the first argument names the role, as the
# systemd units in deploy/systemd do, and `exec` makes the role's program PID 1, so that `docker stop`'s
# SIGTERM reaches it (and only it: dramatiq forwards it once to its worker processes).
#
#   web               uvicorn web.app:create_app, as zapq-web.service
#   worker            dramatiq on $WORKER_QUEUES, as zapq-worker.service
#   worker-priority   dramatiq on tasks_critical and tasks_high alone, as zapq-worker-priority.service
#   scheduler         periodiq, as zapq-scheduler.service
#   migrate           applies the migrations and exits (what `make migrate` does)
#   healthcheck       python -m zapq.healthcheck (the image's HEALTHCHECK)
#   anything else     run as given: `zapq-entrypoint python -m zapq.analytics summary`, `sh`
set -eu

role="${1:-web}"
if [ "$#" -gt 0 ]; then shift; fi

# Unset URLs would make the container start private embedded servers that no other container sees.
require_servers() {
    if [ -z "${REDIS_URL:-}" ] || [ -z "${DATABASE_URL:-}" ]; then
        echo "zapq: set REDIS_URL and DATABASE_URL (unset means embedded servers, for development only)" >&2
        exit 2
    fi
}

case "${role}" in
    web)
        require_servers
        # zapq logs each request itself (ACCESS_LOG); --proxy-headers trusts X-Forwarded-* only from
        # FORWARDED_ALLOW_IPS (the reverse proxy in front of the container).
        exec uvicorn web.app:create_app --factory \
            --host "${WEB_HOST:-0.0.0.0}" --port "${WEB_PORT:-8000}" --workers "${WEB_WORKERS:-1}" \
            --proxy-headers --forwarded-allow-ips "${FORWARDED_ALLOW_IPS:-127.0.0.1}" \
            --timeout-graceful-shutdown 20 --no-access-log --no-server-header "$@"
        ;;
    worker)
        require_servers
        # One line naming a bad setting, before dramatiq reports it once per process.
        python -m zapq.preflight worker
        # $WORKER_QUEUES is split on spaces and stays last: set but empty, a bare --queues means every
        # queue (the reserved tasks_critical and tasks_high too); unset, the general queues. Keep the
        # shutdown timeout (ms) below the container's stop_grace_period.
        # shellcheck disable=SC2086
        exec dramatiq actors:boot \
            --processes "${WORKER_PROCESSES:-2}" --threads "${WORKER_THREADS:-8}" \
            --worker-shutdown-timeout 90000 "$@" \
            --queues ${WORKER_QUEUES-high_priority default low_priority analytics tasks_normal tasks_low}
        ;;
    worker-priority)
        require_servers
        python -m zapq.preflight worker
        exec dramatiq actors:boot \
            --processes 1 --threads "${BACKGROUND_PRIORITY_WORKER_THREADS:-4}" \
            --worker-shutdown-timeout 90000 "$@" \
            --queues tasks_critical tasks_high
        ;;
    scheduler)
        require_servers
        python -m zapq.preflight scheduler
        exec periodiq actors:boot "$@"
        ;;
    migrate)
        require_servers
        exec python -c 'import zapq.runtime as r; r.boot(); print("schema up to date")'
        ;;
    healthcheck)
        exec python -m zapq.healthcheck "$@"
        ;;
    *)
        exec "${role}" "$@"
        ;;
esac
