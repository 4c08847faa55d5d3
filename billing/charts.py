"""The Costs page's chart of daily reported and actual cost: integer micro-dollars in, SVG coordinates out.

Geometry only, no Django: templates/billing/_cost_chart.html draws it, through the `cost_chart` template tag.
"""

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

from monid_site.money import MICROS_PER_DOLLAR

WIDTH, HEIGHT = 720, 260
# Room for the dollar labels on the left, the legend above, the dates below and half a date on the right.
LEFT, RIGHT, TOP, BOTTOM = 80, 36, 32, 30
Y_STEPS = 4  # at most this many steps from $0 to the top of the money axis
X_LABELS = 6  # at most this many dates under the axis
# The money axis reaches at least a cent, so a range that cost nothing (test keys) still has one.
Y_FLOOR_MICROS = 10_000
SERIES = ("reported", "actual")
ONE_DAY = datetime.timedelta(days=1)


@dataclass(frozen=True)
class Mark:
    """One day of one series: where its dot goes and what it says."""

    x: float
    y: float
    day: datetime.date
    micros: int


@dataclass(frozen=True)
class Line:
    name: str  # "reported" or "actual"
    points: str  # an SVG polyline's points, "x,y x,y …"
    marks: tuple[Mark, ...]  # one per day with runs


@dataclass(frozen=True)
class Tick:
    position: float  # y on the money axis, x on the dates
    label: str


@dataclass(frozen=True)
class Chart:
    first: datetime.date
    last: datetime.date
    lines: tuple[Line, ...]
    y_ticks: tuple[Tick, ...]
    x_ticks: tuple[Tick, ...]
    reported_micros: int  # the sums of the days charted
    actual_micros: int
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = WIDTH - RIGHT
    top: int = TOP
    bottom: int = HEIGHT - BOTTOM


def daily_cost_chart(
    days: Sequence[dict], *, first: datetime.date | None = None, last: datetime.date | None = None
) -> Chart | None:
    """Two lines over the UTC days [first, last] (by default the first and last of `days`) from rows of `day`,
    `reported_micros` and `actual_micros`, one per day with runs; None when there are none.

    A day without runs is zero: the line drops to zero on the first and last day of each such gap, so the
    points grow with the days that had runs, never with the length of the range.
    """
    if not days:
        return None
    first = first or min(row["day"] for row in days)
    last = last or max(row["day"] for row in days)
    peak = max(Y_FLOOR_MICROS, *(row[f"{name}_micros"] for row in days for name in SERIES))
    step = nice_step(peak)
    top_micros = step * -(-peak // step)  # the first step at or above the peak
    span = (last - first).days

    def x(day: datetime.date) -> float:
        if not span:
            return round(LEFT + (WIDTH - LEFT - RIGHT) / 2, 1)
        return round(LEFT + (WIDTH - LEFT - RIGHT) * (day - first).days / span, 1)

    def y(micros: int) -> float:
        return round(HEIGHT - BOTTOM - (HEIGHT - BOTTOM - TOP) * micros / top_micros, 1)

    lines = []
    for name in SERIES:
        values = {row["day"]: row[f"{name}_micros"] for row in days}
        points = " ".join(f"{x(day)},{y(micros)}" for day, micros in zero_filled(values, first, last))
        lines.append(
            Line(name, points, tuple(Mark(x(day), y(micros), day, micros) for day, micros in sorted(values.items())))
        )
    return Chart(
        first=first,
        last=last,
        lines=tuple(lines),
        y_ticks=tuple(Tick(y(micros), axis_dollars(micros)) for micros in range(0, top_micros + 1, step)),
        x_ticks=tuple(Tick(x(day), day.isoformat()) for day in date_labels(first, last)),
        reported_micros=sum(row["reported_micros"] for row in days),
        actual_micros=sum(row["actual_micros"] for row in days),
    )


def nice_step(peak: int, steps: int = Y_STEPS) -> int:
    """The smallest 1, 2 or 5 x 10^k micro-dollars that reaches `peak` in `steps` steps."""
    magnitude = 1
    while True:
        for factor in (1, 2, 5):
            if factor * magnitude * steps >= peak:
                return factor * magnitude
        magnitude *= 10


def zero_filled(
    values: dict[datetime.date, int], first: datetime.date, last: datetime.date
) -> list[tuple[datetime.date, int]]:
    """The days with runs in order, with a zero on the first and last day of every run of days without."""
    points, previous = [], first - ONE_DAY
    for day in sorted(values):
        if day - previous > ONE_DAY:
            points.append((previous + ONE_DAY, 0))
            if day - previous > 2 * ONE_DAY:
                points.append((day - ONE_DAY, 0))
        points.append((day, values[day]))
        previous = day
    if last > previous:
        points.append((previous + ONE_DAY, 0))
        if last - previous > ONE_DAY:
            points.append((last, 0))
    return points


def date_labels(first: datetime.date, last: datetime.date, most: int = X_LABELS) -> list[datetime.date]:
    """Up to `most` days spread evenly from `first` to `last`, both included."""
    span = (last - first).days
    count = min(most, span + 1)
    if count == 1:
        return [first]
    return [first + datetime.timedelta(days=round(i * span / (count - 1))) for i in range(count)]


def axis_dollars(micros: int) -> str:
    """A round amount as short as it reads: "$0", "$0.005", "$2.50", "$1,000"; integer arithmetic only."""
    whole, fraction = divmod(micros, MICROS_PER_DOLLAR)
    if not fraction:
        return f"${whole:,}"
    return f"${whole:,}.{f'{fraction:06d}'.rstrip('0').ljust(2, '0')}"
