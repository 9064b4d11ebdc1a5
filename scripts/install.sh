#!/usr/bin/env bash
# Installs inspectd as a systemd service on Debian/Ubuntu, from a built checkout
# (ONNXRUNTIME_NODE_INSTALL=skip npm ci && npm run build).
#
#   sudo bash scripts/install.sh [--prefix /opt/inspectd] [--no-start] [--destdir DIR]
#
# - program (dist, production node_modules, package.json, config/) -> PREFIX, replaced as a whole;
#   models/ is merged in (recipes already there are kept)
# - /etc/inspectd/config.json from config/default.json, only if absent (never overwritten)
# - /etc/inspectd/credentials/ (root-only) for LoadCredential= secrets, e.g. mqtt-password
# - the unit -> /etc/systemd/system/inspectd.service (node and PREFIX paths filled in)
# - /etc/sysctl.d/60-inspectd.conf: 32 MiB socket receive buffers for GigE Vision streams, applied now
# - systemctl daemon-reload, enable, and start (or restart, when it already runs) unless --no-start
#
# Idempotent: run it again to upgrade. DESTDIR=DIR (or --destdir DIR) installs into DIR as a staging
# root (packaging, tests): no root needed, and systemctl and sysctl are not run.
set -euo pipefail
umask 022

SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PREFIX=/opt/inspectd
START=1
DESTDIR="${DESTDIR:-}"
RMEM_BYTES=$((32 * 1024 * 1024))

usage() {
  sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

say() { echo "install: $*"; }
die() {
  echo "install: error: $*" >&2
  exit 1
}

while [ $# -gt 0 ]; do
  case "$1" in
    --prefix)
      [ $# -ge 2 ] || die "--prefix needs a directory"
      PREFIX="$2"
      shift 2
      ;;
    --prefix=*)
      PREFIX="${1#*=}"
      shift
      ;;
    --destdir)
      [ $# -ge 2 ] || die "--destdir needs a directory"
      DESTDIR="$2"
      shift 2
      ;;
    --destdir=*)
      DESTDIR="${1#*=}"
      shift
      ;;
    --no-start)
      START=0
      shift
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done

