"""Two unrelated programs share a SharedMemory segment by name, with nothing but the standard
library.

    python3 shm_stranger.py

This program creates a segment and runs another interpreter (not a multiprocessing child: a
program of its own) that attaches by name, reads, closes and exits. Prints one JSON object:
what the other program read, what it printed on stderr, and whether the segment was still in
/dev/shm after it had exited.
"""

import json
import os
import subprocess
import sys
import time
from multiprocessing.shared_memory import SharedMemory

OTHER = """
import sys
from multiprocessing.shared_memory import SharedMemory
shm = SharedMemory(name=sys.argv[1])
print(bytes(shm.buf[:4]).hex())
shm.close()
"""


def main():
    shm = SharedMemory(create=True, size=4096)
    shm.buf[:4] = b"\x00\x01\x02\x03"
    other = subprocess.run([sys.executable, "-I", "-c", OTHER, shm.name], capture_output=True,
                           text=True, timeout=30)
    path = f"/dev/shm/{shm.name}"
    deadline = time.monotonic() + 5  # the other program's tracker ends just after it does
    while os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.02)
    found = {"python": sys.version.split()[0], "other_read": other.stdout.strip(),
             "other_stderr": other.stderr, "exists_after_other": os.path.exists(path)}
    shm.close()
    try:
        shm.unlink()
        found["creator_unlinked"] = True
    except FileNotFoundError:
        found["creator_unlinked"] = False
    print(json.dumps(found), flush=True)


if __name__ == "__main__":
    main()
