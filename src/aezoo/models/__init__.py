"""The built-in models: each module holds a model's name, summary, family and a ``build`` function.

Modules here import torch only inside ``build`` so that listing models stays fast.
"""
