"""The feedback loop: what the employee archive learns feeds back into interview design.

* :mod:`.config` — ``configs/feedback.yaml`` as typed settings.
* :mod:`.outcomes` — later ratings, promotions and separations (and protected attributes) into the
  archive, from a CSV/Excel file or SuccessFactors.
* :mod:`.data` — the archive as columnar frames for the analysis.
* :mod:`.analysis` — ``run_feedback_analysis``: findings, a versioned proposal and its fairness check.
* :mod:`.rules` — question-rule versions: propose, approve or reject (by role), publish, roll back;
  the planner that builds invitations from the active version.
* :mod:`.report` — the HR report per job family in Chinese and English.

Statistics and proposals themselves are pure: :mod:`transforms.feedback_stats`,
:mod:`transforms.feedback_proposal`, :mod:`transforms.outcomes`.
"""
