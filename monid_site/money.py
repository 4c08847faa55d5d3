"""Money as every app keeps it: integer micro-dollars, and the one way pages write them for people to read."""

MICROS_PER_DOLLAR = 1_000_000


def micros_text(micros: int) -> str:
    """Micro-dollars as "$1,234.003000" for people to read; integer arithmetic only."""
    whole, fraction = divmod(abs(micros), MICROS_PER_DOLLAR)
    return f"{'-' if micros < 0 else ''}${whole:,}.{fraction:06d}"
