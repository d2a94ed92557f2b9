#!/usr/bin/env bash
# Installs the Debian packages sizeup needs: build deps always, test deps with --test.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
pkgs=$(cat "$here/debian-packages.txt")
if [ "${1:-}" = "--test" ]; then pkgs="$pkgs $(cat "$here/test-packages.txt")"; fi
missing=$(dpkg-query -W -f='${Package} ${Status}\n' $pkgs 2>/dev/null | awk '!/installed$/ {print $1}'; \
          for p in $pkgs; do dpkg-query -W "$p" >/dev/null 2>&1 || echo "$p"; done)
# A package whose command is already on PATH from another package counts as present (a Node.js
# from elsewhere, e.g. nodesource's nodejs, provides npm; Debian's npm would conflict with it).
missing=$(for p in $missing; do command -v "$p" >/dev/null 2>&1 || echo "$p"; done)
if [ -n "$(echo $missing)" ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $(echo $missing | tr ' ' '\n' | sort -u)
fi
