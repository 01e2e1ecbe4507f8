"""Draw the course's own figures into images/ (`make images`).

    python tools/images.py [--out images] [NAME ...]     (default: every figure in FIGURES)

Each figure is a PNG drawn with matplotlib; its alt text is FIGURES[name].alt, which is also the text
to put in the markdown image that shows it. In a lesson, a figure is shown with its GitHub URL, so that
it also appears when Colab opens the notebook without the repository (tools/badges.py keeps the owner
and branch in step with _quarto.yml; the site serves its own copy, see tools/site/course.lua):

    ![<alt>](https://raw.githubusercontent.com/<owner>/<repo>/<branch>/images/<name>)

`python tools/images.py --markdown` prints that line for every figure.

The digits in `mnist_task.png` and `receptive_field.png` are real MNIST training images
(mnist_course.load_mnist(); set MNIST_DATA_DIR to use a local copy). The receptive fields are those
`mc.receptive_field_table` gives for lesson 4's plain CNN, built by the lesson's own `make_plain_cnn`
(read from the notebook by tools/lessons.py): neither the layers nor the formulas are typed in here.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lessons import lesson_factory  # noqa: E402  (tools/lessons.py: a model as the lesson defines it)

ROOT = Path(__file__).resolve().parent.parent
DPI = 150
# the lesson and the factory of the figure's CNN
PLAIN_CNN = ("04_cnn_budget.ipynb", "make_plain_cnn")


@dataclass(frozen=True)
class Figure:
    draw: Callable[[Path], None]
    alt: str
    lesson: str


def _mnist():
    import mnist_course as mc

    return mc.load_mnist()


def _first_of_each_class(x, y) -> list[int]:
    """Index of the first training image of each digit 0..9."""
    return [int((y == d).nonzero()[0, 0]) for d in range(10)]


def draw_mnist_task(path: Path) -> None:
    """Ten real training digits with their labels, and the task: 28×28 pixels in, one of ten labels out."""
    data = _mnist()
    idx = _first_of_each_class(data.x_train, data.y_train)
    fig = plt.figure(figsize=(9, 3.0))
    for i, k in enumerate(idx):
        ax = fig.add_axes([0.02 + i * 0.097, 0.47, 0.088, 0.4])
        ax.imshow(data.x_train[k, 0].numpy(), cmap="gray_r", vmin=0, vmax=1)
        ax.set_xticks([]), ax.set_yticks([])
        ax.set_title(f"label {int(data.y_train[k])}", fontsize=10)
    fig.text(
        0.5,
        0.95,
        "MNIST: 28×28 grey-scale images of handwritten digits, each with its label 0-9",
        ha="center",
        va="center",
        fontsize=11,
    )
    # The task, as a pipeline: image -> 784 numbers -> model -> 10 scores -> label.
    ax = fig.add_axes([0.0, 0.0, 1.0, 0.4])
    ax.set_xlim(0, 10), ax.set_ylim(0, 1), ax.axis("off")
    digit = data.x_train[idx[7], 0].numpy()
    ax.imshow(digit, cmap="gray_r", vmin=0, vmax=1, extent=(0.3, 1.2, 0.05, 0.95), aspect="auto")
    steps = [
        (2.9, "784 pixel values\nin [0, 1]"),
        (5.0, "model"),
        (7.1, "10 scores\n(one per digit)"),
        (9.1, "prediction:\nthe digit with\nthe highest score"),
    ]
    for x, text in steps:
        box = "round,pad=0.3" if text != "model" else "round,pad=0.45"
        ax.text(
            x,
            0.5,
            text,
            ha="center",
            va="center",
            fontsize=10,
            bbox=dict(boxstyle=box, fc="#dbe9f6" if text == "model" else "#f4f4f4", ec="#4a6fa5"),
        )
    for x0, x1 in [(1.35, 2.1), (3.7, 4.45), (5.55, 6.3), (7.9, 8.35)]:
        ax.add_patch(
            FancyArrowPatch((x0, 0.5), (x1, 0.5), arrowstyle="-|>", mutation_scale=14, color="#333")
        )
    fig.savefig(path, dpi=DPI, facecolor="white")
    plt.close(fig)


def draw_training_loop(path: Path) -> None:
    """The five steps of one training step, as lesson 1 writes them, around a cycle over batches. Each
    box is as wide as its text (measured, plus a margin), and the arrows run from box edge to box edge,
    so a longer line of code can never run past its box (issue 44)."""
    fig, ax = plt.subplots(figsize=(11, 5.6))
    ax.set_xlim(0, 16), ax.set_ylim(0, 6.6), ax.axis("off")
    ax.set_title("The training loop: the same five steps for every mini-batch", fontsize=13)
    steps = [
        (8.0, 5.55, "1. forward pass", "logits = model(xb)"),
        (13.2, 3.55, "2. loss", "loss = F.cross_entropy(logits, yb)"),
        (10.9, 1.0, "3. clear the old gradients", "optimizer.zero_grad()"),
        (5.1, 1.0, "4. backward pass", "loss.backward()"),
        (2.6, 3.55, "5. update the parameters", "optimizer.step()"),
    ]
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    # display px per x unit
    unit = ax.transData.transform((1, 0))[0] - ax.transData.transform((0, 0))[0]
    h, margin = 1.05, 0.45
    boxes = []
    for x, y, title, code in steps:
        texts = [
            ax.text(
                x, y + 0.2, title, ha="center", va="center", fontsize=11.5, weight="bold", zorder=3
            ),
            ax.text(
                x,
                y - 0.22,
                code,
                ha="center",
                va="center",
                fontsize=10,
                family="monospace",
                zorder=3,
            ),
        ]
        w = max(t.get_window_extent(renderer).width for t in texts) / unit + 2 * margin
        box = FancyBboxPatch(
            (x - w / 2, y - h / 2),
            w,
            h,
            boxstyle="round,pad=0.06",
            fc="#dbe9f6",
            ec="#4a6fa5",
            lw=1.2,
            zorder=2,
            clip_on=False,
        )
        ax.add_patch(box)
        boxes.append(box)
        inside = box.get_window_extent(renderer)
        for t in texts:  # (tests/test_site.py draws every figure: a text past its box fails there)
            extent = t.get_window_extent(renderer)
            assert inside.x0 < extent.x0 and extent.x1 < inside.x1, (
                f"{t.get_text()!r} runs past its box"
            )
    for a, b in zip(boxes, boxes[1:] + boxes[:1]):
        ax.add_patch(
            FancyArrowPatch(
                posA=_centre(a),
                posB=_centre(b),
                patchA=a,
                patchB=b,
                shrinkA=6,
                shrinkB=6,
                arrowstyle="-|>",
                mutation_scale=18,
                lw=1.3,
                color="#333",
                connectionstyle="arc3,rad=-0.12",
                zorder=1,
                clip_on=False,
            )
        )
    ax.text(
        7.9,
        3.75,
        "then the next mini-batch (xb, yb)\nfrom the shuffled training set",
        ha="center",
        va="center",
        fontsize=11,
        style="italic",
        color="#444",
    )
    ax.text(
        7.9,
        2.75,
        "one pass over all mini-batches = one epoch",
        ha="center",
        va="center",
        fontsize=10,
        color="#555",
    )
    fig.savefig(path, dpi=DPI, facecolor="white", bbox_inches="tight")
    plt.close(fig)


def _centre(box: FancyBboxPatch) -> tuple[float, float]:
    return box.get_x() + box.get_width() / 2, box.get_y() + box.get_height() / 2


def receptive_fields(lesson: tuple[str, str] = PLAIN_CNN) -> list[tuple[str, int, int, int, int]]:
    """(name, kernel size k, stride s, receptive field r, jump j) after each layer that changes the
    receptive field, from `mc.receptive_field_table` of the model `lesson` = (notebook, factory) builds;
    the name is the model's top-level layer (`conv1`, `pool`)."""
    import mnist_course as mc

    table = mc.receptive_field_table(lesson_factory(*lesson)())
    return [
        (layer.split(" ")[0].split(".")[0], int(k), int(s), int(r), int(j))
        for layer, k, s, r, j in zip(
            table["layer"], table["k"], table["s"], table["r_out"], table["j_out"]
        )
    ]


