#!/usr/bin/env bash
# Installs inspectd and starts the daemon on config/demo.json: a simulated camera showing a machined plate
# with injected defects, the demo recipe in models/demo/, an embedded MQTT broker and the status page.
# Stop it with Ctrl-C. Ports: INSPECTD_HTTP_PORT (8080), INSPECTD_MQTT_EMBEDDED_PORT (1883).
set -euo pipefail
cd "$(dirname "$0")/.."
# Install only when node_modules does not match the lockfile (a re-run starts at once).
npm ls --all >/dev/null 2>&1 || npm ci --no-audit --no-fund
npm run build --silent
http="http://127.0.0.1:${INSPECTD_HTTP_PORT:-8080}/"
mqtt="mqtt://127.0.0.1:${INSPECTD_MQTT_EMBEDDED_PORT:-1883}"
cat <<MSG

inspectd demo
  status page:  $http   (latest frame + heatmap, verdicts, counters)
  metrics:      ${http}metrics
  MQTT:         $mqtt   topic inspectd/demo/sim1/verdict   (e.g. mosquitto_sub -h 127.0.0.1 -p ${INSPECTD_MQTT_EMBEDDED_PORT:-1883} -t 'inspectd/#' -v)
  NG archive:   var/archive/
  Ctrl-C stops it.

MSG
exec node dist/cli/main.js run --config config/demo.json
