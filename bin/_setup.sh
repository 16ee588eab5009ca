# Shared by bin/serve and bin/test (sourced, not run): a local virtual environment and the
# NHS.UK front-end package, installed only when missing or out of date.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"

say() { printf '\n==> %s\n' "$*"; }
die() { printf '\nERROR: %s\n' "$*" >&2; exit 1; }

find_python() {
  # The first interpreter on PATH that is Python 3.11 or newer (or $PYTHON if given).
  local candidate
  for candidate in ${PYTHON:-} python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 \
      && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      command -v "$candidate"
      return 0
    fi
  done
  return 1
}

ensure_venv() {
  # $1: pip target, "." (run) or ".[test]" (test). Reinstalls when pyproject.toml changes.
  local target="$1" stamp="$VENV/.mynhs-installed" wanted
  if [ ! -x "$PY" ]; then
    local python
    python="$(find_python)" || die "Python 3.11 or newer is needed (set PYTHON=/path/to/python3.11)."
    say "Creating the virtual environment in .venv ($("$python" --version))"
    "$python" -m venv "$VENV" || die "could not create .venv (on Debian/Ubuntu: apt-get install python3-venv)"
  fi
  wanted="$(sha256sum < "$ROOT/pyproject.toml" | cut -c1-16) $target"
  # An install with the test extras also satisfies a plain one.
  if [ -f "$stamp" ] && { [ "$(cat "$stamp")" = "$wanted" ] \
      || { [ "$target" = "." ] && [ "$(cat "$stamp")" = "${wanted% *} .[test]" ]; }; }; then
    return 0
  fi
  say "Installing Python packages ($target)"
  if ! (cd "$ROOT" && "$PY" -m pip install --quiet --disable-pip-version-check -e "$target") \
      >"$VENV/pip-install.log" 2>&1; then
    cat "$VENV/pip-install.log" >&2
    die "pip install failed"
  fi
  echo "$wanted" > "$stamp"
}

ensure_node_modules() {
  command -v npm >/dev/null 2>&1 || die "Node.js 20 or newer (with npm) is needed."
  node -e 'process.exit(Number(process.versions.node.split(".")[0]) < 20 ? 1 : 0)' \
    || die "Node.js 20 or newer is needed (found $(node --version))."
  local marker="$ROOT/node_modules/.package-lock.json"
  if [ -f "$marker" ] && [ -d "$ROOT/node_modules/nhsuk-frontend/dist" ] \
      && [ ! "$ROOT/package-lock.json" -nt "$marker" ]; then
    return 0
  fi
  say "Installing the NHS.UK front-end (npm ci)"
  (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci failed"
}
