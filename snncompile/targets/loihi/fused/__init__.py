"""The fused Lava process of a network's chip partition. Nothing else may live here: Lava
executes every module of this directory when it looks for process models."""
