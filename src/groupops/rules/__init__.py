"""The rule language: conditions, policies, rule books, evaluation and explanations.

Everything here is pure (pydantic and dateutil only). Import public names from
``groupops``; the modules in this package are private.
"""
