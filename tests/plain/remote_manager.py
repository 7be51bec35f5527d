"""A BaseManager serving a dict on 127.0.0.1, a client with the key, and one without it, with
nothing but the standard library.

    python3 remote_manager.py START_METHOD

Prints one JSON object: what the right-key client saw and wrote, what the parent read back,
what connect() raised for a wrong key, and what a stranger saw: another program (no child of
this one) given the address and the key.
"""

import json
import multiprocessing
import secrets
import subprocess
import sys
from multiprocessing.managers import BaseManager, DictProxy

_DICT = {}


def the_dict():
    return _DICT


STRANGER = """
import json, sys
from multiprocessing.managers import BaseManager, DictProxy
class Stranger(BaseManager):
    pass
Stranger.register("shared_dict", proxytype=DictProxy)
manager = Stranger(address=(sys.argv[1], int(sys.argv[2])), authkey=bytes.fromhex(sys.argv[3]))
manager.connect()
shared = manager.shared_dict()
shared["stranger"] = True
print(json.dumps(shared.copy()))
"""


class DictManager(BaseManager):
    pass


DictManager.register("shared_dict", callable=the_dict, proxytype=DictProxy)


def client(address, authkey, conn):
    manager = DictManager(address=address, authkey=authkey)
    try:
        manager.connect()
        shared = manager.shared_dict()
        shared["note"] = "written by the client"
        conn.send({"raised": None, "saw": shared.copy()})
    except Exception as exc:
        conn.send({"raised": f"{type(exc).__module__}.{type(exc).__qualname__}",
                   "authentication_error": isinstance(exc, multiprocessing.AuthenticationError)})


def main():
    method = sys.argv[1]
    ctx = multiprocessing.get_context(method)
    authkey = secrets.token_bytes(16)
    server = DictManager(address=("127.0.0.1", 0), authkey=authkey, ctx=ctx)
    server.start()
    found = {"python": sys.version.split()[0], "method": method, "address": list(server.address)}
    for name, key in (("right", authkey), ("wrong", bytes(b ^ 0xFF for b in authkey))):
        here, there = ctx.Pipe()
        process = ctx.Process(target=client, args=(server.address, key, there))
        process.start()
        found[name] = here.recv()
        process.join()
    found["parent_reads"] = server.shared_dict().copy()
    host, port = server.address
    stranger = subprocess.run([sys.executable, "-I", "-c", STRANGER, host, str(port), authkey.hex()],
                              capture_output=True, text=True, timeout=30)
    found["stranger"] = json.loads(stranger.stdout) if stranger.returncode == 0 else stranger.stderr
    server.shutdown()
    print(json.dumps(found), flush=True)


if __name__ == "__main__":
    main()
