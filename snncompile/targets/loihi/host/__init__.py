"""Host-side Lava processes (host ops in the loop, recording). Nothing else may live here:
Lava executes every module of this directory when it looks for process models."""
