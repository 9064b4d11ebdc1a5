#!/usr/bin/env bash
# System packages the project needs beyond npm, from Debian's apt:
#   g++ make python3                                -> better-sqlite3 (the verdict journal) builds from source where
#                                                      no prebuilt binary can be downloaded
#   python3-torch python3-torchvision python3-onnx python3-pil -> scripts/*.py (export, training) under /usr/bin/python3
#   mosquitto                                       -> a real MQTT broker for the integration tests
#   aravis-tools                                    -> arv-fake-gv-camera-0.8, a GigE Vision camera on 127.0.0.1
#   ffmpeg                                          -> the RTSP source's decoder (also needed at run time)
#   python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-{base,good,ugly}
#                                                   -> test RTSP camera: videotestsrc (base) ! x264enc (ugly)
#                                                      ! rtph264pay (good) in gst-rtsp-server
#   chromium                                        -> the web UI's tests in a real browser (driven by playwright-core)
#   libvulkan1 mesa-vulkan-drivers (>= 25)          -> the WebGPU provider's tests on Mesa's software Vulkan
#                                                      (lavapipe); on Debian bookworm from bookworm-backports
#                                                      (bookworm's own 22.3 is too old for Dawn), whose apt source
#                                                      is added when missing
# Idempotent and quick when everything is there already. Needs root (or sudo).
set -euo pipefail

need=()
{ command -v g++ && command -v make && command -v python3; } >/dev/null 2>&1 || need+=(g++ make python3)
/usr/bin/python3 -c 'import torch, torchvision, onnx, PIL' 2>/dev/null || need+=(python3-torch python3-torchvision python3-onnx python3-pil)
[ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
[ -x /usr/bin/arv-fake-gv-camera-0.8 ] || need+=(aravis-tools)
command -v ffmpeg >/dev/null 2>&1 || need+=(ffmpeg)
[ -x /usr/bin/chromium ] || need+=(chromium)
/usr/bin/python3 -c 'import gi; gi.require_version("Gst", "1.0"); gi.require_version("GstRtspServer", "1.0")
from gi.repository import Gst, GstRtspServer; Gst.init(None)
assert all(Gst.ElementFactory.find(e) for e in ("videotestsrc", "x264enc", "rtph264pay"))' 2>/dev/null ||
  need+=(python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly)

# WebGPU runs on any Vulkan driver; tests use lavapipe, which Dawn accepts from Mesa 25 on.
MESA_MIN=25
installed_version() { dpkg-query -W -f='${Status} ${Version}' "$1" 2>/dev/null | sed -n 's/^install ok installed //p'; }
mesa_ok() { local v; v=$(installed_version mesa-vulkan-drivers); [ -n "$v" ] && dpkg --compare-versions "$v" ge "$MESA_MIN"; }
vulkan=()
[ -n "$(installed_version libvulkan1)" ] || vulkan+=(libvulkan1)
mesa_ok || vulkan+=(mesa-vulkan-drivers)

# GigE Vision tests stream ~30 MB/s over loopback: a receive buffer below 32 MiB loses packets on a busy box.
# Raised for this boot only where we may (root, not a read-only /proc/sys); scripts/install.sh makes it permanent.
RMEM=33554432
if [ "$(cat /proc/sys/net/core/rmem_max 2>/dev/null || echo "$RMEM")" -lt "$RMEM" ]; then
  if [ "$(id -u)" -eq 0 ] && sysctl -q -w net.core.rmem_max="$RMEM" 2>/dev/null; then
    echo "install-deps: net.core.rmem_max raised to $RMEM for the GigE Vision tests"
  else
    echo "install-deps: net.core.rmem_max is below $RMEM (GigE tests may see packet loss): sudo sysctl -w net.core.rmem_max=$RMEM"
  fi
fi

if [ ${#need[@]} -eq 0 ] && [ ${#vulkan[@]} -eq 0 ]; then
  echo "install-deps: system packages present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive

# On bookworm, Mesa >= 25 only exists in bookworm-backports: add its source (deb822) unless some source has it.
codename=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
from=()
if [ ${#vulkan[@]} -gt 0 ] && [ "$codename" = bookworm ]; then
  from=(-t bookworm-backports)
  if ! grep -rqs --include='*.list' --include='*.sources' bookworm-backports /etc/apt/sources.list /etc/apt/sources.list.d/; then
    echo "install-deps: adding the bookworm-backports apt source (/etc/apt/sources.list.d/bookworm-backports.sources)"
    printf '%s\n' 'Types: deb' 'URIs: http://deb.debian.org/debian' 'Suites: bookworm-backports' 'Components: main' \
      'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' |
      $SUDO tee /etc/apt/sources.list.d/bookworm-backports.sources >/dev/null
  fi
fi

$SUDO apt-get update -qq
if [ ${#need[@]} -gt 0 ]; then
  echo "install-deps: installing ${need[*]} (apt)"
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if [ ${#vulkan[@]} -gt 0 ]; then
  echo "install-deps: installing ${vulkan[*]} (apt${from:+ ${from[*]}})"
  $SUDO apt-get install -y -qq --no-install-recommends "${from[@]}" libvulkan1 mesa-vulkan-drivers >/dev/null
  if ! mesa_ok; then
    echo "install-deps: mesa-vulkan-drivers is $(installed_version mesa-vulkan-drivers), below $MESA_MIN: the WebGPU tests" \
      "need Mesa >= $MESA_MIN (Debian trixie, or bookworm-backports on bookworm); install it from there" >&2
    exit 1
  fi
fi
