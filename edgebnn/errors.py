"""User-facing errors: one clear line, exit status 2 from the CLI."""


class EdgebnnError(Exception):
    """A problem with the user's input (model, target, options), not a bug in edgebnn.

    The message is one line: what is wrong, where (node or layer), and what to do.
    """

    def __init__(self, message: str, node: str | None = None):
        self.node = node
        text = _printable(" ".join(str(message).split()), MAX_MESSAGE)
        if node:
            text = f"node '{_printable(node)}': {text}"
        super().__init__(text)


# A message longer than this keeps its start and its end (which says what to do).
MAX_MESSAGE = 400


def _printable(name: str, limit: int = 80) -> str:
    """A node name safe to print on one terminal line."""
    clean = "".join(c if c.isprintable() else "?" for c in name)
    if len(clean) <= limit:
        return clean
    tail = limit // 3 if limit > 100 else 0
    return clean[: limit - tail - 5] + " ... " + clean[len(clean) - tail:] if tail else clean[: limit - 3] + "..."