def nested_fields(
    fields: list[tuple[str, int, int, int, int]], size: int = 28
) -> list[tuple[str, int, int]]:
    """(name, r, first input pixel) for a chain of output pixels, one per layer of `fields` (from
    `receptive_fields`), each inside the field of the next: the last layer's pixel whose field is
    nearest the image centre, then, going down, the middle one of the pixels it reads. Without padding,
    output pixel p of a layer with jump j sees input pixels p·j ... p·j + r - 1 (in each direction)."""
    *_, r_top, j_top = fields[-1]
    p = max(0, round(((size - 1) / 2 - (r_top - 1) / 2) / j_top))
    out = []
    for name, k, s, r, j in reversed(fields):
        out.append((name, r, p * j))
        p = p * s + (k - 1) // 2  # the middle input pixel of this one, in the layer below
    return out[::-1]


def draw_receptive_field(path: Path) -> None:
    """On a real digit, the input pixels that one output pixel of each layer of the plain CNN sees."""
    data = _mnist()
    digit = data.x_train[_first_of_each_class(data.x_train, data.y_train)[3], 0].numpy()
    layers = receptive_fields()
    fields = nested_fields(layers)
    jumps = {name: j for name, *_, j in layers}
    fig, ax = plt.subplots(figsize=(7.6, 5.6))
    ax.imshow(digit, cmap="gray_r", vmin=0, vmax=1.6, extent=(-0.5, 27.5, 27.5, -0.5))
    ax.set_xticks(range(0, 28, 4)), ax.set_yticks(range(0, 28, 4))
    (
        ax.set_xticks([x - 0.5 for x in range(29)], minor=True),
        ax.set_yticks([y - 0.5 for y in range(29)], minor=True),
    )
    ax.grid(which="minor", color="#dddddd", linewidth=0.4)
    ax.tick_params(which="minor", length=0)
    ax.set_xlabel("input pixel (column)"), ax.set_ylabel("input pixel (row)")
    colors = plt.cm.viridis([0.0, 0.2, 0.4, 0.6, 0.75, 0.9])
    for level, ((name, r, start), color) in enumerate(zip(fields, colors)):
        inset = 0.12 * (len(fields) - 1 - level) / (len(fields) - 1)  # keeps shared edges visible
        ax.add_patch(
            Rectangle(
                (start - 0.5 + inset, start - 0.5 + inset),
                r - 2 * inset,
                r - 2 * inset,
                fill=False,
                lw=2.2,
                ec=color,
                label=f"{name}: {r}×{r} pixels (jump {jumps[name]})",
            )
        )
    ax.set_title(
        "Receptive field of one output pixel of each layer\n(lesson 4's plain CNN, on a training image)",
        fontsize=11,
    )
    ax.legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize=9, frameon=False)
    fig.savefig(path, dpi=DPI, facecolor="white", bbox_inches="tight")
    plt.close(fig)


