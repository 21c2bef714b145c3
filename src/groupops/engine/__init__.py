"""The engine's jobs, one module each, behind the :class:`~groupops.Engine` facade:

- ``_ingest``: events and profiles in; memberships opened and closed by event time;
- ``_schedule``: event triggers since the last run (cursors, waiting triggers);
- ``_deciding``: every trigger in time order, then the run's instant to a fixed point;
  the ``Runtime`` kinds see; recording verdicts with their changes and messages;
- ``_messages``: composing a decision's messages from its kind's templates;
- ``_delivery``: claiming messages and handing them to messengers (leases, quotas,
  backoff, a bounded number of calls at once);
- ``_explain``: a member under a policy at an instant.
"""
