#!/usr/bin/env python3
"""figure16.py: draws the samples of tests/bench/figure16.c (its CSV file) as the
Raft paper's Figure 16, an SVG of two panels: the cumulative percent of
trials against the milliseconds without a leader, one line per election
timeout range. The top panel varies the randomness (150-150 to 150-300 ms,
on a log scale), the bottom one scales the minimum (12-24 to 150-300 ms).
Crosses mark the numbers the paper's text gives. Python's standard library
only; make figure16 runs it.

    scripts/figure16.py SAMPLES.csv OUT.svg
"""
import csv
import math
import sys
from xml.sax.saxutils import escape

TOP = ["150-150", "150-151", "150-155", "150-175", "150-200", "150-300"]
BOTTOM = ["12-24", "25-50", "50-100", "100-200", "150-300"]
COLORS = {
    "150-150": "#7f7f7f", "150-151": "#9467bd", "150-155": "#d62728",
    "150-175": "#ff7f0e", "150-200": "#2ca02c", "150-300": "#1f77b4",
    "12-24": "#8c564b", "25-50": "#e377c2", "50-100": "#bcbd22",
    "100-200": "#17becf",
}
# The paper's text (section 9.3): (line, milliseconds, cumulative percent, label).
PAPER = {
    "top": [("150-155", 287, 50, "paper: 150-155 median 287 ms"),
            ("150-200", 513, 100, "paper: 150-200 worst of 1000, 513 ms")],
    "bottom": [],
}

WIDTH, PANEL_H = 900, 330
LEFT, RIGHT, TOP_PAD, BOTTOM_PAD = 70, 300, 40, 50


def usage_error(msg):
    sys.stderr.write(f"figure16.py: {msg}\nusage: figure16.py SAMPLES.csv OUT.svg\n")
    sys.exit(2)


def read_samples(path):
    lines, settings = {}, set()
    with open(path, newline="") as f:
        rows = csv.DictReader(f)
        need = {"line", "downtime_ms", "censored", "request_ms", "reply_ms"}
        if not rows.fieldnames or not need <= set(rows.fieldnames):
            raise ValueError(f"{path}: not a figure16 CSV file (columns "
                             f"{', '.join(sorted(need))})")
        for row in rows:
            samples = lines.setdefault(row["line"], [])
            samples.append((float(row["downtime_ms"]), row["censored"] == "1"))
            settings.add((row["request_ms"], row["reply_ms"]))
    return lines, settings


def nice_ceiling(x):
    """The smallest of 1, 2, 5 times a power of ten at or above x."""
    p = 10 ** math.floor(math.log10(x))
    for m in (1, 2, 5, 10):
        if m * p >= x:
            return m * p
    return 10 * p


def nice_floor(x):
    """The largest of 1, 2, 5 times a power of ten at or below x."""
    p = 10 ** math.floor(math.log10(x))
    for m in (5, 2, 1):
        if m * p <= x:
            return m * p
    return p


class Axis:
    def __init__(self, lo, hi, log, x0, x1):
        self.lo, self.hi, self.log, self.x0, self.x1 = lo, hi, log, x0, x1

    def __call__(self, v):
        if self.log:
            v = max(v, self.lo)
            f = (math.log10(v) - math.log10(self.lo)) / (math.log10(self.hi) - math.log10(self.lo))
        else:
            f = (v - self.lo) / (self.hi - self.lo)
        return self.x0 + min(max(f, 0.0), 1.0) * (self.x1 - self.x0)

    def ticks(self):
        if self.log:  # 1, 2 and 5 times each power of ten
            out = []
            p = 10 ** math.floor(math.log10(self.lo))
            while p <= self.hi:
                out += [m * p for m in (1, 2, 5) if self.lo <= m * p <= self.hi * 1.0001]
                p *= 10
            return out
        step = nice_ceiling(self.hi / 6)
        return [i * step for i in range(int(self.hi / step + 1e-9) + 1)]


def fmt(v):
    return f"{v:.0f}" if v >= 1 else f"{v:g}"


