# Sourced by the .ci/ service scripts: one EXIT trap that runs every service's stop command, last started
# first. A second `trap ... EXIT` would replace the first, and the first service would be left running.
if [ -z "${CI_CLEANUP_SET:-}" ]; then
  CI_CLEANUP_SET=1
  CI_CLEANUP=()
  ci_cleanup_run() {
    local i
    for ((i = ${#CI_CLEANUP[@]} - 1; i >= 0; i--)); do eval "${CI_CLEANUP[$i]}" || true; done
    CI_CLEANUP=()
  }
  ci_on_exit() { CI_CLEANUP+=("$1"); }
  trap ci_cleanup_run EXIT
fi
