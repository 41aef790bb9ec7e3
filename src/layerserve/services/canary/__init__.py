"""Canaries guarded by their policies: the scheduled run and the registry moves it makes.

``guardrails`` evaluates every guarded canary on what its alias routed during the
current step (the decision itself is ``domain.guardrails``) and acts through the
``CanaryActions`` port; ``actions`` implements that port over the registry service.
"""