def panel(out, names, lines, y_top, log, title, marks):
    present = [n for n in names if n in lines]
    x0, x1 = LEFT, WIDTH - RIGHT
    y0, y1 = y_top + TOP_PAD, y_top + PANEL_H - BOTTOM_PAD  # top, bottom
    done = [ms for n in present for ms, cens in lines[n] if not cens]
    done += [ms for _, ms, _, _ in marks]
    most = max(done) if done else 1000.0
    if log:
        least = min(done) if done else 100.0
        axis = Axis(nice_floor(least), 10 ** math.ceil(math.log10(most)), True, x0, x1)
    else:
        axis = Axis(0, nice_ceiling(most), False, x0, x1)

    def y(pct):
        return y1 - pct / 100 * (y1 - y0)

    out.append(f'<text x="{x0}" y="{y_top + 24}" font-size="15" font-weight="bold">'
               f'{escape(title)}</text>')
    for pct in range(0, 101, 20):
        out.append(f'<line x1="{x0}" y1="{y(pct):.1f}" x2="{x1}" y2="{y(pct):.1f}" '
                   f'stroke="#e0e0e0"/>')
        out.append(f'<text x="{x0 - 8}" y="{y(pct) + 4:.1f}" text-anchor="end">{pct}%</text>')
    for t in axis.ticks():
        out.append(f'<line x1="{axis(t):.1f}" y1="{y0}" x2="{axis(t):.1f}" y2="{y1}" '
                   f'stroke="#e0e0e0"/>')
        out.append(f'<text x="{axis(t):.1f}" y="{y1 + 18}" text-anchor="middle">{fmt(t)}</text>')
    out.append(f'<rect x="{x0}" y="{y0}" width="{x1 - x0}" height="{y1 - y0}" '
               f'fill="none" stroke="#444"/>')
    out.append(f'<text x="{(x0 + x1) / 2}" y="{y1 + 38}" text-anchor="middle">'
               f'time without leader (ms){" (log scale)" if log else ""}</text>')
    out.append(f'<text transform="translate({x0 - 48},{(y0 + y1) / 2}) rotate(-90)" '
               f'text-anchor="middle">cumulative percent</text>')

    legend_y = y0 + 6
    for name in present:
        samples = sorted(lines[name], key=lambda s: (s[1], s[0]))
        n = len(samples)
        pts = [(axis.x0, y(0))]
        for i, (ms, cens) in enumerate(samples):
            if cens:
                break
            px, py = round(axis(ms), 1), y(100 * (i + 1) / n)
            if px == pts[-1][0]:  # the same pixel column: one step up
                pts[-1] = (px, py)
            else:
                pts += [(px, pts[-1][1]), (px, py)]
        reached = pts[-1][1]
        pts.append((x1, reached))
        path = " ".join(f"{px:.1f},{py:.1f}" for px, py in pts)
        color = COLORS.get(name, "#000")
        out.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.8" '
                   f'points="{path}"><title>{escape(name)} ms, {n} trials</title></polyline>')
        censored = sum(1 for _, c in samples if c)
        label = f"{name} ms"
        if censored:
            limit = max(ms for ms, c in samples if c)
            label += f" ({censored} of {n} over {fmt(limit)})"
        out.append(f'<line x1="{x1 + 12}" y1="{legend_y + 10}" x2="{x1 + 36}" '
                   f'y2="{legend_y + 10}" stroke="{color}" stroke-width="2.5"/>')
        out.append(f'<text x="{x1 + 42}" y="{legend_y + 14}">{escape(label)}</text>')
        legend_y += 20
    for name, ms, pct, label in marks:
        px, py = axis(ms), y(pct)
        color = COLORS.get(name, "#000")
        out.append(f'<path d="M{px - 5:.1f},{py - 5:.1f} L{px + 5:.1f},{py + 5:.1f} '
                   f'M{px - 5:.1f},{py + 5:.1f} L{px + 5:.1f},{py - 5:.1f}" '
                   f'stroke="{color}" stroke-width="2.5"><title>{escape(label)}</title></path>')
    if marks:
        legend_y += 8
        for _, _, _, label in marks:
            out.append(f'<text x="{x1 + 12}" y="{legend_y + 14}" font-size="11">× {escape(label)}</text>')
            legend_y += 16


def main(argv):
    if len(argv) != 3:
        usage_error("needs the samples' CSV file and the SVG file to write")
    try:
        lines, settings = read_samples(argv[1])
    except (OSError, ValueError, KeyError) as e:
        sys.stderr.write(f"figure16.py: {e}\n")
        return 1
    if not lines:
        sys.stderr.write(f"figure16.py: {argv[1]} holds no samples\n")
        return 1
    panels = [(TOP, True, "Election timeout randomness (150 ms minimum)", PAPER["top"]),
              (BOTTOM, False, "Election timeout scale (randomness = minimum)", PAPER["bottom"])]
    panels = [p for p in panels if any(n in lines for n in p[0])]
    height = PANEL_H * len(panels) + 40
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
           f'viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12">',
           '<title>Raft paper Figure 16, reproduced by raftlab</title>',
           f'<rect width="{WIDTH}" height="{height}" fill="white"/>']
    for i, (names, log, title, marks) in enumerate(panels):
        shown = [m for m in marks if m[0] in lines]
        panel(out, names, lines, i * PANEL_H, log, title, shown)
    trials = sorted({len(s) for s in lines.values()})
    latency = "; ".join(f"requests {float(a):g} ms, replies {float(b):g} ms"
                        for a, b in sorted(settings))
    note = (f"5 reference Raft peers on labrpc, {latency}; heartbeat half the "
            f"minimum timeout; {'/'.join(map(str, trials))} trials per line")
    out.append(f'<text x="{LEFT}" y="{height - 14}" font-size="11" fill="#555">'
               f'{escape(note)}</text>')
    out.append("</svg>")
    try:
        with open(argv[2], "w") as f:
            f.write("\n".join(out) + "\n")
    except OSError as e:
        sys.stderr.write(f"figure16.py: {e}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
