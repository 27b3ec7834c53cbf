/* Coverage calendar (explorer/coverage_svg.h). Colours are SVG presentation
 * attributes, not style attributes, so the page's CSP (style-src 'self', no
 * inline styles, no script) stays as it is. Each cell's <title> gives the
 * exact counts on hover. */
#include <stdlib.h>

#include "core/html.h"
#include "explorer/coverage_svg.h"

#define CELL   14 /* px per cell, gap included */
#define SIDE   12 /* px of the drawn square */
#define LEFT   30 /* room for the weekday labels */
#define TOP    18 /* room for the month labels */

/* 0 = Sunday for a valid YYYY-MM-DD (Sakamoto). */
static int weekday(const char *s)
{
	static const int t[] = { 0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4 };
	int y = atoi(s), m = atoi(s + 5), d = atoi(s + 8);

	y -= m < 3;
	return (y + y / 4 - y / 100 + y / 400 + t[m - 1] + d) % 7;
}

/* Green by the share present (full: dark), grey when none. */
static const char *shade(const struct iw_cov_day *d)
{
	if (d->present == 0)
		return "#e5e5e5";
	if (d->present >= d->expected)
		return "#1a7f37";
	if (d->present * 4 >= d->expected * 3)
		return "#4fb061";
	if (d->present * 2 >= d->expected)
		return "#8fd19e";
	return "#d6efdb";
}

static void cell(struct iw_buf *b, const struct iw_cov_day *d, int x, int y)
{
	iw_buf_printf(b, "<g><title>%s: %d of %d intervals, %d estimated, %d generation</title>"
			 "<rect class=\"day\" data-date=\"%s\" x=\"%d\" y=\"%d\" width=\"%d\" "
			 "height=\"%d\" fill=\"%s\"/>",
		      d->day, d->present, d->expected, d->estimated, d->generation, d->day, x, y,
		      SIDE, SIDE, shade(d));
	/* Estimated share: an orange band rising from the bottom. */
	if (d->estimated > 0 && d->expected > 0) {
		int h = (d->estimated * SIDE + d->expected - 1) / d->expected;
		if (h > SIDE)
			h = SIDE;
		iw_buf_printf(b, "<rect class=\"est\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
				 "fill=\"#e69f00\"/>", x, y + SIDE - h, SIDE, h);
	}
	/* Generation share: a blue bar along the left edge. */
	if (d->generation > 0 && d->expected > 0) {
		int h = (d->generation * SIDE + d->expected - 1) / d->expected;
		if (h > SIDE)
			h = SIDE;
		iw_buf_printf(b, "<rect class=\"gen\" x=\"%d\" y=\"%d\" width=\"3\" height=\"%d\" "
				 "fill=\"#0072b2\"/>", x, y + SIDE - h, h);
	}
	iw_buf_puts(b, "</g>");
}

int iw_cov_svg(struct iw_buf *b, const struct iw_cov *c)
{
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	int first = c->n ? weekday(c->v[0].day) : 0, weeks = (first + c->n + 6) / 7, missing = 0;
	int width = LEFT + weeks * CELL + 4, height = TOP + 7 * CELL + 4;

	iw_buf_printf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"coverage\" width=\"%d\" "
			 "height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" "
			 "aria-label=\"interval coverage by day\">", width, height, width, height);
	iw_buf_printf(b, "<text x=\"0\" y=\"%d\" font-size=\"9\" fill=\"#555\">Mon</text>"
			 "<text x=\"0\" y=\"%d\" font-size=\"9\" fill=\"#555\">Wed</text>"
			 "<text x=\"0\" y=\"%d\" font-size=\"9\" fill=\"#555\">Fri</text>",
		      TOP + 1 * CELL + 10, TOP + 3 * CELL + 10, TOP + 5 * CELL + 10);
	for (int i = 0; i < c->n; i++) {
		const struct iw_cov_day *d = &c->v[i];
		int slot = first + i, x = LEFT + (slot / 7) * CELL, y = TOP + (slot % 7) * CELL;
		if (d->day[8] == '0' && d->day[9] == '1')
			iw_buf_printf(b, "<text x=\"%d\" y=\"12\" font-size=\"9\" fill=\"#555\">%s</text>",
				      x, months[(atoi(d->day + 5) + 11) % 12]);
		cell(b, d, x, y);
		missing += d->present == 0;
	}
	iw_buf_puts(b, "</svg>");
	iw_buf_puts(b, "<p class=\"muted\">Cell: green by intervals present against expected "
		       "(96; 92 / 100 on the DST days), grey when none; orange from the bottom: "
		       "estimated share; blue on the left: generation share.</p>");
	iw_buf_printf(b, "<h3>Missing days (%d)</h3>", missing);
	if (missing == 0)
		return iw_buf_puts(b, "<p class=\"muted\">none</p>");
	/* Runs of consecutive days as one line (the window has every day). */
	iw_buf_puts(b, "<ul class=\"missing\">");
	for (int i = 0; i < c->n; i++) {
		int j = i;
		if (c->v[i].present != 0)
			continue;
		while (j + 1 < c->n && c->v[j + 1].present == 0)
			j++;
		if (j == i)
			iw_buf_printf(b, "<li>%s</li>", c->v[i].day);
		else
			iw_buf_printf(b, "<li>%s – %s (%d days)</li>", c->v[i].day, c->v[j].day,
				      j - i + 1);
		i = j;
	}
	return iw_buf_puts(b, "</ul>");
}
