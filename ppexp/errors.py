"""Errors a user can fix: shown as one line, ``ppexp <command>: error: <message>``, never a traceback.

Every such error derives from :class:`UserError` (alongside the builtin it always was, so
``except ValueError`` callers keep working) and carries its exit code:

- 2 (:class:`UsageError`): the command line or the config is wrong;
- 1: the run failed on the data, the files or the state it found (a corrupt checkpoint, a
  locked output folder, a non-finite loss).

The message names the file / line / config key and the fix. ``ppexp.cli`` turns these into
the line and the exit code in one place; commands do not catch them themselves. Imports
nothing from ppexp: every layer may raise them.
"""


class UserError(Exception):
    """A problem in the user's input, files or environment; the message says how to fix it."""
    exit_code = 1


class UsageError(UserError, ValueError):
    """The command line or the config is wrong (exit code 2)."""
    exit_code = 2


def exit_code_of(err):
    """The exit code for a user-facing error, None for a bug (which keeps its traceback)."""
    if isinstance(err, UserError):
        return err.exit_code
    if isinstance(err, FileNotFoundError):   # open() of a path the user gave
        return 1
    return None


def error_line(command, err):
    return f"ppexp {command}: error: {err}"
