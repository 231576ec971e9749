"""Draws docs/img/bag_combiners.png, the picture of docs/bags.md.

The bag `[cat, sat, mat, <pad>]` of the page's worked example: the three
rows looked up (arrows from the origin) and what each combiner makes of
them. Run from anywhere: `python docs/img/draw_bags.py [OUT.png]`.
"""

import pathlib
import sys

import numpy as np
from matplotlib.figure import Figure

WORDS = ["<pad>", "cat", "sat", "mat"]
TABLE = np.array([[0.0, 0.0], [1.0, 3.0], [3.0, 1.0], [2.0, -1.0]])
BAG = [1, 2, 3, 0]


def combined(table, bag):
    rows = table[[i for i in bag if i != 0]]
    total = rows.sum(axis=0)
    return {
        "sum": total,
        "mean": total / len(rows),
        "sqrtn": total / np.sqrt(len(rows)),
        "max": rows.max(axis=0),
    }


def draw(path):
    figure = Figure(figsize=(6.4, 4.8), dpi=100)
    axes = figure.add_subplot()
    for i in BAG:
        if i == 0:
            continue
        x, y = TABLE[i]
        axes.annotate(
            "",
            xy=(x, y),
            xytext=(0, 0),
            arrowprops={"arrowstyle": "->", "color": "0.45", "lw": 1.5},
        )
        axes.text(x + 0.12, y + 0.12, f"row of '{WORDS[i]}'", color="0.3")
    markers = {"sum": "s", "mean": "o", "sqrtn": "D", "max": "^"}
    colours = {"sum": "C0", "mean": "C1", "sqrtn": "C2", "max": "C3"}
    for name, (x, y) in combined(TABLE, BAG).items():
        axes.scatter([x], [y], s=120, marker=markers[name], color=colours[name])
        axes.text(
            x + 0.15,
            y - 0.35,
            f"{name} ({x:.3g}, {y:.3g})",
            color=colours[name],
            fontsize=11,
            weight="bold",
        )
    axes.scatter([0], [0], s=30, color="black")
    axes.text(0.1, -0.4, "<pad> (left out)", color="black", fontsize=9)
    axes.axhline(0, color="0.85", lw=0.8, zorder=0)
    axes.axvline(0, color="0.85", lw=0.8, zorder=0)
    axes.set_xlim(-0.8, 8.2)
    axes.set_ylim(-1.8, 4.2)
    axes.set_aspect("equal")
    axes.set_title("One bag, [cat, sat, mat, <pad>], four combiners")
    figure.tight_layout()
    figure.savefig(path)


if __name__ == "__main__":
    default = pathlib.Path(__file__).with_name("bag_combiners.png")
    draw(sys.argv[1] if len(sys.argv) > 1 else default)
