"""One module per external tool: libmagic (magic), ffmpeg (ffmpeg), PyAV (av), and
the process runner every external program goes through (proc)."""
