"""make demo: run mediaprep on the sample media in testdata/ and show what it did."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SAMPLES = [
    ("check", HERE / "testdata/images/photo_rotated_gps.jpg"),
    ("prepare", HERE / "testdata/images/photo_rotated_gps.jpg"),
    ("prepare", HERE / "testdata/images/ladybird.png"),
    ("prepare", HERE / "testdata/images/compliant.jpg"),
    ("prepare", HERE / "testdata/audio/speech_75s.ogg"),
    ("prepare", HERE / "testdata/video/bikes_short.mp4"),
]


def main() -> int:
    exe = shutil.which("mediaprep", path=str(Path(sys.executable).parent)) or "mediaprep"
    out = Path(tempfile.mkdtemp(prefix="mediaprep-demo-"))
    print(f"outputs go to {out}\n")
    for cmd, path in SAMPLES:
        if not path.exists():
            continue
        argv = [exe, cmd, str(path)] + (["-o", str(out)] if cmd == "prepare" else [])
        print("$ mediaprep " + " ".join(argv[1:]).replace(str(HERE) + "/", ""), flush=True)
        subprocess.run(argv, check=False)
        print(flush=True)
    print("$ mediaprep prepare testdata/images/photo_rotated_gps.jpg --json --media-id 1057943604868669445")
    res = subprocess.run([exe, "prepare", str(SAMPLES[0][1]), "-o", str(out), "--json",
                          "--media-id", "1057943604868669445"], capture_output=True, text=True)
    print(json.dumps(json.loads(res.stdout)["attachments"], indent=2) if res.returncode == 0 else res.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
