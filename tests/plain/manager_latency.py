"""How long a client takes from connect() to the first answer of a BaseManager, over TCP on
127.0.0.1 and over a Unix socket, with nothing but the standard library.

    python3 manager_latency.py [nodelay]

Serves a dict, then (in this process) connects, makes the proxy and copies the dict, counting
the connections the client opens. With `nodelay`, every TCP socket this process connects sets
TCP_NODELAY (no waiting to coalesce small writes). Prints one JSON object: milliseconds and
connections for each address family.
"""

import json
import os
import secrets
import socket
import sys
import tempfile
import time
from multiprocessing import connection, managers
from multiprocessing.managers import BaseManager, DictProxy

_DICT = {}


def the_dict():
    return _DICT


class DictManager(BaseManager):
    pass


DictManager.register("shared_dict", callable=the_dict, proxytype=DictProxy)
opened = [0]
_client = connection.Client


def counting_client(*args, **kwargs):
    opened[0] += 1
    return _client(*args, **kwargs)


def timed(address):
    key = secrets.token_bytes(16)
    server = DictManager(address=address, authkey=key)
    server.start()
    opened[0] = 0
    start = time.perf_counter()
    client = DictManager(address=server.address, authkey=key)
    client.connect()
    client.shared_dict().copy()
    ms = (time.perf_counter() - start) * 1000
    server.shutdown()
    return {"ms": ms, "connections": opened[0]}


def main():
    if sys.argv[1:] == ["nodelay"]:
        plain_connect = socket.socket.connect

        def connect(self, address):
            plain_connect(self, address)
            if self.family == socket.AF_INET:
                self.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        socket.socket.connect = connect
    managers.Client = counting_client  # what the managers' module calls to connect
    managers.listener_client["pickle"] = (managers.listener_client["pickle"][0], counting_client)
    with tempfile.TemporaryDirectory() as folder:
        found = {"python": sys.version.split()[0], "tcp": timed(("127.0.0.1", 0)),
                 "unix": timed(os.path.join(folder, "manager.sock"))}
    print(json.dumps(found))


if __name__ == "__main__":
    main()
