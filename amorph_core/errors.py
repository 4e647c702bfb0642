"""User-facing errors: anything the user can fix (bad input, units, files) raises AmorphError."""
import re

#: "SomeError: " as Python prints an exception's class name before its message
EXCEPTION_NAME_RE = re.compile(r"\b(?:[A-Za-z_][\w.]*\.)?[A-Z]\w*(?:Error|Exception|Warning): ")


class AmorphError(ValueError):
    """An error caused by user input; its message says what is wrong and how to fix it."""


class AmorphWarning(UserWarning):
    """A warning about input that is allowed but outside the validated range (e.g. extrapolation)."""


def strip_exception_names(text: str) -> str:
    """text without the Python class names ('ValueError: ', 'ase.io.ParseError: ') a library put before its
    message: what a user is shown says what is wrong, not which class said it."""
    return EXCEPTION_NAME_RE.sub("", text)
