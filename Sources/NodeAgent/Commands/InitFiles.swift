/// The exec agent `init` writes beside agentvm.yml: examples/agents/echo.py, a Python 3
/// (stdlib only) program speaking docs/exec-protocol.md, so the commented `worker` agent in the
/// template runs as soon as it is uncommented.
enum InitFiles {
    static let echoAgentPath = "agents/echo.py"

    static let echoAgent = #"""
#!/usr/bin/env python3
"""Echo agent for AgentVM's exec handler (protocol: docs/exec-protocol.md, version 1).

Answers every task with its input, counts tasks in memory with a `memory.incr` request,
logs each task, and emits an event for every message it receives. Python 3 stdlib only.
"""
import json
import sys

PROTOCOL_VERSION = 1
_next_request = 0
_inbox = []  # node messages that arrived while we waited for a reply


def send(message):
    sys.stdout.write(json.dumps(message, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def read_message():
    """The next JSON object from the node, or None at end of input."""
    if _inbox:
        return _inbox.pop(0)
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            return json.loads(line)
        except ValueError as error:
            log("warn", "ignoring a line that is not JSON: %s" % error)
    return None


def request(kind, **fields):
    """Sends a request and waits for its reply; other messages are kept for later."""
    global _next_request
    _next_request += 1
    rid = "r%d" % _next_request
    send(dict(fields, type=kind, id=rid))
    while True:
        line = sys.stdin.readline()
        if not line:
            raise SystemExit(0)
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if message.get("type") == "reply" and message.get("id") == rid:
            if "error" in message:
                raise RuntimeError(message["error"].get("message", "request failed"))
            return message.get("result")
        _inbox.append(message)


def log(level, text, **fields):
    send({"type": "log", "level": level, "message": text, "fields": fields})


def main():
    while True:
        message = read_message()
        if message is None:
            return
        kind = message.get("type")
        if kind == "hello":
            if message.get("version") != PROTOCOL_VERSION:
                log("error", "unsupported protocol version %r" % message.get("version"))
                return
            send({"type": "ready"})
        elif kind == "task":
            try:
                count = request("memory.incr", key="echo.tasks", by=1)
                log("info", "task %s (%s), number %s" % (message.get("id"), message.get("task"), count))
                send({"type": "result", "id": message.get("id"), "output": message.get("input"),
                      "tokens": 0, "cost": 0})
            except Exception as error:  # report, keep serving
                send({"type": "error", "id": message.get("id"), "message": str(error)})
        elif kind == "message":
            send({"type": "emit", "event": "echo.message",
                  "data": {"from": message.get("from"), "payload": message.get("payload")}})
        elif kind == "shutdown":
            return


if __name__ == "__main__":
    main()
"""#
}
