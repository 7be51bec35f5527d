"""The lesson's shared-Value script, plain: the baseline `python -m scenarios shared-value` is timed against.

Same work as scenarios/shared_value.py (a Value, a child, two semaphores, a change, a join),
with print() where the scenario observes. Usage: plain_shared_value.py START_METHOD
"""

import multiprocessing
import sys


def child(var, child_read, parent_changed):
    print(f"child reads {var.value!r}, id {id(var):#x}", flush=True)
    child_read.release()
    parent_changed.acquire()
    print(f"after the change the child reads {var.value!r}", flush=True)


if __name__ == "__main__":
    ctx = multiprocessing.get_context(sys.argv[1])
    child_read, parent_changed = ctx.Semaphore(0), ctx.Semaphore(0)
    var = ctx.Value("I", 1, lock=True)
    print(f"parent made a Value holding {var.value!r}, id {id(var):#x}", flush=True)
    process = ctx.Process(target=child, args=(var, child_read, parent_changed))
    process.start()
    child_read.acquire()
    var.value += 2
    print(f"parent changed it to {var.value!r}", flush=True)
    parent_changed.release()
    process.join()