FIGURES = {
    "mnist_task.png": Figure(
        draw_mnist_task,
        lesson="1 (section 1, The data)",
        alt="Ten handwritten digits from the MNIST training set, one of each digit from 0 to 9, each with "
        "its label; below, the task: a 28×28 image becomes 784 pixel values, a model turns them into "
        "10 scores, one per digit, and the prediction is the digit with the highest score",
    ),
    "training_loop.png": Figure(
        draw_training_loop,
        lesson="1 (The training loop, written out)",
        alt="The training loop as a cycle of five steps for every mini-batch: 1. forward pass, "
        "logits = model(xb); 2. loss = F.cross_entropy(logits, yb); 3. optimizer.zero_grad(); "
        "4. loss.backward(); 5. optimizer.step(); then the next mini-batch, and one pass over all "
        "mini-batches is one epoch",
    ),
    "receptive_field.png": Figure(
        draw_receptive_field,
        lesson="4 (Receptive fields)",
        alt="A handwritten 3 on the 28×28 pixel grid with six nested squares: the input pixels that one "
        "output pixel sees after conv1 (3×3), conv2 (5×5), the 2×2 max pool (6×6), conv3 (10×10), "
        "conv4 (14×14) and conv5 (18×18) of lesson 4's plain CNN",
    ),
}


def markdown(
    name: str, owner: str | None = None, repo: str | None = None, branch: str | None = None
) -> str:
    """The markdown image line for figure `name` with the repository of _quarto.yml."""
    sys.path.insert(0, str(ROOT / "tools"))
    import badges

    if owner is None:
        owner, repo, branch = badges.repo_from_config(ROOT / "_quarto.yml")
    return f"![{FIGURES[name].alt}]({badges.image_url(owner, repo, name, branch or 'main')})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "names", nargs="*", help=f"figures to draw (default: all of {', '.join(FIGURES)})"
    )
    parser.add_argument(
        "--out", type=Path, default=ROOT / "images", help="output folder (default images/)"
    )
    parser.add_argument(
        "--markdown", action="store_true", help="print the markdown for each figure, draw nothing"
    )
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in FIGURES]
    if unknown:
        raise SystemExit(
            f"images: no figure named {', '.join(unknown)}; the figures are {', '.join(FIGURES)}"
        )
    names = args.names or list(FIGURES)
    if args.markdown:
        for name in names:
            print(f"<!-- lesson {FIGURES[name].lesson} -->\n{markdown(name)}\n")
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    for name in names:
        FIGURES[name].draw(args.out / name)
        print(f"{args.out / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
