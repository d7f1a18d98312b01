"""One module per external tool: libmagic, ffmpeg, and the process runner."""
