#!/usr/bin/env bash
# Records the README's animation: `jitdesk demo --tour` at 100x30, in UTC and a UTF-8 locale, with
# asciinema into docs/demo.cast, then rendered to docs/demo.svg with svg-term. The tour plays and
# ends by itself, so nothing is typed; its frames are the same on every run apart from the clock.
# asciinema comes from Debian's packages (apt-get) and svg-term-cli from the npm registry (into
# target/tools), each only when missing. Usage: scripts/record.sh [speed]   (default 1)
set -euo pipefail
cd "$(dirname "$0")/.."
speed=${1:-1}
cols=100
rows=30

if ! command -v asciinema >/dev/null; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq asciinema
fi
tools=target/tools
svg_term=$tools/node_modules/.bin/svg-term
if [ ! -x "$svg_term" ]; then
  mkdir -p "$tools"
  npm install --silent --no-audit --no-fund --prefix "$tools" svg-term-cli
fi

cargo build --release --quiet
bin=$PWD/target/release/jitdesk
# A config folder of its own, so the recorder's own theme or keys never show in the recording.
home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT

# asciinema 2.2 sizes the recorded terminal with --cols/--rows; the tour needs no input (stdin is
# not recorded), and -q keeps asciinema's own notices out of the cast.
env -i PATH="$PATH" HOME="$home" XDG_CONFIG_HOME="$home" XDG_DATA_HOME="$home" TMPDIR="$home" \
  TERM=xterm-256color TZ=UTC LC_ALL=C.UTF-8 SHELL=/bin/sh \
  asciinema rec --quiet --overwrite --cols "$cols" --rows "$rows" \
  --title "jitdesk demo --tour" \
  --command "'$bin' --utc demo --tour --speed $speed" docs/demo.cast </dev/null

"$svg_term" --in docs/demo.cast --out docs/demo.svg --window --width "$cols" --height "$rows"
ls -l docs/demo.cast docs/demo.svg