case "$PREFIX" in
  /*) ;;
  *) die "--prefix must be an absolute path, got '$PREFIX'" ;;
esac
PREFIX="${PREFIX%/}"
[ -n "$PREFIX" ] || die "--prefix must not be /"
# It goes into the unit file (and a sed expression): plain path characters only.
[[ "$PREFIX" =~ ^[A-Za-z0-9._/+-]+$ ]] || die "--prefix may hold only letters, digits and . _ / + -"
if [ -n "$DESTDIR" ]; then
  mkdir -p "$DESTDIR"
  DESTDIR="$(cd "$DESTDIR" && pwd)"
  say "staging into DESTDIR=$DESTDIR (systemctl and sysctl skipped)"
elif [ "$(id -u)" -ne 0 ]; then
  die "run as root (sudo bash $0 ...), or set DESTDIR to stage into a directory"
fi

# --- What we install from, and with ---
for f in dist/cli/main.js package.json node_modules config/default.json systemd/inspectd.service; do
  [ -e "$SRC/$f" ] || die "$SRC/$f is missing: build first (ONNXRUNTIME_NODE_INSTALL=skip npm ci && npm run build)"
done
NODE_BIN="$(command -v node || true)"
[ -n "$NODE_BIN" ] || die "node is not on PATH: install Node.js >= 20.9 (e.g. the nodesource or Debian package)"
[[ "$NODE_BIN" =~ ^[A-Za-z0-9._/+-]+$ ]] || die "node path '$NODE_BIN' has characters a unit's ExecStart= cannot take"
# Kept as found (not resolved): /usr/bin/node survives Node upgrades, a versioned real path may not.
case "$(readlink -f "$NODE_BIN")" in
  /home/* | /root/* | /run/user/*)
    die "$NODE_BIN lives in a home directory (nvm?), which the unit hides (ProtectHome=yes): install a system-wide Node.js"
    ;;
esac
"$NODE_BIN" -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=9)?0:1)' ||
  die "$NODE_BIN is Node $("$NODE_BIN" -v); inspectd needs >= 20.9"

DEST="$DESTDIR$PREFIX"
ETC="$DESTDIR/etc/inspectd"
UNIT="$DESTDIR/etc/systemd/system/inspectd.service"
SYSCTL="$DESTDIR/etc/sysctl.d/60-inspectd.conf"

# Writes stdin to $1 (mode $2) only when the content differs; says what it did.
put() {
  local target="$1" mode="$2" tmp
  mkdir -p "$(dirname "$target")"
  tmp="$(mktemp "$target.XXXXXX")"
  cat >"$tmp"
  chmod "$mode" "$tmp"
  if [ -f "$target" ] && cmp -s "$tmp" "$target"; then
    rm -f "$tmp"
    say "$target unchanged"
  else
    mv -f "$tmp" "$target"
    say "wrote $target"
  fi
}

# --- Program files: staged next to the target, then swapped in item by item ---
mkdir -p "$DEST"
STAGE="$(mktemp -d "$DEST/.install.XXXXXX")"
trap 'rm -rf "$STAGE"' EXIT
say "copying the program from $SRC"
ITEMS=(dist node_modules config package.json)
for f in package-lock.json README.md; do
  [ -e "$SRC/$f" ] && ITEMS+=("$f")
done
for item in "${ITEMS[@]}"; do
  cp -a --no-preserve=ownership "$SRC/$item" "$STAGE/"
done
if command -v npm >/dev/null 2>&1; then
  say "removing dev dependencies (npm prune --omit=dev, offline)"
  (cd "$STAGE" && npm prune --omit=dev --offline --no-audit --no-fund --loglevel=error >/dev/null) ||
    die "npm prune failed in $STAGE"
else
  say "warning: npm not found; node_modules is copied with its dev dependencies"
fi
# The service runs as a dynamic user: everything readable, nothing writable by it.
chmod -R u+rwX,go+rX,go-w "$STAGE"
for item in "${ITEMS[@]}"; do
  rm -rf "$DEST/$item.old"
  if [ -e "$DEST/$item" ]; then mv "$DEST/$item" "$DEST/$item.old"; fi
  mv "$STAGE/$item" "$DEST/$item"
  rm -rf "$DEST/$item.old"
done
mkdir -p "$DEST/models"
if [ -d "$SRC/models" ]; then
  cp -a --no-preserve=ownership "$SRC/models/." "$DEST/models/"
  chmod -R u+rwX,go+rX,go-w "$DEST/models"
fi
say "installed the program in $DEST"

# --- Configuration ---
mkdir -p "$ETC"
chmod 0755 "$ETC"
if [ -e "$ETC/config.json" ]; then
  say "$ETC/config.json exists; kept as is"
else
  # Absolute recipe, archive and journal paths: the service's working directory (PREFIX) is read-only.
  "$NODE_BIN" -e '
    const fs = require("fs");
    const [src, dst, prefix] = process.argv.slice(1);
    const c = JSON.parse(fs.readFileSync(src, "utf8"));
    c.recipesDir ??= prefix + "/models";
    c.archive = { dir: "/var/lib/inspectd/archive", ...c.archive };
    c.journal = { path: "/var/lib/inspectd/journal.sqlite", ...c.journal };
    fs.writeFileSync(dst, JSON.stringify(c, null, 2) + "\n", { mode: 0o644, flag: "wx" });
  ' "$SRC/config/default.json" "$ETC/config.json" "$PREFIX"
  say "created $ETC/config.json from config/default.json: add the cameras, then: systemctl restart inspectd"
fi
mkdir -p "$ETC/credentials"
chmod 0700 "$ETC/credentials"

# --- The unit, with this box's node and prefix ---
sed -e "/^ExecStart\(Pre\)\?=/s|=/usr/bin/node |=$NODE_BIN |" -e "/^[^#]/s|/opt/inspectd|$PREFIX|g" \
  "$SRC/systemd/inspectd.service" |
  put "$UNIT" 0644

# --- Socket buffers: a GigE Vision stream bursts a whole frame of UDP packets at line rate; with
# the kernel default (~208 KiB) the receiver drops packets and frames arrive incomplete. ---
put "$SYSCTL" 0644 <<EOF
# inspectd: GigE Vision (GVSP) streams arrive as UDP bursts of a whole frame; small receive
# buffers drop packets. 32 MiB holds several frames of a 5 MP camera.
net.core.rmem_max = $RMEM_BYTES
net.core.rmem_default = $RMEM_BYTES
EOF

if [ -n "$DESTDIR" ]; then
  say "done (staged; nothing started)"
  exit 0
fi

if sysctl -q -p "$SYSCTL" >/dev/null; then
  say "applied $SYSCTL"
else
  say "warning: could not apply $SYSCTL now (a container?); it applies at the next boot"
fi

if [ ! -d /run/systemd/system ] || ! command -v systemctl >/dev/null 2>&1; then
  say "warning: systemd is not running here; the unit is installed but not enabled or started"
  exit 0
fi
systemctl daemon-reload
if [ "$START" -eq 0 ]; then
  systemctl enable inspectd.service
  if systemctl is-active --quiet inspectd.service; then
    say "enabled; still running the old version (--no-start): systemctl restart inspectd"
  else
    say "enabled; not started (--no-start): systemctl start inspectd"
  fi
elif systemctl is-active --quiet inspectd.service; then
  systemctl enable inspectd.service
  systemctl restart inspectd.service
  say "restarted inspectd with the new version"
else
  systemctl enable --now inspectd.service
  say "started inspectd"
fi
say "status: systemctl status inspectd; logs: journalctl -u inspectd -f"
