"""Text from data is drawn as written (issue 18, item 14): class names with ``$`` (matplotlib's mathtext marker)
neither stop a figure nor turn into formulas, in every figure style."""
import numpy as np
import torch
from helpers import zoo

from aezoo.viz import draw as figures

CLASSES = ["$x", "a$b", "$\\frac{", "^_$", "9$$"]


def texts_drawn(monkeypatch):
    """Every string matplotlib renders while the block runs, with whether it was parsed as mathtext."""
    from matplotlib.text import Text

    seen = []
    draw = Text.draw

    def spy(self, renderer):
        seen.append((self.get_text(), self.get_parse_math()))
        return draw(self, renderer)

    monkeypatch.setattr(Text, "draw", spy)
    return seen


def test_class_names_with_dollars_are_drawn_as_written(tmp_path, monkeypatch):
    seen = texts_drawn(monkeypatch)
    x = torch.rand(5, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    figures.reconstruction_figure(x, x, captions=CLASSES).save(tmp_path / "r.png")
    figures.rows_figure([(name, x[:2]) for name in CLASSES], title="class 9$$").save(tmp_path / "rows.png")
    figures.image_grid(x, title="Generated: class 9$$").save(tmp_path / "g.png")
    figures.latent_figure(np.random.default_rng(0).normal(size=(50, 2)), np.arange(50) % 5, method="pca",
                          class_names=CLASSES).save(tmp_path / "l.png")
    shown = {text for text, _ in seen}
    assert set(CLASSES) <= shown and "Generated: class 9$$" in shown
    assert not [text for text, parsed in seen if "$" in text and parsed]


def test_figure_commands_on_a_dataset_whose_class_names_hold_dollars(tmp_path):
    from sklearn.datasets import load_digits

    digits = load_digits()
    path = tmp_path / "dollars.npz"
    np.savez(path, x=np.round(digits.images[:300] * 255 / 16).astype(np.uint8), y=digits.target[:300] % 5,
             classes=np.array(CLASSES))
    assert zoo("train", "mlp-ae", "--dataset", f"npz:{path}", "--epochs", "1").exit_code == 0
    for command in (("reconstruct", "mlp-ae"), ("latent", "mlp-ae", "--method", "pca"),
                    ("generate", "mlp-ae", "--label", "4")):
        result = zoo(*command, "-o", tmp_path / f"{command[0]}.png")
        assert result.exit_code == 0, result.output
        assert (tmp_path / f"{command[0]}.png").stat().st_size > 0
