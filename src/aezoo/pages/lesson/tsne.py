"""Section 5, mapping a higher-dimensional latent space: the t-SNE map of a 16-D VAE's codes with t-SNE's caveat,
its PCA map beside it, and how well each keeps the codes' neighbours and distances."""
from __future__ import annotations

from aezoo.pages.lesson.common import Figure, Lesson, Section
from aezoo.pages.lesson.numbers import NEIGHBOURS, distance_correlation, knn_agreement
from aezoo.pages.lesson.runs import HIGH_DIM, vae
from aezoo.viz import draw
from aezoo.viz.views import encode_test

MAPPED = 1000  # t-SNE's cost grows with the points; 1000 show the classes and keep the page quick


def build(L: Lesson) -> Section:
    t = L.t
    role = vae(HIGH_DIM).role
    model = L.model(role)
    codes, labels = encode_test(model, L.splits, MAPPED)
    codes = codes.double().numpy()
    labels = None if labels is None else labels.numpy()
    maps, figures = {}, {}
    for method, title in (("tsne", "e.tsne_title"), ("pca", "e.pca_title")):
        xy, axes, plane = draw.project(codes, method, L.seed)  # once: the numbers and the figure share it
        maps[method] = xy
        figures[method] = draw.map_figure(xy, labels, axes, plane, L.splits.classes,
                                          title=t(title, d=model.latent_dim), caveat_text=t("e.caveat_short"))
    corr = {m: distance_correlation(codes, xy) for m, xy in maps.items()}
    numbers = []
    values = {"latent_dim": model.latent_dim, "points": len(codes), "distance_correlation": corr}
    if labels is not None:
        agree = {"codes": knn_agreement(codes, labels), **{m: knn_agreement(xy, labels) for m, xy in maps.items()}}
        values["neighbour_agreement"] = agree
        numbers.append(t("e.neighbours" if agree["tsne"] > agree["pca"] else "e.neighbours_not",
                         k=NEIGHBOURS, d=model.latent_dim, codes=100 * agree["codes"], tsne=100 * agree["tsne"],
                         pca=100 * agree["pca"]))
    numbers.append(t("e.distances" if corr["pca"] > corr["tsne"] else "e.distances_not", tsne=corr["tsne"],
                     pca=corr["pca"]))
    ref = L.ref(role)
    shown = [Figure(figures["tsne"], t("e.tsne_caption", d=model.latent_dim),
                    [L.command(f"zoo latent {ref} --method tsne --limit {MAPPED}")]),
             Figure(figures["pca"], t("e.pca_caption", d=model.latent_dim),
                    [L.command(f"zoo latent {ref} --method pca --limit {MAPPED}")])]
    return Section("tsne", t("e.title"), [t("e.text1", d=model.latent_dim), t("e.text2")], numbers, shown, values,
                   note=t("e.caveat"), beside=True)
