"""Notice and consent, and human oversight of the AI interview (``configs/consent.yaml``).

* :mod:`.config` — the notice versions, scopes, withdrawal scopes and the declared HR fields;
* :mod:`.guard` — AI outputs reach only recommendation or information fields (checked at start);
* :mod:`.ledger` — the platform's consent events kept as evidence, and what they allow: media only
  with video consent, no AI score for an alternative process, a withdrawal as a scoped deletion request;
* :mod:`.oversight` — the human-review queue, people's decisions apart from the AI's recommendation,
  and plain-words explanations.
"""
