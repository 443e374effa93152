#!/usr/bin/env bash
# Regenerates docs/dashboard.txt, the README's screenshot: `jitdesk demo` in a 100x30 tmux pane,
# captured after the simulated publishers have had a few seconds, on the Requests and Access tabs.
# A UTF-8 locale keeps the box drawing whatever the caller's locale is.
# Needs tmux. Usage: scripts/screenshot.sh [path/to/jitdesk]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/release/jitdesk}
[ -x "$bin" ] || cargo build --release --quiet
socket="jitdesk-shot-$$"
trap 'tmux -L "$socket" kill-server 2>/dev/null || true' EXIT
tmux -L "$socket" new-session -d -x 100 -y 16 "TZ=UTC LC_ALL=C.UTF-8 NO_COLOR= $bin --utc demo --speed 3"
sleep 9
{
  echo '$ jitdesk demo            # tab 3: requests waiting for Alice, the approver'
  tmux -L "$socket" capture-pane -p
  tmux -L "$socket" send-keys 4
  sleep 1
  echo
  echo '# tab 4: access, with live countdowns'
  tmux -L "$socket" capture-pane -p
} | sed -e 's/[[:space:]]*$//' > docs/dashboard.txt
tmux -L "$socket" send-keys q
echo "wrote docs/dashboard.txt"
