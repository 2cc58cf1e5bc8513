"""The exceptions sattn raises besides TypeError and ValueError."""


class SattnError(RuntimeError):
    """A failure inside sattn: a pattern that does not load, a compile or
    CUDA driver failure. The message is the library's."""


class SattnArgumentError(SattnError, ValueError):
    """An argument the library refused (a parameter value out of range, a
    head dim it cannot compile, a tensor it cannot take). It is a ValueError
    too, so callers can catch bad input in one place."""
