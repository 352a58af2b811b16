"""The built-in models: one module per family holds its objective and one ``build`` function (torch imported at the
top); ``assemble`` puts the parts together. The built-in plugin (aezoo.plugins.builtin) registers each model by its
``"aezoo.models.<family>:build"`` string with its defaults, so listing models never imports these modules."""
