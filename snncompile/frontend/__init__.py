"""Frontends: from a user's model to the tensor-level IR.

``torch`` (torch.fx tracing, :func:`snncompile.frontend.torch.trace`), ``neurons`` (neuron
recognizers), ``simulate`` (float execution of the traced graph over T steps).
"""
