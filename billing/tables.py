"""The operators' costs table, apart from the page: its columns for each grouping, its sort, its headings' links
and its CSV rows, all from the rows and totals queries.cost_summary_by returns."""

from decimal import Decimal

from monid_site.money import MICROS_PER_DOLLAR

# The first columns for each grouping of the cost summary: heading -> the row's field (queries.COST_GROUPS).
GROUP_COLUMNS = {
    "key": {"workspace": "workspace", "key": "key"},
    "workspace": {"workspace": "workspace"},
    "provider": {"provider": "provider_slug"},
    "endpoint": {"provider": "provider_slug", "endpoint": "path"},
}
COUNTS = ("completed", "failed", "blocked", "stopped", "time_out", "runs")
MONEY = ("calculated", "actual", "reported", "margin")
SORT_DEFAULT = "reported"  # largest first: the order cost_summary_by returns


def cost_columns(group: str) -> dict:
    """The table's columns, named for `sort` as the CSV heads them: name -> the row's field."""
    return {
        **GROUP_COLUMNS[group],
        **{count: count for count in COUNTS},
        **{money: f"{money}_micros" for money in MONEY},
    }


def cost_sort(rows: list[dict], *, group: str, sort: str) -> tuple[str, bool]:
    """Sorts the rows in place by the column `sort` names, descending when it starts with "-"; returns that
    column and direction. Any other `sort` leaves the default order. Stable, so ties keep that order."""
    columns, name = cost_columns(group), sort.removeprefix("-")
    if name not in columns:
        return SORT_DEFAULT, True
    field, descending = columns[name], sort.startswith("-")
    rows.sort(key=lambda row: row[field].casefold() if isinstance(row[field], str) else row[field], reverse=descending)
    return name, descending


def cost_headings(group: str, *, sort: str, descending: bool) -> list[dict]:
    """Each column heading with the `sort` its link asks for: the current column the other way round, another
    names from A and figures from the largest; and its aria-sort."""
    headings = []
    for name in cost_columns(group):
        is_text = name in GROUP_COLUMNS[group]
        current = name == sort
        ascending_next = descending if current else is_text
        headings.append(
            {
                "label": name.replace("_", " ").capitalize(),
                "numeric": not is_text,
                "link": name if ascending_next else f"-{name}",
                "aria_sort": ("descending" if descending else "ascending") if current else "",
            }
        )
    return headings


def cost_csv_rows(rows: list[dict], totals: dict, *, group: str):
    """The table as on the page, for csv.writer: a heading, the same rows and columns, dollars with six decimals,
    and the totals."""
    columns = GROUP_COLUMNS[group]
    yield [*columns, *COUNTS, *(f"{money}_usd" for money in MONEY)]
    for row in rows:
        yield [*(_cell(row[field]) for field in columns.values()), *_figures(row)]
    yield ["TOTAL", *[""] * (len(columns) - 1), *_figures(totals)]


def _figures(row: dict) -> list:
    return [
        *(row[count] for count in COUNTS),
        *(f"{Decimal(row[f'{money}_micros']) / MICROS_PER_DOLLAR:.6f}" for money in MONEY),
    ]


def _cell(text: str) -> str:
    """Labels are typed by customers: a leading =, +, - or @ must not become a formula in the operator's spreadsheet."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
