"""Section 4, the KL term: a sweep of beta (the KL's weight) over 2-D VAEs: test KL, reconstruction term and
active units per beta with collapsed runs marked, and each run's codes."""
from __future__ import annotations

from aezoo.pages.lesson.common import Figure, Lesson, Section, table
from aezoo.pages.lesson.numbers import kl_and_reconstruction, monotone
from aezoo.pages.lesson.runs import vae
from aezoo.viz.lesson import sweep_figure
from aezoo.viz.side_by_side import latent_maps

MAPPED = 2000


def build(L: Lesson) -> Section:
    t, betas = L.t, sorted(L.betas)
    roles = [vae(2, b).role for b in betas]
    rows = [kl_and_reconstruction(L.model(r), L.splits.test) for r in roles]
    kls, recs = [r["kl"] for r in rows], [r["rec"] for r in rows]
    units = [float(r["active_units"]) for r in rows]
    marked = [r["collapsed"] for r in rows]
    curves = sweep_figure(betas, [(t("d.kl_axis"), kls), (t("d.rec_axis"), recs), (t("d.active_axis"), units)],
                          marked, title=t("d.sweep_title"), xlabel="beta", marked_label=t("d.collapsed"),
                          number=L.number)
    values = dict(b0=betas[0], b1=betas[-1], kl0=kls[0], kl1=kls[-1], rec0=recs[0], rec1=recs[-1])
    numbers = [t("d.kl_falls" if monotone(kls, rising=False) else "d.kl_not_monotone", **values),
               t("d.rec_rises" if monotone(recs, rising=True) else "d.rec_not_monotone", **values)]
    collapsed = [(b, r) for b, r in zip(betas, rows) if r["collapsed"]]
    for b, r in collapsed:
        numbers.append(t("d.collapsed_at", beta=b, kl=r["kl"], active=r["active_units"], d=r["latent_dim"]))
    if not collapsed:
        low = min(range(len(betas)), key=lambda i: kls[i])
        numbers.append(t("d.none_collapsed", beta=betas[low], kl=kls[low]))
    refs = " ".join(L.ref(r) for r in roles)
    labels = [f"beta={b:g}" + (f" ({t('d.collapsed')})" if r["collapsed"] else "") for b, r in zip(betas, rows)]
    maps = latent_maps([L.model(r) for r in roles], L.splits, method="direct", limit=MAPPED, labels=labels,
                       title=t("d.maps_title"))
    figures = [Figure(curves, t("d.sweep_caption"), [L.section_command("kl")]),
               Figure(maps, t("d.maps_caption"), [L.command(f"zoo compare {refs}")])]
    head = ["beta", t("d.kl_axis"), t("d.rec_axis"), t("d.active_axis"), t("d.collapsed")]
    body = [[f"{b:g}", t.number(r["kl"], ".4g"), t.number(r["rec"], ".4g"), str(r["active_units"]),
             t("d.yes") if r["collapsed"] else t("d.no")] for b, r in zip(betas, rows)]
    return Section("kl", t("d.title"), [t("d.text1"), t("d.text2")], numbers, figures,
                   {"betas": betas, "runs": {f"{b:g}": r for b, r in zip(betas, rows)}}, table=table(head, body))

