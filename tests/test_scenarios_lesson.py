"""The lesson's five experiments, under every start method: what the processes observed."""

from __future__ import annotations

import ctypes

import pytest

from tests.runs import run


def test_queue_copy_child_keeps_its_copy(start_method: str) -> None:
    result = run("queue-copy", "--start-method", start_method)
    put = result.first("parent-put", "parent")
    received = result.first("child-received", "child")
    after = result.first("child-after-change", "child")
    assert received["value"] == {"key": "value"}
    assert result.first("parent-changed")["value"] == {"key": "new-value"}
    assert after["value"] == {"key": "value"}, "the parent's later change never reached the child"
    assert received["id"] != put["id"]
    assert result.holds("child-sees-parent-change") is False
    assert result.holds("same-id") is False
    assert result.findings()["same-id"]["lesson"] is False


def test_queue_copy_right_after_put_reports_what_was_pickled(start_method: str) -> None:
    # a race between the parent and the Queue's feeder thread: either outcome is real,
    # and the finding must agree with what the child actually received
    result = run("queue-copy", "--start-method", start_method, "--mutate", "right-after-put")
    received = result.first("child-received", "child")["value"]
    assert received in ({"key": "value"}, {"key": "new-value"})
    assert result.holds("child-sees-parent-change") is (received == {"key": "new-value"})
    if received == {"key": "new-value"}:
        assert "feeder thread" in result.findings()["child-sees-parent-change"]["evidence"]


def test_shared_value_child_sees_the_change(start_method: str) -> None:
    result = run("shared-value", "--start-method", start_method)
    created = result.first("parent-created", "parent")
    assert created["value"] == 1 and created["type"] == "Synchronized"
    assert result.first("child-first-read", "child")["value"] == 1
    assert result.first("child-after-change", "child")["value"] == 3
    assert result.holds("child-sees-parent-change") is True
    same = created["id"] == result.first("child-first-read")["id"]
    assert same is (start_method == "fork"), "a forked child has the parent's addresses; others do not"
    assert result.holds("same-id") is same
    assert result.findings()["same-id"]["lesson"] is (start_method == "fork")


@pytest.mark.parametrize(("lock", "kind"), [("true", "Synchronized"), ("lock", "Synchronized"),
                                            ("rlock", "Synchronized"), ("false", "c_uint")])
def test_shared_value_lock_modes(lock: str, kind: str) -> None:
    result = run("shared-value", "--start-method", "spawn", "--lock", lock)
    assert result.first("parent-created")["type"] == kind
    assert result.first("child-after-change")["value"] == 3


@pytest.mark.parametrize(("code", "value", "after"), [
    ("b", "127", -127),  # a signed char wraps, silently
    ("B", "255", 1),
    ("d", "0.5", 2.5),
    ("c", "a", "c"),
    ("u", "é", "ë"),
])
def test_shared_value_type_codes(code: str, value: str, after: object) -> None:
    result = run("shared-value", "--start-method", "forkserver", "--typecode", code,
                 "--value", value)
    assert result.first("child-after-change", "child")["value"] == after


def test_shared_value_float_precision_is_what_c_float_keeps() -> None:
    result = run("shared-value", "--start-method", "fork", "--typecode", "f", "--value", "3.1415")
    assert result.first("child-first-read")["value"] == ctypes.c_float(3.1415).value
    assert result.first("child-first-read")["value"] != 3.1415


def test_shared_array_child_sees_the_change(start_method: str) -> None:
    result = run("shared-array", "--start-method", start_method)
    assert result.first("parent-created")["items"] == [0, 1, 2, 3, 4]
    assert result.first("child-first-read", "child")["value"] == 0
    after = result.first("child-after-change", "child")
    assert after["value"] == 100 and after["items"] == [100, 1, 2, 3, 4]
    assert result.holds("child-sees-parent-change") is True


def test_shared_array_of_characters() -> None:
    result = run("shared-array", "--start-method", "spawn", "--typecode", "u")
    assert result.first("child-after-change")["items"] == list("cbcde")


def test_value_on_a_queue_fails_in_the_feeder_thread(start_method: str) -> None:
    result = run("pass-via-queue", "--start-method", start_method, "--wait", "0.3")
    assert result.first("send-result", "parent")["raised"] is False, "put() itself returned"
    feeder = [e for e in result.of_kind("output")
              if e["role"] == "parent" and e["data"].get("thread") == "QueueFeederThread"]
    assert feeder, "the feeder thread printed the error on the parent's stderr"
    assert "RuntimeError: c_uint objects should only be shared between processes through " \
           "inheritance" in "".join(e["text"] for e in feeder)
    assert result.first("receiver-result", "child")["received"] is False
    assert result.holds("put-raises") is False
    assert result.holds("receiver-gets-object") is False


def test_a_synchronized_value_names_itself_in_the_error() -> None:
    result = run("pass-via-queue", "--start-method", "fork", "--lock", "true", "--wait", "0.3")
    assert "Synchronized objects should only be shared between processes through inheritance" \
        in result.output()


@pytest.mark.parametrize("channel", ["simple-queue", "pipe"])
def test_value_on_a_simple_queue_or_pipe_raises_at_once(channel: str, start_method: str) -> None:
    result = run("pass-via-queue", "--start-method", start_method, "--channel", channel, "--wait", "0.3")
    sent = result.first("send-result", "parent")
    assert sent["raised"] is True and sent["exception"] == "RuntimeError"
    assert "through inheritance" in sent["message"]
    assert result.first("receiver-result", "child")["received"] is False
    assert result.holds("put-raises") is True


def test_value_as_a_process_argument_arrives(start_method: str) -> None:
    result = run("pass-via-queue", "--start-method", start_method, "--channel", "process-arg")
    got = result.first("receiver-result", "child")
    assert got["received"] is True and got["value"] == 1 and got["type"] == "c_uint"
    assert result.holds("receiver-gets-object") is True
    assert result.holds("put-raises") is False


def test_small_int_id(start_method: str) -> None:
    result = run("small-int-id", "--start-method", start_method)
    parent, child = result.first("parent-id", "parent"), result.first("child-id", "child")
    assert parent["value"] == child["value"] == 1
    same = parent["id"] == child["id"]
    if start_method == "fork":
        assert same, "a forked child has the parent's memory layout"
    assert result.holds("same-id") is same
    assert result.findings()["same-id"]["lesson"] is True
    assert "randomize_va_space" in result.findings()["same-id"]["evidence"]
