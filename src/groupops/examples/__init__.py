"""The example rule books shipped as package data (``community.yaml``, ``demo.yaml``); read
them through :mod:`groupops._examples`."""
