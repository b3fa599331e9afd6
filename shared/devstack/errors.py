"""Exceptions raised by the local runtime stack.

DevstackError
 ├── ToolNotFoundError   a program the stack needs (initdb, java, mvn) is missing
 ├── StartupError        a process did not become ready, with the tail of its log
 └── CommandFailedError  a one-shot command exited with a non-zero status
"""


class DevstackError(Exception):
    """Root of every error raised by shared.devstack."""


class ToolNotFoundError(DevstackError):
    """A program the stack needs is not installed."""


class StartupError(DevstackError):
    """A process exited or timed out before it became ready."""


class CommandFailedError(DevstackError):
    """A one-shot command exited with a non-zero status."""
