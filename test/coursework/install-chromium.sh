#!/bin/sh
# Installs Debian's chromium for test/coursework/svg-chromium.test.ts, which renders
# the SVG ladder diagrams headless and checks the screenshot. Idempotent: does nothing
# when /usr/bin/chromium is already there. Needs root (apt-get).
set -eu
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends chromium
/usr/bin/chromium --version
