"""`{% cost_chart days %}`: the daily reported and actual cost as an inline SVG line chart, with its figures."""

from django import template

from billing.charts import daily_cost_chart

register = template.Library()


@register.inclusion_tag("billing/_cost_chart.html")
def cost_chart(days, start=None, end=None, mode=""):
    """`days` as queries.cost_daily_series gives them; the chart spans [start, end], or the days given."""
    return {"chart": daily_cost_chart(days, first=start, last=end), "days": days, "mode": mode}
