"""Send a shared Value on a Queue, a SimpleQueue, a Pipe, or as a Process argument, with nothing
but the standard library.

    python3 pass_value.py START_METHOD CHANNEL LOCK

CHANNEL: queue, simple-queue, pipe or process-arg. LOCK: true or false. The receiver waits 1 s
after the sender has tried. Prints one JSON object: whether sending raised (and what), and whether
the receiver got the Value. What a Queue's feeder thread raises it prints on this script's
stderr.
"""

import json
import multiprocessing
import sys


def receiver(channel, end, sent, conn):
    if channel == "process-arg":
        conn.send({"received": True, "type": type(end).__name__, "value": end.value})
        return
    sent.acquire()
    if channel == "queue":
        try:
            got = end.get(timeout=1.0)
        except Exception:
            got = None
    else:
        reader = end._reader if channel == "simple-queue" else end
        got = (end.get() if channel == "simple-queue" else end.recv()) if reader.poll(1.0) else None
    conn.send({"received": got is not None})


def main():
    method, channel, lock = sys.argv[1], sys.argv[2], sys.argv[3] == "true"
    ctx = multiprocessing.get_context(method)
    var = ctx.Value("I", 1, lock=lock)
    found = {"python": sys.version.split()[0], "method": method, "raised": None, "message": None}
    here, there = ctx.Pipe()
    sent = ctx.Semaphore(0)
    if channel == "process-arg":
        process = ctx.Process(target=receiver, args=(channel, var, sent, there))
        process.start()
    else:
        if channel == "queue":
            end = ctx.Queue()
            send = end.put
        elif channel == "simple-queue":
            end = ctx.SimpleQueue()
            send = end.put
        else:
            end, send_end = ctx.Pipe(duplex=False)
            send = send_end.send
        process = ctx.Process(target=receiver, args=(channel, end, sent, there))
        process.start()
        try:
            send(var)
        except Exception as exc:
            found["raised"], found["message"] = type(exc).__name__, str(exc)
        sent.release()
    found.update(here.recv())
    process.join()
    if channel == "queue":
        end.close()
        end.join_thread()  # the feeder thread has printed whatever it raised
    print(json.dumps(found), flush=True)


if __name__ == "__main__":
    main()
