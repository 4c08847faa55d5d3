"""The geometry of the Costs page's chart: integer micro-dollars in, SVG coordinates out; no database."""

import datetime

from billing.charts import (
    HEIGHT,
    LEFT,
    RIGHT,
    TOP,
    WIDTH,
    axis_dollars,
    daily_cost_chart,
    date_labels,
    nice_step,
    zero_filled,
)

FEB = [datetime.date(2025, 2, day) for day in range(1, 29)]
BOTTOM_Y = HEIGHT - 30  # the plot's $0 line
RIGHT_X = WIDTH - RIGHT


def day(date, reported, actual):
    return {"day": date, "reported_micros": reported, "actual_micros": actual}


def points(line):
    return [tuple(map(float, point.split(","))) for point in line.points.split()]


def test_no_days_is_no_chart():
    assert daily_cost_chart([]) is None


def test_the_first_and_last_days_sit_on_the_edges_of_the_plot():
    chart = daily_cost_chart([day(FEB[0], 1000, 500), day(FEB[27], 2000, 700)])

    reported, actual = chart.lines
    assert [(mark.x, mark.day) for mark in reported.marks] == [(LEFT, FEB[0]), (RIGHT_X, FEB[27])]
    assert [mark.x for mark in actual.marks] == [LEFT, RIGHT_X]


def test_the_money_axis_starts_at_zero_and_ends_on_the_first_round_step_above_the_peak():
    chart = daily_cost_chart([day(FEB[0], 9_000_000, 1_000_000)])

    assert [tick.label for tick in chart.y_ticks] == ["$0", "$5", "$10"]
    assert chart.y_ticks[0].position == BOTTOM_Y and chart.y_ticks[-1].position == TOP


def test_amounts_are_placed_in_proportion_between_zero_and_the_top():
    chart = daily_cost_chart([day(FEB[0], 10_000_000, 2_500_000), day(FEB[1], 5_000_000, 0)])

    reported, actual = chart.lines
    assert [mark.y for mark in reported.marks] == [TOP, (TOP + BOTTOM_Y) / 2]
    assert [mark.y for mark in actual.marks] == [BOTTOM_Y - (BOTTOM_Y - TOP) / 4, BOTTOM_Y]


def test_a_day_without_runs_inside_the_range_is_drawn_at_zero():
    chart = daily_cost_chart([day(FEB[0], 10_000, 0), day(FEB[4], 10_000, 0)])

    reported = chart.lines[0]
    assert len(reported.marks) == 2
    assert [y for _, y in points(reported)] == [TOP, BOTTOM_Y, BOTTOM_Y, TOP]


def test_the_chosen_range_is_spanned_even_where_it_had_no_runs():
    chart = daily_cost_chart([day(FEB[9], 4000, 0)], first=FEB[0], last=FEB[27])

    assert (chart.first, chart.last) == (FEB[0], FEB[27])
    xs = [x for x, _ in points(chart.lines[0])]
    assert xs[0] == LEFT and xs[-1] == RIGHT_X and len(xs) == 5


def test_one_day_is_one_point_in_the_middle():
    chart = daily_cost_chart([day(FEB[0], 4000, 1000)])

    assert [mark.x for mark in chart.lines[0].marks] == [LEFT + (WIDTH - LEFT - RIGHT) / 2]
    assert [tick.label for tick in chart.x_ticks] == ["2025-02-01"]


def test_a_range_that_cost_nothing_still_has_a_money_axis():
    chart = daily_cost_chart([day(FEB[0], 0, 0)])

    assert [tick.label for tick in chart.y_ticks] == ["$0", "$0.005", "$0.01"]
    assert chart.lines[0].marks[0].y == BOTTOM_Y


def test_the_chart_carries_the_sums_of_its_days():
    chart = daily_cost_chart([day(FEB[0], 1, 2), day(FEB[1], 30, 40)])

    assert (chart.reported_micros, chart.actual_micros) == (31, 42)


def test_gaps_are_filled_with_zeros_on_their_first_and_last_day_only():
    values = {FEB[2]: 5, FEB[3]: 6, FEB[9]: 7}

    assert zero_filled(values, FEB[0], FEB[27]) == [
        (FEB[0], 0),
        (FEB[1], 0),
        (FEB[2], 5),
        (FEB[3], 6),
        (FEB[4], 0),
        (FEB[8], 0),
        (FEB[9], 7),
        (FEB[10], 0),
        (FEB[27], 0),
    ]


def test_a_gap_of_one_day_is_one_zero():
    assert zero_filled({FEB[0]: 5, FEB[2]: 6}, FEB[0], FEB[2]) == [(FEB[0], 5), (FEB[1], 0), (FEB[2], 6)]


def test_steps_are_one_two_or_five_times_a_power_of_ten_micro_dollars():
    assert [nice_step(peak) for peak in (1, 4, 5, 8, 9, 20, 21, 9_000, 4_000_000, 4_000_001)] == [
        1,
        1,
        2,
        2,
        5,
        5,
        10,
        5_000,
        1_000_000,
        2_000_000,
    ]


def test_dates_under_the_axis_are_spread_evenly_and_include_both_ends():
    assert date_labels(FEB[0], FEB[27]) == [FEB[0], FEB[5], FEB[11], FEB[16], FEB[22], FEB[27]]
    assert date_labels(FEB[0], FEB[2]) == FEB[:3]


def test_axis_amounts_are_as_short_as_they_read():
    assert [axis_dollars(micros) for micros in (0, 5_000, 10_000, 2_500_000, 1_000_000_000, 1)] == [
        "$0",
        "$0.005",
        "$0.01",
        "$2.50",
        "$1,000",
        "$0.000001",
    ]
