"""User-facing errors: anything the user can fix (bad input, units, files) raises AmorphError."""


class AmorphError(ValueError):
    """An error caused by user input; its message says what is wrong and how to fix it."""


class AmorphWarning(UserWarning):
    """A warning about input that is allowed but outside the validated range (e.g. extrapolation)."""
