#!/usr/bin/env bash
# System packages the project needs beyond npm, from Debian's apt:
#   python3-torch python3-torchvision python3-onnx  -> scripts/*.py (export, training) under /usr/bin/python3
#   mosquitto                                       -> a real MQTT broker for the integration tests
#   aravis-tools                                    -> arv-fake-gv-camera-0.8, a GigE Vision camera on 127.0.0.1
# Idempotent and quick when everything is there already. Needs root (or sudo).
set -euo pipefail

need=()
/usr/bin/python3 -c 'import torch, torchvision, onnx' 2>/dev/null || need+=(python3-torch python3-torchvision python3-onnx)
[ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
[ -x /usr/bin/arv-fake-gv-camera-0.8 ] || need+=(aravis-tools)

if [ ${#need[@]} -eq 0 ]; then
  echo "install-deps: system packages present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-deps: installing ${need[*]} (apt)"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
