"""User-facing errors: one clear line, exit status 2 from the CLI."""


class EdgebnnError(Exception):
    """A problem with the user's input (model, target, options), not a bug in edgebnn.

    The message is one line: what is wrong, where (node or layer), and what to do.
    """

    def __init__(self, message: str, node: str | None = None):
        self.node = node
        text = " ".join(str(message).split())
        if node:
            text = f"node '{_printable(node)}': {text}"
        super().__init__(text)


def _printable(name: str, limit: int = 80) -> str:
    """A node name safe to print on one terminal line."""
    clean = "".join(c if c.isprintable() else "?" for c in name)
    return clean if len(clean) <= limit else clean[: limit - 3] + "..."
