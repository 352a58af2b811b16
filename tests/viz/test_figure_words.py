"""The fixed words figures draw (row labels, legends) can be another language's, for a block, and only there."""
import matplotlib.text
import pytest
import torch

from aezoo.viz import draw, words

SPANISH = {"corrupted": "con ruido", "masked": "enmascarada", "restored": "restaurada", "clean": "original",
           "masked_pixels": "píxeles enmascarados", "prior_circle": "95 % de N(0, I)"}


def texts(fig) -> list[str]:
    return [t.get_text() for t in fig.findobj(matplotlib.text.Text) if t.get_text()]


def inpainting():
    images = torch.rand(3, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    mask = images > 0.7
    return draw.corruption_figure(images, images, images, errors={"corrupted_psnr": 12.0}, mask=mask, title="t")


def test_a_corruption_figure_draws_the_words_it_is_given_and_english_again_after():
    with words.using(SPANISH):
        inside = [line for text in texts(inpainting()) for line in text.split("\n")]
    assert {"enmascarada", "restaurada", "original", "píxeles enmascarados", "PSNR 12"} <= set(inside)
    assert not {"masked", "restored", "clean", "masked pixels (the model got 0)"} & set(inside)
    after = [line for text in texts(inpainting()) for line in text.split("\n")]
    assert {"masked", "restored", "clean", "masked pixels (the model got 0)"} <= set(after)


def test_latent_maps_name_the_prior_circle_in_the_words_given(digits):
    import aezoo
    from aezoo.viz.side_by_side import latent_maps

    torch.manual_seed(0)
    model = aezoo.create_model("vae", input_shape=digits.input_shape, latent_dim=2, hidden=(16,))
    with words.using({"prior_circle": "95 % de N(0, I)"}):
        fig = latent_maps([model], digits, method="direct", limit=50, labels=["VAE"])
    assert "95 % de N(0, I)" in texts(fig) and "95 % of N(0, I)" not in texts(fig)


def test_an_unknown_word_is_named():
    with pytest.raises(ValueError, match="unknown figure word 'colour'; the words are corrupted, "):
        with words.using({"colour": "color"}):
            pass
