"""Default test images: seeded, one per class before a second of any class, the same on every call."""
import pytest
import torch

from aezoo.data.splits import Split
from aezoo.viz.picks import chosen, pairs, pick, spread


def sorted_split(per_class: int = 5, classes: int = 4) -> Split:
    labels = torch.arange(classes).repeat_interleave(per_class)  # stored sorted by label, as npz/folder data can be
    return Split(torch.zeros(len(labels), 1, 2, 2, dtype=torch.uint8), labels)


def test_picks_go_round_the_classes_of_sorted_data():
    split = sorted_split()
    picks = pick(split, 10, classes=["a", "b", "c", "d"])
    assert picks.labels[:4] == [0, 1, 2, 3] and picks.labels[4:8] == [0, 1, 2, 3]
    assert len(set(picks.indices)) == 10
    assert all(split.labels[i] == label for i, label in zip(picks.indices, picks.labels))
    assert picks.names()[:4] == ["a", "b", "c", "d"] and picks.describe().startswith("test images ")


def test_picks_are_seeded_and_identical_across_calls():
    split = sorted_split()
    assert pick(split, 6).indices == pick(split, 6).indices
    assert pick(split, 20).indices != list(range(20))  # shuffled within classes, not the first images
    assert spread(None, 5, 100) == spread(None, 5, 100) and len(set(spread(None, 5, 100))) == 5


def test_more_picks_than_images_gives_every_image_once():
    assert sorted(pick(sorted_split(2, 3), 50).indices) == list(range(6))


def test_interpolation_pairs_are_of_different_classes():
    for p in pairs(sorted_split(), 3):
        assert len(p.indices) == 2 and p.labels[0] != p.labels[1]


def test_chosen_images_are_checked():
    with pytest.raises(ValueError, match="out of range"):
        chosen(sorted_split(), [0, 99])
    assert chosen(Split(torch.zeros(3, 1, 2, 2)), [2]).labels is None


def test_the_seed_picks_which_images_of_each_class_are_shown():
    split = sorted_split(per_class=20, classes=3)
    by_seed = {seed: pick(split, 6, seed=seed) for seed in range(5)}
    assert all(p.labels == [0, 1, 2, 0, 1, 2] for p in by_seed.values())  # the classes in turn, whatever the seed
    assert len({tuple(p.indices) for p in by_seed.values()}) == 5  # but other images of them for each seed
    firsts = {p.indices[0] for p in by_seed.values()}  # class 0's first pick is not its first stored image
    assert len(firsts) > 1 and firsts != {0}
