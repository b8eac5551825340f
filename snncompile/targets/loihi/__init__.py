"""The Loihi target: Lava processes for Loihi 2 simulation and deployment.

Lava is imported only through :mod:`snncompile.targets.loihi._lava`.
"""
