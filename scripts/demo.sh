#!/usr/bin/env bash
# Installs inspectd and starts the daemon on config/demo.json: a simulated camera showing a machined plate
# with injected defects, the demo recipe in models/demo/, an embedded MQTT broker, an OPC UA server and the
# status page. Stop it with Ctrl-C. Ports: INSPECTD_HTTP_PORT (8080), INSPECTD_MQTT_EMBEDDED_PORT (1883),
# INSPECTD_OPCUA_PORT (4840).
set -euo pipefail
cd "$(dirname "$0")/.."
# Install only when node_modules is older than the lockfile, build only when a source is newer than the build:
# a re-run starts at once, and nothing is rewritten under a running copy (the test suite runs this script).
# onnxruntime-node's install step would download its CUDA provider from the internet: not needed for the demo.
[ node_modules/.package-lock.json -nt package-lock.json ] || ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund
if [ ! -f dist/cli/main.js ] || [ -n "$(find src package.json tsconfig.json -newer dist/cli/main.js -print -quit)" ]; then
  npm run build --silent
fi
http="http://127.0.0.1:${INSPECTD_HTTP_PORT:-8080}/"
mqtt="mqtt://127.0.0.1:${INSPECTD_MQTT_EMBEDDED_PORT:-1883}"
opcua="opc.tcp://127.0.0.1:${INSPECTD_OPCUA_PORT:-4840}/inspectd"
cat <<MSG

inspectd demo
  web UI:       $http   (live: latest frame + anomaly map, verdicts, charts)
  metrics:      ${http}metrics
  MQTT:         $mqtt   topic inspectd/demo/sim1/verdict   (e.g. mosquitto_sub -h 127.0.0.1 -p ${INSPECTD_MQTT_EMBEDDED_PORT:-1883} -t 'inspectd/#' -v)
  OPC UA:       $opcua   (None + anonymous, localhost only; PLC tags e.g. ns=1;s=sim1.Verdict, see docs/OPCUA.md)
  NG archive:   var/archive/
  Ctrl-C stops it.

MSG
exec node dist/cli/main.js run --config config/demo.json
