#!/bin/sh
# Echo agent for AgentVM's exec handler in POSIX shell (protocol: docs/exec-protocol.md, version 1).
#
# Limits (a shell has no JSON parser):
# - Task ids must be strings without quotes or backslashes.
# - It relies on the node writing compact JSON with sorted keys, one message per line, so a task
#   line looks like {"id":"…","input":…,"task":"…","type":"task"}; it answers with that input.
# - It makes no requests (memory, tools) and ignores messages.
# - Only `sed` and `printf` are used besides the shell.

while IFS= read -r line; do
    case "$line" in
        *'"type":"hello"'*)
            printf '%s\n' '{"type":"ready"}'
            ;;
        *'"type":"task"}')
            id=$(printf '%s\n' "$line" | sed -n 's/^{"id":"\([^"\\]*\)",.*/\1/p')
            input=$(printf '%s\n' "$line" | sed -n 's/^{"id":"[^"\\]*","input":\(.*\),"task":"[^"\\]*","type":"task"}$/\1/p')
            if [ -z "$id" ]; then
                printf '%s\n' '{"type":"log","level":"warn","message":"echo.sh: task id must be a plain string"}'
            elif [ -z "$input" ]; then
                printf '{"type":"error","id":"%s","message":"echo.sh: cannot read this task input"}\n' "$id"
            else
                printf '{"type":"log","level":"info","message":"echo.sh: task %s"}\n' "$id"
                printf '{"type":"result","id":"%s","output":%s}\n' "$id" "$input"
            fi
            ;;
        *'"type":"shutdown"'*)
            exit 0
            ;;
    esac
done
