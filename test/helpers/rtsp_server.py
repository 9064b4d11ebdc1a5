#!/usr/bin/python3
"""A test RTSP camera on loopback: gst-rtsp-server serving an H.264 test pattern.

Usage: rtsp_server.py --port N [--path /cam] [--width W --height H --fps F] [--user U --password P]
                      [--file F.mp4]  (an H.264 MP4 played at its own rate instead of the test pattern)
Prints "READY rtsp://127.0.0.1:N/path" on stdout once the server listens; runs until SIGTERM/SIGINT.
Each client gets its own pipeline (videotestsrc ! x264enc ! rtph264pay), so a restarted server serves at once.
"""
import argparse
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--path", default="/cam")
    ap.add_argument("--width", type=int, default=320)
    ap.add_argument("--height", type=int, default=240)
    ap.add_argument("--fps", type=int, default=15)
    ap.add_argument("--bitrate", type=int, default=0, help="x264 kbit/s; 0 = x264's default")
    ap.add_argument("--pattern", default="smpte")
    ap.add_argument("--file", default="", help="H.264 in MP4, served as recorded (benchmarks)")
    ap.add_argument("--user", default="")
    ap.add_argument("--password", default="")
    a = ap.parse_args()

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(a.port))

    bitrate = f" bitrate={a.bitrate}" if a.bitrate > 0 else ""
    # is-live: frames at the stated rate, as a camera sends them; key frames every second so a client
    # that connects mid-stream decodes within a second.
    launch = (
        f"( videotestsrc is-live=true pattern={a.pattern} "
        f"! video/x-raw,width={a.width},height={a.height},framerate={a.fps}/1 "
        f"! x264enc tune=zerolatency speed-preset=ultrafast key-int-max={a.fps}{bitrate} "
        f"! rtph264pay name=pay0 pt=96 config-interval=1 )"
    )
    if a.file:
        # Every client gets the same recorded frames from the start: a fair stream to compare decoders on.
        launch = (
            f'( filesrc location="{a.file}" ! qtdemux ! video/x-h264 '
            f"! rtph264pay name=pay0 pt=96 config-interval=1 )"
        )
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(launch)
    factory.set_shared(False)

    if a.user:
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, "viewer")
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(a.user, a.password), token)
        server.set_auth(auth)
        perms = GstRtspServer.RTSPPermissions()
        perms.add_permission_for_role("viewer", GstRtspServer.RTSP_PERM_MEDIA_FACTORY_ACCESS, True)
        perms.add_permission_for_role("viewer", GstRtspServer.RTSP_PERM_MEDIA_FACTORY_CONSTRUCT, True)
        factory.set_permissions(perms)

    server.get_mount_points().add_factory(a.path, factory)
    if server.attach(None) == 0:
        print(f"cannot listen on 127.0.0.1:{a.port}", file=sys.stderr, flush=True)
        return 1

    loop = GLib.MainLoop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, loop.quit)
    print(f"READY rtsp://127.0.0.1:{a.port}{a.path}", flush=True)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
