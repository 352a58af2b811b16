"""`zoo lesson`: the classic VAE tutorial told with the user's own runs on one HTML page.

page (the page and its order), runs (which runs, found by their lesson key or trained), numbers (what the
sentences claim, computed), one module per section (dimensions, restoration, regularity, kl, tsne, sampling),
common (what a section is made of), catalogue (the words, one file per language in messages/).
"""

SECTIONS = ("dimensions", "restoration", "regularity", "kl", "tsne", "sampling")  # the page's order (torch-free)
